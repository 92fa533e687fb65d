package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// OAuthRequest is an authorization request at a provider's authorization server
// (spec/orchestrator.md §3): pending until the user approves or denies it, then a code.
type OAuthRequest struct {
	ID, Provider, ClientID, RedirectURI, State, Nonce string
	Scopes                                            string // space-separated, as asked
	Challenge, ChallengeMethod                        string
	ResponseType, ResponseMode                        string
	Status                                            string // pending, approved, denied
	Subject, GrantedScopes                            string
	Code                                              string
	CreatedAt                                         time.Time
	DecidedAt                                         *time.Time
}

const oauthRequestColumns = `id, provider, client_id, redirect_uri, state, nonce, scopes, challenge, challenge_method,
	response_type, response_mode, status, subject, granted_scopes, COALESCE(code, ''), created_at, decided_at`

func scanOAuthRequest(row interface{ Scan(...any) error }) (OAuthRequest, error) {
	var a OAuthRequest
	var created string
	var decided sql.NullString
	err := row.Scan(&a.ID, &a.Provider, &a.ClientID, &a.RedirectURI, &a.State, &a.Nonce, &a.Scopes, &a.Challenge, &a.ChallengeMethod,
		&a.ResponseType, &a.ResponseMode, &a.Status, &a.Subject, &a.GrantedScopes, &a.Code, &created, &decided)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	a.CreatedAt, _ = time.Parse(TimeFormat, created)
	a.DecidedAt = parseTS(decided)
	return a, err
}

// InsertOAuthRequest stores a new authorization request.
func (tx *Tx) InsertOAuthRequest(ctx context.Context, a OAuthRequest) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_requests (id, provider, client_id, redirect_uri, state, nonce, scopes, challenge,
		challenge_method, response_type, response_mode, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Provider, a.ClientID, a.RedirectURI, a.State, a.Nonce, a.Scopes, a.Challenge, a.ChallengeMethod,
		a.ResponseType, a.ResponseMode, a.Status, ts(a.CreatedAt))
	if err == nil {
		tx.Changed("oauth_requests", a.ID, "insert")
	}
	return err
}

// OAuthRequest reads one authorization request.
func (db *DB) OAuthRequest(ctx context.Context, id string) (OAuthRequest, error) {
	return scanOAuthRequest(db.read.QueryRowContext(ctx, `SELECT `+oauthRequestColumns+` FROM oauth_requests WHERE id = ?`, id))
}

// OAuthRequestByCode finds the authorization request a code was given for.
func (db *DB) OAuthRequestByCode(ctx context.Context, code string) (OAuthRequest, error) {
	return scanOAuthRequest(db.read.QueryRowContext(ctx, `SELECT `+oauthRequestColumns+` FROM oauth_requests WHERE code = ?`, code))
}

// DecideOAuthRequest records the user's answer to a pending request; it reports false when the
// request is not pending any more (answered twice, or gone).
func (tx *Tx) DecideOAuthRequest(ctx context.Context, id, status, subject, granted string, at time.Time) (bool, error) {
	r, err := tx.ExecContext(ctx, `UPDATE oauth_requests SET status = ?, subject = ?, granted_scopes = ?, decided_at = ? WHERE id = ? AND status = 'pending'`,
		status, subject, granted, ts(at), id)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	if n == 1 {
		tx.Changed("oauth_requests", id, "update")
	}
	return n == 1, nil
}

// SetOAuthCode gives an approved request its authorization code.
func (tx *Tx) SetOAuthCode(ctx context.Context, id, code string) error {
	_, err := tx.ExecContext(ctx, `UPDATE oauth_requests SET code = ? WHERE id = ?`, code, id)
	return err
}

