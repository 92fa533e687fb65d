-- OSP webhooks: one registration per resource, and every delivery attempt.

CREATE TABLE webhooks (
    resource_id  TEXT PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    url          TEXT NOT NULL,
    events       TEXT NOT NULL,        -- JSON array; empty means every type
    secret       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    url          TEXT NOT NULL,
    body         BLOB NOT NULL,        -- the event envelope without delivery_attempt and signature
    attempts     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,        -- pending, delivered, failed
    next_at      TEXT NOT NULL,        -- wall-clock time of the next attempt
    last_status  INTEGER,
    last_error   TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_at);
