-- Provider accounts created from an orchestrator's identity attestation
-- (spec/orchestrator.md §3), keyed by (provider, issuer, subject); the API keys attestations
-- gave them (one per attestation, so concurrent clients do not invalidate each other's); and the
-- attestations' jti values each provider has accepted, so none is accepted twice.

CREATE TABLE provider_accounts (
    provider      TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (provider, issuer, subject)
);

CREATE TABLE account_keys (
    key_hash    TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE attestation_jtis (
    provider    TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (provider, jti)
);
