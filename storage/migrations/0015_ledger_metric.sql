-- Which usage metric a metered charge is for, so cost reports can break metered cost down by
-- metric (spec/osp.md §14.4: dimensions metered:<metric>). Empty for every other kind and for
-- metered charges posted before this column existed.
ALTER TABLE ledger ADD COLUMN metric TEXT NOT NULL DEFAULT '';
