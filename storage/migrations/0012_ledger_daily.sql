-- A rollup of the ledger kept as charges post: what each provider charged each project per day,
-- currency and kind, in whole cents (ledger amounts have two fraction digits). The spending-cap
-- check on every paid provision, project budgets and the Spend page read it instead of every
-- charge of the period. `negatives` counts the credits (negative charges) in a row: cost reports
-- floor each resource's base at zero, which only a credit can change, so readers that need the
-- per-resource view fall back to the ledger when a period has any.

CREATE TABLE ledger_daily (
    provider    TEXT NOT NULL,
    day         TEXT NOT NULL,      -- YYYY-MM-DD, UTC
    project_id  TEXT NOT NULL,
    currency    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    cents       INTEGER NOT NULL,
    negatives   INTEGER NOT NULL,
    PRIMARY KEY (provider, day, project_id, currency, kind)
) WITHOUT ROWID;

INSERT INTO ledger_daily (provider, day, project_id, currency, kind, cents, negatives)
SELECT provider, substr(at, 1, 10), project_id, currency, kind,
       SUM(CAST(ROUND(CAST(amount AS REAL) * 100) AS INTEGER)), SUM(CAST(amount AS REAL) < 0)
FROM ledger GROUP BY provider, substr(at, 1, 10), project_id, currency, kind;
