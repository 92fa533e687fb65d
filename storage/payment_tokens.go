package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// PaymentToken is one of the orchestrator's payment tokens (spec/orchestrator.md §4).
type PaymentToken struct {
	ID, ProviderID, ProjectID, Currency string
	MaxCents, RedeemedCents             int64
	Status                              string // issued, redeemed, released
	ResourceID                          string
	IssuedAt, ExpiresAt                 time.Time
	SettledAt                           *time.Time
}

// Reservation is what the orchestrator holds against a cap: the outstanding tokens' maxima and
// what redeemed tokens charged, in cents.
type Reservation struct {
	OutstandingCents, RedeemedCents int64
}

// Total is the reservation's whole amount.
func (r Reservation) Total() int64 { return r.OutstandingCents + r.RedeemedCents }

const paymentTokenColumns = `id, provider_id, project_id, currency, max_cents, redeemed_cents, status, resource_id, issued_at, expires_at, settled_at`

func scanPaymentToken(row interface{ Scan(...any) error }) (PaymentToken, error) {
	var t PaymentToken
	var issued, expires string
	var settled sql.NullString
	err := row.Scan(&t.ID, &t.ProviderID, &t.ProjectID, &t.Currency, &t.MaxCents, &t.RedeemedCents, &t.Status, &t.ResourceID, &issued, &expires, &settled)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.IssuedAt, _ = time.Parse(TimeFormat, issued)
	t.ExpiresAt, _ = time.Parse(TimeFormat, expires)
	t.SettledAt = parseTS(settled)
	return t, nil
}

// ReleaseExpiredTokens releases every issued token whose expiry is not after now: its
// reservation ends at its expiry. It reports how many it released.
func (tx *Tx) ReleaseExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT provider_id, SUM(max_cents), COUNT(*) FROM payment_tokens WHERE status = 'issued' AND expires_at <= ? GROUP BY provider_id`, ts(now))
	if err != nil {
		return 0, err
	}
	type freed struct {
		provider string
		cents, n int64
	}
	var all []freed
	for rows.Next() {
		var f freed
		if err := rows.Scan(&f.provider, &f.cents, &f.n); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, f)
	}
	rows.Close()
	if len(all) == 0 {
		return 0, rows.Err()
	}
	var n int64
	for _, f := range all {
		if _, err := tx.ExecContext(ctx, `UPDATE token_outstanding SET cents = cents - ? WHERE provider_id = ?`, f.cents, f.provider); err != nil {
			return 0, err
		}
		n += f.n
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payment_tokens SET status = 'released', settled_at = expires_at WHERE status = 'issued' AND expires_at <= ?`, ts(now)); err != nil {
		return 0, err
	}
	tx.Changed("payment_tokens", "", "update")
	return n, nil
}

// month is the calendar month (UTC) of t, as the totals key it.
func month(t time.Time) string { return t.UTC().Format("2006-01") }

// TokenReservation is what tokens hold against a cap in the calendar month of at: outstanding
// tokens whatever their age, and what tokens redeemed that month; for one provider, or all when
// providerID is "".
func (tx *Tx) TokenReservation(ctx context.Context, providerID string, at time.Time) (Reservation, error) {
	var r Reservation
	err := tx.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT SUM(cents) FROM token_outstanding WHERE ? = '' OR provider_id = ?), 0),
		COALESCE((SELECT SUM(cents) FROM token_redeemed WHERE (? = '' OR provider_id = ?) AND month = ?), 0)`,
		providerID, providerID, providerID, providerID, month(at)).Scan(&r.OutstandingCents, &r.RedeemedCents)
	return r, err
}

// InsertPaymentToken stores a newly issued token and adds its maximum to what is outstanding.
func (tx *Tx) InsertPaymentToken(ctx context.Context, t PaymentToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_tokens (`+paymentTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ProviderID, t.ProjectID, t.Currency, t.MaxCents, t.RedeemedCents, t.Status, t.ResourceID, ts(t.IssuedAt), ts(t.ExpiresAt), tsPtr(t.SettledAt))
	if err == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO token_outstanding (provider_id, cents) VALUES (?, ?)
			ON CONFLICT (provider_id) DO UPDATE SET cents = cents + excluded.cents`, t.ProviderID, t.MaxCents)
	}
	if err == nil {
		tx.Changed("payment_tokens", t.ID, "insert")
	}
	return err
}

// PaymentToken reads one token in the transaction.
func (tx *Tx) PaymentToken(ctx context.Context, id string) (PaymentToken, error) {
	return scanPaymentToken(tx.QueryRowContext(ctx, `SELECT `+paymentTokenColumns+` FROM payment_tokens WHERE id = ?`, id))
}

// RedeemPaymentToken settles issued token t at cents for resourceID: its maximum is no longer
// outstanding, and cents count as redeemed in at's month.
func (tx *Tx) RedeemPaymentToken(ctx context.Context, t PaymentToken, cents int64, resourceID string, at time.Time) error {
	r, err := tx.ExecContext(ctx, `UPDATE payment_tokens SET status = 'redeemed', redeemed_cents = ?, resource_id = ?, settled_at = ? WHERE id = ? AND status = 'issued'`,
		cents, resourceID, ts(at), t.ID)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return errors.New("payment token " + t.ID + " is not outstanding")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE token_outstanding SET cents = cents - ? WHERE provider_id = ?`, t.MaxCents, t.ProviderID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO token_redeemed (provider_id, month, cents) VALUES (?, ?, ?)
		ON CONFLICT (provider_id, month) DO UPDATE SET cents = cents + excluded.cents`, t.ProviderID, month(at), cents)
	if err == nil {
		tx.Changed("payment_tokens", t.ID, "update")
	}
	return err
}

// PaymentTokens lists tokens newest first, for one provider or all (""), at most limit.
func (db *DB) PaymentTokens(ctx context.Context, providerID string, limit int) ([]PaymentToken, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+paymentTokenColumns+` FROM payment_tokens WHERE (? = '' OR provider_id = ?) ORDER BY issued_at DESC, id DESC LIMIT ?`,
		providerID, providerID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PaymentToken
	for rows.Next() {
		t, err := scanPaymentToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenProviders lists the providers with tokens outstanding or redeemed in at's month, sorted.
func (tx *Tx) TokenProviders(ctx context.Context, at time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT provider_id FROM token_outstanding WHERE cents > 0
		UNION SELECT provider_id FROM token_redeemed WHERE month = ? ORDER BY 1`, month(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PaymentTokenCounts counts the orchestrator's payment tokens by status (issued, redeemed,
// released). Not part of Counts: idle namespace files from before the orchestrator are read as
// they are.
func (db *DB) PaymentTokenCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT status, COUNT(*) FROM payment_tokens GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		out[status] = n
	}
	return out, rows.Err()
}
