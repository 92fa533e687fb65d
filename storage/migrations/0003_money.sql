-- Money: the ledger every cost, budget and cap reads (spec/osp.md §14.2), and cap settings.

CREATE TABLE ledger (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id  TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    provider     TEXT NOT NULL,
    kind         TEXT NOT NULL,       -- base, one_time, proration, metered
    amount       TEXT NOT NULL,       -- decimal string, two fraction digits
    currency     TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX ledger_provider_at ON ledger (provider, at);
CREATE INDEX ledger_project_at ON ledger (provider, project_id, at);

CREATE TABLE caps (
    scope        TEXT PRIMARY KEY,    -- "global" or a provider_id
    amount       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
