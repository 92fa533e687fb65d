package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
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
	// Metric is the usage metric of a metered charge ("" for other kinds).
	Metric string
	// PaymentToken is the orchestrator payment token that paid the charge ("" otherwise).
	PaymentToken string
}

// PostCharge appends a ledger entry and adds it to the daily rollup. Amounts are whole cents
// (a decimal string with at most two fraction digits); anything finer is refused.
func (tx *Tx) PostCharge(ctx context.Context, c Charge) error {
	cents, err := CentsOf(c.Amount)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger (resource_id, project_id, provider, kind, amount, currency, at, metric, payment_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ResourceID, c.ProjectID, c.Provider, c.Kind, c.Amount, c.Currency, ts(c.At), c.Metric, c.PaymentToken); err != nil {
		return err
	}
	negative := 0
	if cents < 0 {
		negative = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_daily (provider, day, project_id, currency, kind, cents, negatives) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, day, project_id, currency, kind) DO UPDATE SET cents = cents + excluded.cents, negatives = negatives + excluded.negatives`,
		c.Provider, c.At.UTC().Format(time.DateOnly), c.ProjectID, c.Currency, c.Kind, cents, negative); err != nil {
		return err
	}
	tx.Changed("ledger", c.ResourceID, "insert")
	return nil
}

// CentsOf reads a decimal amount with at most two fraction digits as whole cents.
func CentsOf(amount string) (int64, error) {
	r, ok := new(big.Rat).SetString(amount)
	if !ok || strings.ContainsAny(amount, "eE/") {
		return 0, fmt.Errorf("charge amount %q is not a decimal number", amount)
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("charge amount %q is not a whole number of cents", amount)
	}
	return r.Num().Int64(), nil
}

// AmountOf writes whole cents as a decimal amount with two fraction digits ("12.50", "-0.05"):
// the inverse of CentsOf.
func AmountOf(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// DailySpend is one row of the ledger rollup.
type DailySpend struct {
	Day, ProjectID, Currency, Kind string
	Cents                          int64
	Negatives                      int64 // credits among the charges
}

// DailySpend reads a provider's rollup rows for the days of [from, to) (midnight UTC bounds).
func (tx *Tx) DailySpend(ctx context.Context, provider string, from, to time.Time) ([]DailySpend, error) {
	return dailySpend(ctx, tx, provider, from, to)
}

// DailySpend is Tx.DailySpend outside a transaction.
func (db *DB) DailySpend(ctx context.Context, provider string, from, to time.Time) ([]DailySpend, error) {
	return dailySpend(ctx, db.read, provider, from, to)
}

func dailySpend(ctx context.Context, q querier, provider string, from, to time.Time) ([]DailySpend, error) {
	rows, err := q.QueryContext(ctx, `SELECT day, project_id, currency, kind, cents, negatives FROM ledger_daily
		WHERE provider = ? AND day >= ? AND day < ? ORDER BY day`, provider, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DailySpend
	for rows.Next() {
		var d DailySpend
		if err := rows.Scan(&d.Day, &d.ProjectID, &d.Currency, &d.Kind, &d.Cents, &d.Negatives); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
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
		if err := rows.Scan(&c.ResourceID, &c.ProjectID, &c.Provider, &c.Kind, &c.Amount, &c.Currency, &at, &c.Metric, &c.PaymentToken); err != nil {
			return nil, err
		}
		c.At, _ = time.Parse(TimeFormat, at)
		out = append(out, c)
	}
	return out, rows.Err()
}

const chargeColumns = `resource_id, project_id, provider, kind, amount, currency, at, metric, payment_token`

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
