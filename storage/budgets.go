package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Budget is an OSP budget of one provider.
type Budget struct {
	ID, Provider, Scope, ScopeID string
	Limit, Currency              string
	Enforcement, Period          string
	AlertThresholds              string // JSON array
	CreatedAt                    time.Time
}

// ErrDuplicate is returned when a unique row already exists.
var ErrDuplicate = errors.New("already exists")

const budgetColumns = `id, provider, scope, scope_id, limit_amount, currency, enforcement, period, alert_thresholds, created_at`

func scanBudgets(rows *sql.Rows) ([]Budget, error) {
	defer rows.Close()
	var out []Budget
	for rows.Next() {
		var b Budget
		var at string
		if err := rows.Scan(&b.ID, &b.Provider, &b.Scope, &b.ScopeID, &b.Limit, &b.Currency, &b.Enforcement, &b.Period, &b.AlertThresholds, &at); err != nil {
			return nil, err
		}
		b.CreatedAt, _ = time.Parse(TimeFormat, at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// PutBudget creates a budget; ErrDuplicate when one exists for the same scope and period.
func (db *DB) PutBudget(ctx context.Context, b Budget) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO budgets (`+budgetColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.Provider, b.Scope, b.ScopeID, b.Limit, b.Currency, b.Enforcement, b.Period, b.AlertThresholds, ts(b.CreatedAt))
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return ErrDuplicate
		}
		if err == nil {
			tx.Changed("budgets", b.ID, "insert")
		}
		return err
	})
}

// Budgets lists a provider's budgets.
func (db *DB) Budgets(ctx context.Context, provider string) ([]Budget, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+budgetColumns+` FROM budgets WHERE provider = ? ORDER BY created_at, id`, provider)
	if err != nil {
		return nil, err
	}
	return scanBudgets(rows)
}

// Budgets lists a provider's budgets inside the transaction.
func (tx *Tx) Budgets(ctx context.Context, provider string) ([]Budget, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+budgetColumns+` FROM budgets WHERE provider = ? ORDER BY created_at, id`, provider)
	if err != nil {
		return nil, err
	}
	return scanBudgets(rows)
}

// DeleteBudget removes a budget; ErrNotFound when it does not exist.
func (db *DB) DeleteBudget(ctx context.Context, provider, id string) error {
	return db.Update(ctx, func(tx *Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM budgets WHERE provider = ? AND id = ?`, provider, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		tx.Changed("budgets", id, "delete")
		return nil
	})
}

// MarkBudgetAlert records an announced alert threshold; false when it already was.
func (tx *Tx) MarkBudgetAlert(ctx context.Context, budgetID, periodKey string, threshold int) (bool, error) {
	r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO budget_alerts (budget_id, period_key, threshold) VALUES (?, ?, ?)`, budgetID, periodKey, threshold)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// ChargedResources reads, by id, the resources of provider with a charge in [from, to), in one
// query (a cost report or a budget check reads them all).
func (tx *Tx) ChargedResources(ctx context.Context, provider string, from, to time.Time) (map[string]Resource, error) {
	return chargedResources(ctx, tx, provider, from, to)
}

// ChargedResources is Tx.ChargedResources outside a transaction.
func (db *DB) ChargedResources(ctx context.Context, provider string, from, to time.Time) (map[string]Resource, error) {
	return chargedResources(ctx, db.read, provider, from, to)
}

func chargedResources(ctx context.Context, q querier, provider string, from, to time.Time) (map[string]Resource, error) {
	list, err := collectResources(q.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE provider = ? AND id IN
		(SELECT resource_id FROM ledger WHERE provider = ? AND at >= ? AND at < ?)`, provider, provider, ts(from), ts(to)))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Resource, len(list))
	for _, r := range list {
		out[r.ID] = r
	}
	return out, nil
}

// SetBudgetLimit changes a budget's limit amount; ErrNotFound when the provider has no such budget.
func (db *DB) SetBudgetLimit(ctx context.Context, provider, id, amount string) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE budgets SET limit_amount = ? WHERE provider = ? AND id = ?`, amount, provider, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		tx.Changed("budgets", id, "update")
		return nil
	})
}
