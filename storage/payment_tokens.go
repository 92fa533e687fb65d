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
	r, err := tx.ExecContext(ctx, `UPDATE payment_tokens SET status = 'released', settled_at = expires_at WHERE status = 'issued' AND expires_at <= ?`, ts(now))
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	if n > 0 {
		tx.Changed("payment_tokens", "", "update")
	}
	return n, nil
}

// TokenReservation is what tokens reserve in [from, to): outstanding tokens whatever their age,
// and tokens redeemed in the period; for one provider, or all when providerID is "".
func (tx *Tx) TokenReservation(ctx context.Context, providerID string, from, to time.Time) (Reservation, error) {
	var r Reservation
	err := tx.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN status = 'issued' THEN max_cents END), 0),
		COALESCE(SUM(CASE WHEN status = 'redeemed' AND settled_at >= ? AND settled_at < ? THEN redeemed_cents END), 0)
		FROM payment_tokens WHERE (? = '' OR provider_id = ?)`, ts(from), ts(to), providerID, providerID).Scan(&r.OutstandingCents, &r.RedeemedCents)
	return r, err
}

// InsertPaymentToken stores a newly issued token.
func (tx *Tx) InsertPaymentToken(ctx context.Context, t PaymentToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_tokens (`+paymentTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ProviderID, t.ProjectID, t.Currency, t.MaxCents, t.RedeemedCents, t.Status, t.ResourceID, ts(t.IssuedAt), ts(t.ExpiresAt), tsPtr(t.SettledAt))
	if err == nil {
		tx.Changed("payment_tokens", t.ID, "insert")
	}
	return err
}

// PaymentToken reads one token in the transaction.
func (tx *Tx) PaymentToken(ctx context.Context, id string) (PaymentToken, error) {
	return scanPaymentToken(tx.QueryRowContext(ctx, `SELECT `+paymentTokenColumns+` FROM payment_tokens WHERE id = ?`, id))
}

// RedeemPaymentToken settles an issued token at cents for resourceID.
func (tx *Tx) RedeemPaymentToken(ctx context.Context, id string, cents int64, resourceID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE payment_tokens SET status = 'redeemed', redeemed_cents = ?, resource_id = ?, settled_at = ? WHERE id = ? AND status = 'issued'`,
		cents, resourceID, ts(at), id)
	if err == nil {
		tx.Changed("payment_tokens", id, "update")
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

// TokenProviders lists the providers with tokens outstanding or issued since from, sorted.
func (tx *Tx) TokenProviders(ctx context.Context, from time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT provider_id FROM payment_tokens WHERE status = 'issued' OR issued_at >= ? ORDER BY provider_id`, ts(from))
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
