package storage

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Resource is one provisioned (or provisioning, or gone) resource. Data holds the members the
// engine keeps as JSON (region, metadata, project name, agent key, …).
type Resource struct {
	ID              string
	Provider        string
	OfferingID      string
	TierID          string
	ProjectID       string
	Status          string
	Sandbox         bool
	Owner           string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ExpiresAt       *time.Time
	ReadyAt         *time.Time
	DeprovisionedAt *time.Time
	Data            []byte
}

// Credential is one version of a resource's credential bundle.
type Credential struct {
	ID         string // bnd_…
	ResourceID string
	Version    int
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	Data       []byte // the credential object and bundle members, JSON
}

// Event is one entry of an event log.
type Event struct {
	Seq        int64 // the order of commit; keyset pages use it
	ID         string
	At         time.Time
	Protocol   string
	Provider   string
	ResourceID string
	Type       string
	Data       []byte
}

func ts(t time.Time) string { return t.UTC().Format(TimeFormat) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func parseTS(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t, err := time.Parse(TimeFormat, s.String)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s.String); err != nil {
			return nil
		}
	}
	return &t
}

// querier is what both a transaction and the reader pool offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const resourceColumns = `id, provider, offering_id, tier_id, project_id, status, sandbox, owner, created_at, updated_at, expires_at, ready_at, deprovisioned_at, data`

func scanResource(row interface{ Scan(...any) error }) (Resource, error) {
	var r Resource
	var created, updated string
	var expires, ready, deprov sql.NullString
	var sandbox int
	err := row.Scan(&r.ID, &r.Provider, &r.OfferingID, &r.TierID, &r.ProjectID, &r.Status, &sandbox, &r.Owner,
		&created, &updated, &expires, &ready, &deprov, &r.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.Sandbox = sandbox == 1
	r.CreatedAt, _ = time.Parse(TimeFormat, created)
	r.UpdatedAt, _ = time.Parse(TimeFormat, updated)
	r.ExpiresAt, r.ReadyAt, r.DeprovisionedAt = parseTS(expires), parseTS(ready), parseTS(deprov)
	return r, nil
}

func getResource(ctx context.Context, q querier, provider, id string) (Resource, error) {
	return scanResource(q.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE id = ? AND provider = ?`, id, provider))
}

// Resource reads one resource of a provider.
func (db *DB) Resource(ctx context.Context, provider, id string) (Resource, error) {
	return getResource(ctx, db.read, provider, id)
}

// Resource reads one resource inside the transaction.
func (tx *Tx) Resource(ctx context.Context, provider, id string) (Resource, error) {
	return getResource(ctx, tx.Tx, provider, id)
}

// PutResource inserts or replaces a resource.
func (tx *Tx) PutResource(ctx context.Context, r Resource) error {
	sandbox := 0
	if r.Sandbox {
		sandbox = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO resources (`+resourceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET tier_id = excluded.tier_id, project_id = excluded.project_id, status = excluded.status,
		sandbox = excluded.sandbox, owner = excluded.owner, updated_at = excluded.updated_at, expires_at = excluded.expires_at,
		ready_at = excluded.ready_at, deprovisioned_at = excluded.deprovisioned_at, data = excluded.data`,
		r.ID, r.Provider, r.OfferingID, r.TierID, r.ProjectID, r.Status, sandbox, r.Owner, ts(r.CreatedAt), ts(r.UpdatedAt),
		tsPtr(r.ExpiresAt), tsPtr(r.ReadyAt), tsPtr(r.DeprovisionedAt), r.Data)
	if err == nil {
		tx.Changed("resources", r.ID, "update")
	}
	return err
}

// DueResources lists resources with a timer due at or before now: asynchronous provisioning that
// completes, or a TTL that ends. The engine applies them in time order.
func (tx *Tx) DueResources(ctx context.Context, now time.Time) ([]Resource, error) {
	return collectResources(tx.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resources
		WHERE (status IN ('provisioning', 'provisioned') AND ready_at <= ?) OR (status IN ('provisioning', 'provisioned') AND expires_at <= ?)
		ORDER BY COALESCE(ready_at, expires_at)`, ts(now), ts(now)))
}

// DeleteResource removes a resource and everything hanging off it (auto-destroyed sandboxes).
func (tx *Tx) DeleteResource(ctx context.Context, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE id = ?`, id)
	if err == nil {
		tx.Changed("resources", id, "delete")
	}
	return err
}

// PutCredential stores a credential version.
func (tx *Tx) PutCredential(ctx context.Context, c Credential) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO credentials (id, resource_id, version, created_at, expires_at, revoked_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, data = excluded.data`,
		c.ID, c.ResourceID, c.Version, ts(c.CreatedAt), tsPtr(c.ExpiresAt), tsPtr(c.RevokedAt), c.Data)
	if err == nil {
		tx.Changed("credentials", c.ID, "update")
	}
	return err
}

