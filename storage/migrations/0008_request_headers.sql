-- The request log keeps both sides' headers (as a JSON object of name to values, secrets
-- redacted) so the inspector can show an exchange in full and rebuild it as a curl command.

ALTER TABLE requests ADD COLUMN request_headers TEXT NOT NULL DEFAULT '{}';
ALTER TABLE requests ADD COLUMN response_headers TEXT NOT NULL DEFAULT '{}';
