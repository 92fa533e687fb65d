-- Scenario rules (spec/control.md §4) are namespace state: a reset (a file swap) drops the rules
-- the API added, and an exported state carries them. matched and hits are the counters nth,
-- every, first, after and times read; they survive a restart so a sequence is not replayed.
CREATE TABLE scenario_rules (
  id TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  rule TEXT NOT NULL,
  matched INTEGER NOT NULL DEFAULT 0,
  hits INTEGER NOT NULL DEFAULT 0
);
-- The rule that touched a logged request, '' for none.
ALTER TABLE requests ADD COLUMN scenario TEXT NOT NULL DEFAULT '';
-- A row once the workspace's scenario files have been loaded into this state; a namespace made
-- fresh (from the seed or empty) has none, so it loads them when it first opens.
CREATE TABLE scenario_files_loaded (id INTEGER PRIMARY KEY CHECK (id = 1));