// DeleteOAuthRequest forgets a request (its code was exchanged, or it ended).
func (tx *Tx) DeleteOAuthRequest(ctx context.Context, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM oauth_requests WHERE id = ?`, id)
	return err
}

// OAuthToken is an access or refresh token a provider's authorization server issued. Every token
// of one grant (the first code exchange and each refresh after it) shares GrantID.
type OAuthToken struct {
	ID, Provider, Kind, GrantID, ClientID, Subject string
	Scopes, Audience                               string // space-separated
	AuthTime, CreatedAt, ExpiresAt                 time.Time
	RevokedAt                                      *time.Time
}

const oauthTokenColumns = `id, provider, kind, grant_id, client_id, subject, scopes, audience, auth_time, created_at, expires_at, revoked_at`

func scanOAuthToken(row interface{ Scan(...any) error }) (OAuthToken, error) {
	var t OAuthToken
	var auth, created, expires string
	var revoked sql.NullString
	err := row.Scan(&t.ID, &t.Provider, &t.Kind, &t.GrantID, &t.ClientID, &t.Subject, &t.Scopes, &t.Audience, &auth, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	t.AuthTime, _ = time.Parse(TimeFormat, auth)
	t.CreatedAt, _ = time.Parse(TimeFormat, created)
	t.ExpiresAt, _ = time.Parse(TimeFormat, expires)
	t.RevokedAt = parseTS(revoked)
	return t, err
}

// InsertOAuthToken stores a token; valueHash is the refresh token's hash ("" for an access
// token, which carries its id).
func (tx *Tx) InsertOAuthToken(ctx context.Context, t OAuthToken, valueHash string) error {
	var hash any
	if valueHash != "" {
		hash = valueHash
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (id, provider, kind, value_hash, grant_id, client_id, subject, scopes, audience,
		auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Provider, t.Kind, hash, t.GrantID, t.ClientID, t.Subject, t.Scopes, t.Audience, ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt))
	if err == nil {
		tx.Changed("oauth_tokens", t.ID, "insert")
	}
	return err
}

// OAuthToken reads a token by its id.
func (db *DB) OAuthToken(ctx context.Context, id string) (OAuthToken, error) {
	return scanOAuthToken(db.read.QueryRowContext(ctx, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE id = ?`, id))
}

