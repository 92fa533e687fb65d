-- Provider accounts created from an orchestrator's identity attestation
-- (spec/orchestrator.md §3), keyed by (provider, issuer, subject), and the attestations' jti
-- values each provider has accepted, so none is accepted twice.

CREATE TABLE provider_accounts (
    provider      TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    api_key_hash  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (provider, issuer, subject)
);

CREATE TABLE attestation_jtis (
    provider    TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (provider, jti)
);
