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

-- Running totals, kept in the transactions that change tokens, so checking a cap reads a row per
-- provider instead of summing every token: what outstanding tokens reserve, per provider, and
-- what redeemed tokens charged, per provider and calendar month (YYYY-MM, UTC).
CREATE TABLE token_outstanding (
    provider_id  TEXT PRIMARY KEY,
    cents        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE token_redeemed (
    provider_id  TEXT NOT NULL,
    month        TEXT NOT NULL,
    cents        INTEGER NOT NULL,
    PRIMARY KEY (provider_id, month)
) WITHOUT ROWID;

-- The orchestrator payment token a charge was paid with ("" for every other payment).
ALTER TABLE ledger ADD COLUMN payment_token TEXT NOT NULL DEFAULT '';
