-- The BSP/BEST simulation (spec/bsp.md §8–§12). A scope is a tenant id, or '' for the root
-- manifest; a service is a key of the manifest's services.

-- Every published event, in publication order (seq); newest bsp.event_log_size per service kept.
CREATE TABLE bsp_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    scope          TEXT NOT NULL,
    service        TEXT NOT NULL,
    id             TEXT NOT NULL,
    type           TEXT NOT NULL,
    source         TEXT NOT NULL,
    correlation_id TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL,
    envelope       TEXT NOT NULL,
    flag           TEXT NOT NULL DEFAULT ''   -- why the data does not match its event document
);
CREATE INDEX bsp_events_scope ON bsp_events (scope, service, seq);
-- No index on id: Last-Event-ID looks the id up among its service's rows, at most
-- bsp.event_log_size of them, and an index of random UUIDs would cost every insert more.

-- Accepted commands: the idempotency record and the processing queue.
CREATE TABLE bsp_commands (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    scope        TEXT NOT NULL,
    service      TEXT NOT NULL,
    principal    TEXT NOT NULL,           -- credential fingerprint, or 'anonymous'
    id           TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,           -- hash of type, source, dataschema and data
    type         TEXT NOT NULL,
    handler      TEXT NOT NULL,           -- descriptor id, or '' for the service itself
    outcome      TEXT NOT NULL,           -- success, failure
    status       TEXT NOT NULL,           -- queued, processed
    envelope     TEXT NOT NULL,
    at           TEXT NOT NULL,
    UNIQUE (scope, principal, id)
);
CREATE INDEX bsp_commands_queue ON bsp_commands (scope, service, status, seq);

CREATE TABLE bsp_subscriptions (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    service     TEXT NOT NULL,
    principal   TEXT NOT NULL,
    service_id  TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    types       TEXT NOT NULL,            -- JSON array, sorted; empty means every type
    created_at  TEXT NOT NULL
);
CREATE INDEX bsp_subscriptions_scope ON bsp_subscriptions (scope, service);

-- The 0.6 registry: descriptors registered through POST /services, and the live status of every
-- descriptor (declared ones too).
CREATE TABLE bsp_services (
    scope          TEXT NOT NULL,
    service        TEXT NOT NULL,
    id             TEXT NOT NULL,
    descriptor     TEXT NOT NULL DEFAULT '',  -- JSON when registered through the API
    status         TEXT NOT NULL,
    before_error   TEXT NOT NULL DEFAULT '',  -- the status a heartbeat restores
    heartbeat_at   TEXT NOT NULL DEFAULT '',
    deleted        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, service, id)
);
