-- The OAP simulation's state (spec/oap.md §6–§8): the registry with each agent's memory and the
-- counters as one small document, and the event, command and trace logs as rows (newest 1000
-- of each kind kept).

CREATE TABLE oap_state (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    doc  TEXT NOT NULL
);

CREATE TABLE oap_log (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind  TEXT NOT NULL,     -- event, command, trace
    doc   TEXT NOT NULL
);
CREATE INDEX oap_log_kind ON oap_log (kind, seq);
