-- Responses that are the same bytes every time (served discovery documents) are stored once and
-- referenced from each request by their hash, so a load test against discovery does not write
-- the manifest ten thousand times.

CREATE TABLE bodies (
    hash  TEXT PRIMARY KEY,
    body  TEXT NOT NULL
);

ALTER TABLE requests ADD COLUMN response_ref TEXT NOT NULL DEFAULT '';
