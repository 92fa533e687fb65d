-- The orchestrator's projects and vault (spec/orchestrator.md §2, §5): each project's
-- credentials sealed with a key from the workspace's secret, and every read of them.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE vault_items (
    project_id     TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    provider_id    TEXT NOT NULL,
    provider_url   TEXT NOT NULL,
    offering_id    TEXT NOT NULL,
    tier_id        TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    sealed         BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (project_id, resource_id)
);

CREATE TABLE vault_reads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL,
    at          TEXT NOT NULL,
    revealed    INTEGER NOT NULL,
    items       INTEGER NOT NULL
);
