package storage

import (
	"context"
	"time"
)

// ResourceByID finds a resource whatever its provider (resource ids are unique in a workspace).
func (tx *Tx) ResourceByID(ctx context.Context, id string) (Resource, error) {
	return scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE id = ?`, id))
}

// Usage returns the recorded quantities of a resource in a period (YYYY-MM), by metric.
func usage(ctx context.Context, q querier, resourceID, period string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT metric, quantity FROM usage WHERE resource_id = ? AND period = ?`, resourceID, period)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var m, qty string
		if err := rows.Scan(&m, &qty); err != nil {
			return nil, err
		}
		out[m] = qty
	}
	return out, rows.Err()
}

// Usage reads a period's usage of a resource.
func (db *DB) Usage(ctx context.Context, resourceID, period string) (map[string]string, error) {
	return usage(ctx, db.read, resourceID, period)
}

// Usage reads a period's usage inside the transaction.
func (tx *Tx) Usage(ctx context.Context, resourceID, period string) (map[string]string, error) {
	return usage(ctx, tx.Tx, resourceID, period)
}

// SetUsage stores the quantity of one metric.
func (tx *Tx) SetUsage(ctx context.Context, resourceID, period, metric, quantity string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO usage (resource_id, period, metric, quantity) VALUES (?, ?, ?, ?)
		ON CONFLICT (resource_id, period, metric) DO UPDATE SET quantity = excluded.quantity`, resourceID, period, metric, quantity)
	if err == nil {
		tx.Changed("usage", resourceID, "update")
	}
	return err
}

// MarkThreshold records that a usage threshold was announced; it reports false when it already
// was this period.
func (tx *Tx) MarkThreshold(ctx context.Context, resourceID, period, metric string, threshold int) (bool, error) {
	r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO usage_thresholds (resource_id, period, metric, threshold) VALUES (?, ?, ?, ?)`, resourceID, period, metric, threshold)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// ResourceCharges lists one resource's charges in [from, to).
func (db *DB) ResourceCharges(ctx context.Context, resourceID string, from, to time.Time) ([]Charge, error) {
	return charges(ctx, db.read, `SELECT `+chargeColumns+` FROM ledger WHERE resource_id = ? AND at >= ? AND at < ? ORDER BY id`, resourceID, ts(from), ts(to))
}

// LiveResources lists resources that are provisioned or suspended.
func (tx *Tx) LiveResources(ctx context.Context) ([]Resource, error) {
	return tx.resources(ctx, `SELECT `+resourceColumns+` FROM resources WHERE status IN ('provisioned', 'suspended') ORDER BY created_at`)
}