// LatestCredential returns the newest credential version of a resource.
func (tx *Tx) LatestCredential(ctx context.Context, resourceID string) (Credential, error) {
	var c Credential
	var created string
	var expires, revoked sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT id, resource_id, version, created_at, expires_at, revoked_at, data FROM credentials
		WHERE resource_id = ? ORDER BY version DESC LIMIT 1`, resourceID).Scan(&c.ID, &c.ResourceID, &c.Version, &created, &expires, &revoked, &c.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.CreatedAt, _ = time.Parse(TimeFormat, created)
	c.ExpiresAt, c.RevokedAt = parseTS(expires), parseTS(revoked)
	return c, err
}

// RevokeCredentials marks every credential of a resource revoked at the given time.
func (tx *Tx) RevokeCredentials(ctx context.Context, resourceID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE credentials SET revoked_at = ? WHERE resource_id = ? AND revoked_at IS NULL`, ts(at), resourceID)
	if err == nil {
		tx.Changed("credentials", resourceID, "update")
	}
	return err
}

// PutAccessToken records a resource access token (by hash) as current.
func (tx *Tx) PutAccessToken(ctx context.Context, hash, resourceID, bundleID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO access_tokens (token_hash, resource_id, bundle_id, valid_until) VALUES (?, ?, ?, NULL)`, hash, resourceID, bundleID)
	return err
}

// RetireAccessTokens gives a resource's current tokens an end of validity (nil: they stay valid).
func (tx *Tx) RetireAccessTokens(ctx context.Context, resourceID string, until *time.Time, except string) error {
	if until == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE access_tokens SET valid_until = ? WHERE resource_id = ? AND valid_until IS NULL AND token_hash <> ?`, ts(*until), resourceID, except)
	return err
}

// AccessToken looks a token hash up: the resource it belongs to and when it stops being valid
// (nil while current).
func (db *DB) AccessToken(ctx context.Context, hash string) (resourceID string, validUntil *time.Time, err error) {
	var until sql.NullString
	err = db.read.QueryRowContext(ctx, `SELECT resource_id, valid_until FROM access_tokens WHERE token_hash = ?`, hash).Scan(&resourceID, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, ErrNotFound
	}
	return resourceID, parseTS(until), err
}

