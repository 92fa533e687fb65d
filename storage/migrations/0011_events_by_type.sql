-- The Spend page lists the newest budget alerts. A partial index keeps them at hand without
-- adding an index write to every other event (provisioning writes several per request).
CREATE INDEX events_budget ON events (seq DESC) WHERE type IN ('budget.threshold_reached', 'budget.exceeded');
