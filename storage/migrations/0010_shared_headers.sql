-- A request's two header sets (redacted, without the per-request X-Request-Id) repeat from one
-- request to the next, so they are stored once in `bodies` as "<request>\n<response>" and each
-- request refers to them by hash: a logged row is half the bytes it was.

ALTER TABLE requests ADD COLUMN headers_ref TEXT NOT NULL DEFAULT '';
