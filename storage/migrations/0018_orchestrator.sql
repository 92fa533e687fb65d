-- The orchestrator's payment tokens (spec/orchestrator.md §4): each reserves up to max_cents
-- against the provider's cap and the user's, until it is redeemed (then it holds what was
-- charged) or released at expiry.

CREATE TABLE payment_tokens (
    id              TEXT PRIMARY KEY,
    provider_id     TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    currency        TEXT NOT NULL,
    max_cents       INTEGER NOT NULL,
    status          TEXT NOT NULL,      -- issued, redeemed, released
    redeemed_cents  INTEGER NOT NULL DEFAULT 0,
    resource_id     TEXT NOT NULL DEFAULT '',
    issued_at       TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    settled_at      TEXT                -- when it was redeemed or released
);
CREATE INDEX payment_tokens_status ON payment_tokens (status, expires_at);
CREATE INDEX payment_tokens_provider ON payment_tokens (provider_id, issued_at);
