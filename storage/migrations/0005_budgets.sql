-- OSP budgets (spec/osp.md §15) and the alert thresholds already announced per period.

CREATE TABLE budgets (
    id                TEXT PRIMARY KEY,
    provider          TEXT NOT NULL,
    scope             TEXT NOT NULL,
    scope_id          TEXT NOT NULL,
    limit_amount      TEXT NOT NULL,
    currency          TEXT NOT NULL,
    enforcement       TEXT NOT NULL,
    period            TEXT NOT NULL,
    alert_thresholds  TEXT NOT NULL,   -- JSON array of integers
    created_at        TEXT NOT NULL,
    UNIQUE (provider, scope, scope_id, period)
);

CREATE TABLE budget_alerts (
    budget_id   TEXT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_key  TEXT NOT NULL,
    threshold   INTEGER NOT NULL,
    PRIMARY KEY (budget_id, period_key, threshold)
);
