-- OAuth consent (spec/orchestrator.md §3). The provider side: each workspace provider's
-- authorization server keeps its authorization requests (pending until the user decides, then a
-- code) and the tokens it issued (access and refresh, by hash, with their scopes), and an
-- account records how it was linked. The orchestrator side: each consent it asked for, with the
-- PKCE verifier and, once approved, the tokens it holds for the project, sealed.

ALTER TABLE provider_accounts ADD COLUMN method TEXT NOT NULL DEFAULT 'attested';
ALTER TABLE provider_accounts ADD COLUMN scopes TEXT NOT NULL DEFAULT '';

CREATE TABLE oauth_requests (
    id              TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    state           TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    challenge       TEXT NOT NULL,
    challenge_method TEXT NOT NULL,
    response_type   TEXT NOT NULL,
    response_mode   TEXT NOT NULL,
    status          TEXT NOT NULL,           -- pending, approved, denied
    subject         TEXT NOT NULL DEFAULT '',
    granted_scopes  TEXT NOT NULL DEFAULT '',
    code            TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    decided_at      TEXT
);

CREATE TABLE oauth_tokens (
    id          TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    kind        TEXT NOT NULL,               -- access, refresh
    value_hash  TEXT UNIQUE,                 -- refresh tokens only: access tokens carry their id
    grant_id    TEXT NOT NULL,               -- the refresh token's id every token of a grant shares
    client_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    audience    TEXT NOT NULL,
    auth_time   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);

CREATE TABLE consents (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    provider_id     TEXT NOT NULL,
    provider_url    TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    token_url       TEXT NOT NULL,
    revocation_url  TEXT NOT NULL,
    authorize_url   TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    state           TEXT NOT NULL UNIQUE,
    verifier        TEXT NOT NULL,
    status          TEXT NOT NULL,           -- pending, approved, denied, failed, revoked
    error           TEXT NOT NULL DEFAULT '',
    granted_scopes  TEXT NOT NULL DEFAULT '',
    sealed_tokens   BLOB,
    token_expires_at TEXT,
    created_at      TEXT NOT NULL,
    decided_at      TEXT,
    expires_at      TEXT NOT NULL
);
