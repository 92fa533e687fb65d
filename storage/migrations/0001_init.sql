-- Sandbox state: one row per thing an agent can see, plus the request log and served manifests.

CREATE TABLE resources (
    id           TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    offering_id  TEXT NOT NULL,
    tier_id      TEXT NOT NULL,
    project_id   TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    sandbox      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    expires_at   TEXT,
    data         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX resources_provider ON resources (provider, status);

CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    resource_id  TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    data         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX credentials_resource ON credentials (resource_id);

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    at           TEXT NOT NULL,
    protocol     TEXT NOT NULL,
    provider     TEXT NOT NULL DEFAULT '',
    resource_id  TEXT,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_resource ON events (resource_id);

CREATE TABLE requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    protocol      TEXT NOT NULL,
    provider      TEXT NOT NULL DEFAULT '',
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER NOT NULL,
    latency_us    INTEGER NOT NULL,
    agent         TEXT NOT NULL DEFAULT '',
    request_id    TEXT NOT NULL DEFAULT '',
    request_body  TEXT NOT NULL DEFAULT '',
    response_body TEXT NOT NULL DEFAULT ''
);

CREATE TABLE manifest_versions (
    provider      TEXT NOT NULL,
    version       INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    PRIMARY KEY (provider, version)
);