// OAuthRefreshToken finds the refresh token whose value hashes to valueHash.
func (db *DB) OAuthRefreshToken(ctx context.Context, valueHash string) (OAuthToken, error) {
	return scanOAuthToken(db.read.QueryRowContext(ctx, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE value_hash = ? AND kind = 'refresh'`, valueHash))
}

// RevokeOAuthToken revokes one token; it reports whether it was live.
func (tx *Tx) RevokeOAuthToken(ctx context.Context, id string, at time.Time) (bool, error) {
	r, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	if n > 0 {
		tx.Changed("oauth_tokens", id, "update")
	}
	return n > 0, nil
}

// RevokeOAuthGrant revokes every token of a grant.
func (tx *Tx) RevokeOAuthGrant(ctx context.Context, grantID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL`, ts(at), grantID)
	if err == nil {
		tx.Changed("oauth_tokens", grantID, "update")
	}
	return err
}

// LinkAccount makes or finds the account of (provider, issuer, subject) for an OAuth grant and
// records the scopes the user approved; it reports whether the account is new.
func (tx *Tx) LinkAccount(ctx context.Context, a ProviderAccount) (ProviderAccount, bool, error) {
	var id, created string
	err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM provider_accounts WHERE provider = ? AND issuer = ? AND subject = ?`,
		a.Provider, a.Issuer, a.Subject).Scan(&id, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO provider_accounts (provider, issuer, subject, id, email, method, scopes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'oauth', ?, ?, ?)`, a.Provider, a.Issuer, a.Subject, a.ID, a.Email, a.Scopes, ts(a.CreatedAt), ts(a.UpdatedAt))
		if err == nil {
			tx.Changed("provider_accounts", a.ID, "insert")
		}
		a.Method = "oauth"
		return a, true, err
	case err != nil:
		return a, false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE provider_accounts SET email = ?, method = 'oauth', scopes = ?, updated_at = ? WHERE id = ?`, a.Email, a.Scopes, ts(a.UpdatedAt), id)
	if err == nil {
		tx.Changed("provider_accounts", id, "update")
	}
	a.ID, a.Method = id, "oauth"
	a.CreatedAt, _ = time.Parse(TimeFormat, created)
	return a, false, err
}

// Consent is a consent the orchestrator asked a provider's authorization server for, on behalf of
// a project: pending until the user answers; once approved, the tokens it holds, sealed.
type Consent struct {
	ID, ProjectID, ProviderID, ProviderURL string
	Issuer, TokenURL, RevocationURL        string
	AuthorizeURL                           string // where the user's browser goes to answer
	Scopes                                 string // space-separated, as asked
	State, Verifier                        string
	Status                                 string // pending, approved, denied, failed, revoked
	Error                                  string
	GrantedScopes                          string
	SealedTokens                           []byte
	TokenExpiresAt                         *time.Time
	CreatedAt, ExpiresAt                   time.Time
	DecidedAt                              *time.Time
}

const consentColumns = `id, project_id, provider_id, provider_url, issuer, token_url, revocation_url, authorize_url, scopes, state, verifier,
	status, error, granted_scopes, sealed_tokens, token_expires_at, created_at, decided_at, expires_at`

func scanConsent(row interface{ Scan(...any) error }) (Consent, error) {
	var c Consent
	var created, expires string
	var decided, tokenExpires sql.NullString
	err := row.Scan(&c.ID, &c.ProjectID, &c.ProviderID, &c.ProviderURL, &c.Issuer, &c.TokenURL, &c.RevocationURL, &c.AuthorizeURL, &c.Scopes,
		&c.State, &c.Verifier, &c.Status, &c.Error, &c.GrantedScopes, &c.SealedTokens, &tokenExpires, &created, &decided, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.CreatedAt, _ = time.Parse(TimeFormat, created)
	c.ExpiresAt, _ = time.Parse(TimeFormat, expires)
	c.DecidedAt, c.TokenExpiresAt = parseTS(decided), parseTS(tokenExpires)
	return c, err
}

// InsertConsent stores a new pending consent.
func (tx *Tx) InsertConsent(ctx context.Context, c Consent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO consents (id, project_id, provider_id, provider_url, issuer, token_url, revocation_url, authorize_url,
		scopes, state, verifier, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ProjectID, c.ProviderID, c.ProviderURL, c.Issuer, c.TokenURL, c.RevocationURL, c.AuthorizeURL, c.Scopes, c.State, c.Verifier,
		c.Status, ts(c.CreatedAt), ts(c.ExpiresAt))
	if err == nil {
		tx.Changed("consents", c.ID, "insert")
	}
	return err
}

// UpdateConsent writes a consent's answer, granted scopes and tokens, if its stored status is
// still from; it reports whether it was (another answer, or a revocation, may have come first).
func (tx *Tx) UpdateConsent(ctx context.Context, c Consent, from string) (bool, error) {
	r, err := tx.ExecContext(ctx, `UPDATE consents SET status = ?, error = ?, granted_scopes = ?, sealed_tokens = ?, token_expires_at = ?, decided_at = ? WHERE id = ? AND status = ?`,
		c.Status, c.Error, c.GrantedScopes, c.SealedTokens, tsPtr(c.TokenExpiresAt), tsPtr(c.DecidedAt), c.ID, from)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	if n == 1 {
		tx.Changed("consents", c.ID, "update")
	}
	return n == 1, nil
}

// Consent reads one consent.
func (db *DB) Consent(ctx context.Context, id string) (Consent, error) {
	return scanConsent(db.read.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents WHERE id = ?`, id))
}

// ConsentByState finds the consent an authorization answer's state belongs to.
func (db *DB) ConsentByState(ctx context.Context, state string) (Consent, error) {
	return scanConsent(db.read.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents WHERE state = ?`, state))
}

// Consents lists consents, newest first: of one project when projectID is not "", and of one
// status when status is not "".
func (db *DB) Consents(ctx context.Context, projectID, status string) ([]Consent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+consentColumns+` FROM consents WHERE (? = '' OR project_id = ?) AND (? = '' OR status = ?)
		ORDER BY created_at DESC, id`, projectID, projectID, status, status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
