-- The Spend page lists the newest budget and cap alerts: events of a few types, newest first.
CREATE INDEX events_type ON events (type, seq DESC);
