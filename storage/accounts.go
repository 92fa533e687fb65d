package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ProviderAccount is an account a provider made from an identity attestation.
type ProviderAccount struct {
	Provider, Issuer, Subject, ID, Email string
	// Method is how the account was linked: "attested" or "oauth" (then Scopes are the ones
	// the user approved, space-separated).
	Method, Scopes       string
	CreatedAt, UpdatedAt time.Time
}

// UseJTI records an attestation's jti for provider; it reports false when the provider has
// already accepted it. Entries past their expiry are dropped on the way.
func (tx *Tx) UseJTI(ctx context.Context, provider, jti string, expires, now time.Time) (bool, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM attestation_jtis WHERE expires_at < ?`, ts(now.Add(-time.Hour))); err != nil {
		return false, err
	}
	r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO attestation_jtis (provider, jti, expires_at) VALUES (?, ?, ?)`, provider, jti, ts(expires))
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// UpsertAccount makes the account of (provider, issuer, subject) or finds it, and adds an API
// key (by its hash) to it; keys given before stay valid. It reports whether the account is new.
func (tx *Tx) UpsertAccount(ctx context.Context, a ProviderAccount, keyHash string) (ProviderAccount, bool, error) {
	var existing ProviderAccount
	var created string
	err := tx.QueryRowContext(ctx, `SELECT id, email, created_at FROM provider_accounts WHERE provider = ? AND issuer = ? AND subject = ?`,
		a.Provider, a.Issuer, a.Subject).Scan(&existing.ID, &existing.Email, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO provider_accounts (provider, issuer, subject, id, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.Provider, a.Issuer, a.Subject, a.ID, a.Email, ts(a.CreatedAt), ts(a.UpdatedAt))
		if err == nil {
			tx.Changed("provider_accounts", a.ID, "insert")
		}
		if err == nil {
			err = addAccountKey(ctx, tx, a, keyHash)
		}
		return a, true, err
	case err != nil:
		return a, false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE provider_accounts SET email = ?, updated_at = ? WHERE id = ?`, a.Email, ts(a.UpdatedAt), existing.ID)
	if err == nil {
		tx.Changed("provider_accounts", existing.ID, "update")
	}
	a.ID = existing.ID
	a.CreatedAt, _ = time.Parse(TimeFormat, created)
	if err == nil {
		err = addAccountKey(ctx, tx, a, keyHash)
	}
	return a, false, err
}

func addAccountKey(ctx context.Context, tx *Tx, a ProviderAccount, keyHash string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO account_keys (key_hash, provider, account_id, created_at) VALUES (?, ?, ?, ?)`, keyHash, a.Provider, a.ID, ts(a.UpdatedAt))
	return err
}

// AccountByKey finds provider's account that has an API key hashing to keyHash.
func (db *DB) AccountByKey(ctx context.Context, provider, keyHash string) (ProviderAccount, error) {
	var a ProviderAccount
	var created, updated string
	err := db.read.QueryRowContext(ctx, `SELECT a.provider, a.issuer, a.subject, a.id, a.email, a.created_at, a.updated_at
		FROM account_keys k JOIN provider_accounts a ON a.id = k.account_id WHERE k.provider = ? AND k.key_hash = ?`,
		provider, keyHash).Scan(&a.Provider, &a.Issuer, &a.Subject, &a.ID, &a.Email, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	a.CreatedAt, _ = time.Parse(TimeFormat, created)
	a.UpdatedAt, _ = time.Parse(TimeFormat, updated)
	return a, err
}

// ProviderAccounts lists every provider's accounts, newest first.
func (db *DB) ProviderAccounts(ctx context.Context) ([]ProviderAccount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT provider, issuer, subject, id, email, method, scopes, created_at, updated_at FROM provider_accounts ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ProviderAccount
	for rows.Next() {
		var a ProviderAccount
		var created, updated string
		if err := rows.Scan(&a.Provider, &a.Issuer, &a.Subject, &a.ID, &a.Email, &a.Method, &a.Scopes, &created, &updated); err != nil {
			return nil, err
		}
		a.CreatedAt, _ = time.Parse(TimeFormat, created)
		a.UpdatedAt, _ = time.Parse(TimeFormat, updated)
		out = append(out, a)
	}
	return out, rows.Err()
}
