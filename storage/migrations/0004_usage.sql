-- Usage recorded per resource, calendar month (YYYY-MM) and metric, and the usage thresholds
-- already announced.

CREATE TABLE usage (
    resource_id  TEXT NOT NULL,
    period       TEXT NOT NULL,
    metric       TEXT NOT NULL,
    quantity     TEXT NOT NULL,
    PRIMARY KEY (resource_id, period, metric)
);

CREATE TABLE usage_thresholds (
    resource_id  TEXT NOT NULL,
    period       TEXT NOT NULL,
    metric       TEXT NOT NULL,
    threshold    INTEGER NOT NULL,
    PRIMARY KEY (resource_id, period, metric, threshold)
);