// PutEvent appends an event.
func (tx *Tx) PutEvent(ctx context.Context, e Event) error {
	var res any
	if e.ResourceID != "" {
		res = e.ResourceID
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO events (id, at, protocol, provider, resource_id, type, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, ts(e.At), e.Protocol, e.Provider, res, e.Type, e.Data)
	if err == nil {
		seq, _ := r.LastInsertId()
		tx.Changed("events", strconv.FormatInt(seq, 10), "insert")
	}
	return err
}

// Idempotent returns a stored response for a provider's idempotency key.
func (tx *Tx) Idempotent(ctx context.Context, provider, key string, since time.Time) (fingerprint string, status int, body []byte, err error) {
	return idempotent(ctx, tx.Tx, provider, key, since)
}

// Idempotent reads a stored response outside a transaction.
func (db *DB) Idempotent(ctx context.Context, provider, key string, since time.Time) (fingerprint string, status int, body []byte, err error) {
	return idempotent(ctx, db.read, provider, key, since)
}

func idempotent(ctx context.Context, q querier, provider, key string, since time.Time) (fingerprint string, status int, body []byte, err error) {
	err = q.QueryRowContext(ctx, `SELECT fingerprint, status, body FROM idempotency WHERE provider = ? AND key = ? AND created_at >= ?`,
		provider, key, ts(since)).Scan(&fingerprint, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return
}

// PutIdempotent stores a successful response under its idempotency key.
func (tx *Tx) PutIdempotent(ctx context.Context, provider, key, fingerprint string, status int, body []byte, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency (provider, key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body, created_at = excluded.created_at`,
		provider, key, fingerprint, status, body, ts(at))
	return err
}

// UseNonce records a nonce; when it was seen since `since`, it returns the first time instead.
func (tx *Tx) UseNonce(ctx context.Context, provider, nonce string, at, since time.Time) (firstAt *time.Time, err error) {
	var first string
	err = tx.QueryRowContext(ctx, `SELECT at FROM nonces WHERE provider = ? AND nonce = ? AND at >= ?`, provider, nonce, ts(since)).Scan(&first)
	if err == nil {
		t, _ := time.Parse(TimeFormat, first)
		return &t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO nonces (provider, nonce, at) VALUES (?, ?, ?) ON CONFLICT (provider, nonce) DO UPDATE SET at = excluded.at`, provider, nonce, ts(at))
	return nil, err
}

// EventsOf lists a resource's events, oldest first.
func (db *DB) EventsOf(ctx context.Context, resourceID string) ([]Event, error) {
	return collectEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE resource_id = ? ORDER BY seq`, resourceID))
}

const eventColumns = `seq, id, at, protocol, provider, COALESCE(resource_id, ''), type, data`

// collectEvents reads every row of an events query selecting eventColumns.
func collectEvents(rows *sql.Rows, err error) ([]Event, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&e.Seq, &e.ID, &at, &e.Protocol, &e.Provider, &e.ResourceID, &e.Type, &e.Data); err != nil {
			return nil, err
		}
		e.At, _ = time.Parse(TimeFormat, at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SandboxCounts counts a client's live sandboxes and the sandboxes it provisioned since dayStart.
func (tx *Tx) SandboxCounts(ctx context.Context, provider, client string, dayStart time.Time) (live, today int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT
		COUNT(*) FILTER (WHERE status NOT IN ('deprovisioned')),
		COUNT(*) FILTER (WHERE created_at >= ?)
		FROM resources WHERE provider = ? AND sandbox = 1 AND json_extract(data, '$.client') = ?`, ts(dayStart), provider, client).Scan(&live, &today)
	return
}

// NextTimer is the earliest pending timer strictly after now (asynchronous completion or TTL
// end), or nil.
func (db *DB) NextTimer(ctx context.Context, now time.Time) (*time.Time, error) {
	var next sql.NullString
	// Timers: asynchronous completion or tier change, the one-hour TTL warning, the TTL's end.
	err := db.read.QueryRowContext(ctx, `SELECT MIN(t) FROM (
		SELECT ready_at AS t FROM resources WHERE status IN ('provisioning', 'provisioned') AND ready_at > ?
		UNION ALL SELECT expires_at FROM resources WHERE status IN ('provisioning', 'provisioned') AND expires_at > ?)`, ts(now), ts(now)).Scan(&next)
	if err != nil {
		return nil, err
	}
	t := parseTS(next)
	var warn sql.NullString // the earliest one-hour warning still to come: expires_at − 1 h > now
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(expires_at) FROM resources WHERE status IN ('provisioning', 'provisioned')
		AND json_extract(data, '$.expiring_sent') IS NULL AND expires_at > ?`, ts(now.Add(time.Hour))).Scan(&warn); err != nil {
		return nil, err
	}
	if w := parseTS(warn); w != nil {
		at := w.Add(-time.Hour)
		if t == nil || at.Before(*t) {
			t = &at
		}
	}
	// The monthly roll-over at the next month start, when anything live is billed monthly.
	var billable int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE status IN ('provisioned', 'suspended') AND sandbox = 0
		AND json_extract(data, '$.billed_through') IS NOT NULL`).Scan(&billable); err != nil {
		return nil, err
	}
	if billable > 0 {
		y, m, _ := now.UTC().Date()
		month := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		if t == nil || month.Before(*t) {
			t = &month
		}
	}
	return t, nil
}

// ExpiringResources lists live resources whose TTL ends by `by` and whose one-hour warning has
// not gone out.
func (tx *Tx) ExpiringResources(ctx context.Context, by time.Time) ([]Resource, error) {
	return tx.resources(ctx, `SELECT `+resourceColumns+` FROM resources WHERE status IN ('provisioning', 'provisioned')
		AND expires_at <= ? AND json_extract(data, '$.expiring_sent') IS NULL ORDER BY expires_at`, ts(by))
}

// UnbilledResources lists live, non-sandbox resources billed through a month before `month`
// (YYYY-MM), for the monthly roll-over.
func (tx *Tx) UnbilledResources(ctx context.Context, month string) ([]Resource, error) {
	return tx.resources(ctx, `SELECT `+resourceColumns+` FROM resources WHERE status IN ('provisioned', 'suspended') AND sandbox = 0
		AND json_extract(data, '$.billed_through') < ? ORDER BY created_at`, month)
}

func (tx *Tx) resources(ctx context.Context, query string, args ...any) ([]Resource, error) {
	return collectResources(tx.QueryContext(ctx, query, args...))
}

// collectResources reads every row of a resource query.
func collectResources(rows *sql.Rows, err error) ([]Resource, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountLiveResources counts a provider's resources that are not deprovisioned, of one offering or,
// with offeringID "", of all.
func (tx *Tx) CountLiveResources(ctx context.Context, provider, offeringID string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE provider = ? AND status != 'deprovisioned' AND (? = '' OR offering_id = ?)`,
		provider, offeringID, offeringID).Scan(&n)
	return n, err
}
