-- The workspace clock is state (spec/control.md §5): how far it is from wall-clock time, or the
-- instant it is frozen at. It survives a restart, so time never goes backwards for stored data,
-- and an exported state carries it. No row: wall-clock time.
CREATE TABLE clock (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  offset_ns INTEGER NOT NULL,
  frozen_at_ns INTEGER -- Unix nanoseconds, exact: a frozen clock stands at the same instant
);
