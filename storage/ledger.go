package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Charge is one ledger entry.
type Charge struct {
	ResourceID string
	ProjectID  string
	Provider   string // provider slug
	Kind       string
	Amount     string
	Currency   string
	At         time.Time
}

// PostCharge appends a ledger entry.
func (tx *Tx) PostCharge(ctx context.Context, c Charge) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger (resource_id, project_id, provider, kind, amount, currency, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ResourceID, c.ProjectID, c.Provider, c.Kind, c.Amount, c.Currency, ts(c.At))
	if err == nil {
		tx.Changed("ledger", c.ResourceID, "insert")
	}
	return err
}

func charges(ctx context.Context, q querier, query string, args ...any) ([]Charge, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Charge
	for rows.Next() {
		var c Charge
		var at string
		if err := rows.Scan(&c.ResourceID, &c.ProjectID, &c.Provider, &c.Kind, &c.Amount, &c.Currency, &at); err != nil {
			return nil, err
		}
		c.At, _ = time.Parse(TimeFormat, at)
		out = append(out, c)
	}
	return out, rows.Err()
}

const chargeColumns = `resource_id, project_id, provider, kind, amount, currency, at`

// ProviderCharges lists a provider's charges in [from, to) inside the transaction — the cap
// check reads and posts in one transaction, so concurrent provisions cannot both pass it.
func (tx *Tx) ProviderCharges(ctx context.Context, provider string, from, to time.Time) ([]Charge, error) {
	return charges(ctx, tx.Tx, `SELECT `+chargeColumns+` FROM ledger WHERE provider = ? AND at >= ? AND at < ? ORDER BY id`, provider, ts(from), ts(to))
}

// ProviderCharges lists a provider's charges in [from, to).
func (db *DB) ProviderCharges(ctx context.Context, provider string, from, to time.Time) ([]Charge, error) {
	return charges(ctx, db.read, `SELECT `+chargeColumns+` FROM ledger WHERE provider = ? AND at >= ? AND at < ? ORDER BY id`, provider, ts(from), ts(to))
}

// Cap is a spending-cap setting.
type Cap struct {
	Scope     string
	Amount    string
	Currency  string
	UpdatedAt time.Time
}

func getCap(ctx context.Context, q querier, scope string) (*Cap, error) {
	var c Cap
	var at string
	err := q.QueryRowContext(ctx, `SELECT scope, amount, currency, updated_at FROM caps WHERE scope = ?`, scope).Scan(&c.Scope, &c.Amount, &c.Currency, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.UpdatedAt, _ = time.Parse(TimeFormat, at)
	return &c, nil
}

// CapSetting reads the cap for a scope ("global" or a provider_id); nil when unset.
func (db *DB) CapSetting(ctx context.Context, scope string) (*Cap, error) {
	return getCap(ctx, db.read, scope)
}

// CapSetting reads a cap inside the transaction.
func (tx *Tx) CapSetting(ctx context.Context, scope string) (*Cap, error) {
	return getCap(ctx, tx.Tx, scope)
}

// SetCap stores (or, with a nil cap, removes) the cap of a scope.
func (db *DB) SetCap(ctx context.Context, scope string, c *Cap) error {
	return db.Update(ctx, func(tx *Tx) error {
		var err error
		if c == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM caps WHERE scope = ?`, scope)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO caps (scope, amount, currency, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (scope) DO UPDATE SET amount = excluded.amount, currency = excluded.currency, updated_at = excluded.updated_at`,
				scope, c.Amount, c.Currency, ts(c.UpdatedAt))
		}
		if err == nil {
			tx.Changed("caps", scope, "update")
		}
		return err
	})
}

// ProviderResources lists a provider's resources (newest first), for cost reports.
func (db *DB) ProviderResources(ctx context.Context, provider string) ([]Resource, error) {
	return collectResources(db.read.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE provider = ? ORDER BY created_at`, provider))
}

// ProjectExists reports whether a provider ever had a resource in a project.
func (db *DB) ProjectExists(ctx context.Context, provider, project string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE provider = ? AND project_id = ?`, provider, project).Scan(&n)
	return n > 0, err
}
