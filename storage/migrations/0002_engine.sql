-- The OSP engine: who owns a resource, when asynchronous provisioning completes, access tokens,
-- idempotent replays and nonces.

ALTER TABLE resources ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE resources ADD COLUMN ready_at TEXT;
ALTER TABLE resources ADD COLUMN deprovisioned_at TEXT;
CREATE INDEX resources_ready ON resources (ready_at) WHERE ready_at IS NOT NULL;
CREATE INDEX resources_expiry ON resources (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX resources_project ON resources (provider, project_id);

CREATE TABLE access_tokens (
    token_hash   TEXT PRIMARY KEY,
    resource_id  TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    bundle_id    TEXT NOT NULL,
    valid_until  TEXT            -- NULL while the token is current
);
CREATE INDEX access_tokens_resource ON access_tokens (resource_id);

CREATE TABLE idempotency (
    provider     TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (provider, key)
);

CREATE TABLE nonces (
    provider     TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (provider, nonce)
);
