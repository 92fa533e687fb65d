package storage

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// BSPEvent is one event of a BSP/BEST service's log.
type BSPEvent struct {
	Seq           int64
	Scope         string // tenant id, "" for the root manifest
	Service       string
	ID            string
	Type          string
	Source        string
	CorrelationID string
	At            time.Time
	Envelope      string // the CloudEvent as published (compact JSON)
	Flag          string // why the data does not match its event document, "" when it does
}

// AppendBSPEvent appends an event and returns its sequence number.
func (tx *Tx) AppendBSPEvent(ctx context.Context, e BSPEvent) (int64, error) {
	r, err := tx.ExecContext(ctx, `INSERT INTO bsp_events (scope, service, id, type, source, correlation_id, at, envelope, flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Scope, e.Service, e.ID, e.Type, e.Source, e.CorrelationID, ts(e.At), e.Envelope, e.Flag)
	if err != nil {
		return 0, err
	}
	seq, err := r.LastInsertId()
	tx.Changed("bsp_events", strconv.FormatInt(seq, 10), "insert")
	return seq, err
}

// TrimBSPEvents keeps the newest keep events of one service.
func (tx *Tx) TrimBSPEvents(ctx context.Context, scope, service string, keep int) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM bsp_events WHERE scope = ? AND service = ? AND seq < (
		SELECT seq FROM bsp_events WHERE scope = ? AND service = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
		scope, service, scope, service, keep-1)
	return err
}

// BSPEventQuery selects events of one service, oldest first.
type BSPEventQuery struct {
	Scope, Service string
	AnyService     bool // every service of every scope (the UI)
	Type           string
	CorrelationID  string
	Source         string
	From, To       *time.Time
	AfterSeq       int64
	Newest         bool // newest first (the UI's page)
	Limit          int
}

const bspEventColumns = `seq, scope, service, id, type, source, correlation_id, at, envelope, flag`

// BSPEvents lists the events that match q.
func (db *DB) BSPEvents(ctx context.Context, q BSPEventQuery) ([]BSPEvent, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !q.AnyService {
		add("scope = ?", q.Scope)
		add("service = ?", q.Service)
	}
	if q.Type != "" {
		add("type = ?", q.Type)
	}
	if q.CorrelationID != "" {
		add("correlation_id = ?", q.CorrelationID)
	}
	if q.Source != "" {
		add("source = ?", q.Source)
	}
	if q.From != nil {
		add("at >= ?", ts(*q.From))
	}
	if q.To != nil {
		add("at <= ?", ts(*q.To))
	}
	if q.AfterSeq > 0 {
		add("seq > ?", q.AfterSeq)
	}
	order := "seq"
	if q.Newest {
		order = "seq DESC"
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	query := `SELECT ` + bspEventColumns + ` FROM bsp_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + order + ` LIMIT ?`
	rows, err := db.read.QueryContext(ctx, query, append(args, q.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BSPEvent
	for rows.Next() {
		var e BSPEvent
		var at string
		if err := rows.Scan(&e.Seq, &e.Scope, &e.Service, &e.ID, &e.Type, &e.Source, &e.CorrelationID, &at, &e.Envelope, &e.Flag); err != nil {
			return nil, err
		}
		e.At, _ = time.Parse(TimeFormat, at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// BSPEventSeq finds the sequence number of an event id in one service's log; ErrNotFound when
// it is not (or no longer) there.
func (db *DB) BSPEventSeq(ctx context.Context, scope, service, id string) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT seq FROM bsp_events WHERE id = ? AND scope = ? AND service = ? ORDER BY seq DESC LIMIT 1`, id, scope, service).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return seq, err
}

// BSPCommand is an accepted command.
type BSPCommand struct {
	Seq            int64
	Scope, Service string
	Principal      string
	ID             string
	Fingerprint    string
	Type           string
	Handler        string
	Outcome        string // success, failure
	Status         string // queued, processed
	Envelope       string
	At             time.Time
}

const bspCommandColumns = `seq, scope, service, principal, id, fingerprint, type, handler, outcome, status, envelope, at`

func scanBSPCommands(rows *sql.Rows, err error) ([]BSPCommand, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BSPCommand
	for rows.Next() {
		var c BSPCommand
		var at string
		if err := rows.Scan(&c.Seq, &c.Scope, &c.Service, &c.Principal, &c.ID, &c.Fingerprint, &c.Type, &c.Handler, &c.Outcome, &c.Status, &c.Envelope, &at); err != nil {
			return nil, err
		}
		c.At, _ = time.Parse(TimeFormat, at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// BSPCommandByID finds a command by its idempotency key (scope, principal, id) recorded at or
// after since; ErrNotFound otherwise.
func (tx *Tx) BSPCommandByID(ctx context.Context, scope, principal, id string, since time.Time) (BSPCommand, error) {
	list, err := scanBSPCommands(tx.QueryContext(ctx, `SELECT `+bspCommandColumns+` FROM bsp_commands WHERE scope = ? AND principal = ? AND id = ? AND at >= ?`,
		scope, principal, id, ts(since)))
	if err != nil {
		return BSPCommand{}, err
	}
	if len(list) == 0 {
		return BSPCommand{}, ErrNotFound
	}
	return list[0], nil
}

// PutBSPCommand records a command, replacing an expired record with the same key.
func (tx *Tx) PutBSPCommand(ctx context.Context, c BSPCommand) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO bsp_commands (scope, service, principal, id, fingerprint, type, handler, outcome, status, envelope, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, principal, id) DO UPDATE SET service = excluded.service, fingerprint = excluded.fingerprint, type = excluded.type,
		handler = excluded.handler, outcome = excluded.outcome, status = excluded.status, envelope = excluded.envelope, at = excluded.at`,
		c.Scope, c.Service, c.Principal, c.ID, c.Fingerprint, c.Type, c.Handler, c.Outcome, c.Status, c.Envelope, ts(c.At))
	if err == nil {
		tx.Changed("bsp_commands", c.ID, "insert")
	}
	return err
}

// QueuedBSPCommands lists the commands of one service still waiting for their handler, in
// arrival order.
func (tx *Tx) QueuedBSPCommands(ctx context.Context, scope, service string) ([]BSPCommand, error) {
	return scanBSPCommands(tx.QueryContext(ctx, `SELECT `+bspCommandColumns+` FROM bsp_commands WHERE scope = ? AND service = ? AND status = 'queued' ORDER BY seq`, scope, service))
}

// MarkBSPCommandProcessed records that a queued command ran.
func (tx *Tx) MarkBSPCommandProcessed(ctx context.Context, seq int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE bsp_commands SET status = 'processed' WHERE seq = ?`, seq)
	return err
}

// ForgetBSPCommands drops processed commands recorded before the idempotency window.
func (tx *Tx) ForgetBSPCommands(ctx context.Context, before time.Time) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM bsp_commands WHERE status = 'processed' AND at < ?`, ts(before))
	return err
}

// RecentBSPCommands lists the newest commands of every scope (the UI).
func (db *DB) RecentBSPCommands(ctx context.Context, limit int) ([]BSPCommand, error) {
	return scanBSPCommands(db.read.QueryContext(ctx, `SELECT `+bspCommandColumns+` FROM bsp_commands ORDER BY seq DESC LIMIT ?`, limit))
}

// BSPSubscription is a webhook registered through POST /subscriptions.
type BSPSubscription struct {
	ID, Scope, Service, Principal, ServiceID, URL, Secret string
	Types                                                 string // JSON array, sorted
	CreatedAt                                             time.Time
}

// PutBSPSubscription stores a new subscription.
func (tx *Tx) PutBSPSubscription(ctx context.Context, s BSPSubscription) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO bsp_subscriptions (id, scope, service, principal, service_id, url, secret, types, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Scope, s.Service, s.Principal, s.ServiceID, s.URL, s.Secret, s.Types, ts(s.CreatedAt))
	if err == nil {
		tx.Changed("bsp_subscriptions", s.ID, "insert")
	}
	return err
}

// DeleteBSPSubscriptions removes subscriptions by id, or every subscription of a registry
// service id when byServiceID is set; it reports how many went.
func (tx *Tx) DeleteBSPSubscriptions(ctx context.Context, scope, service, key string, byServiceID bool) (int64, error) {
	col := "id"
	if byServiceID {
		col = "service_id"
	}
	r, err := tx.ExecContext(ctx, `DELETE FROM bsp_subscriptions WHERE scope = ? AND service = ? AND `+col+` = ?`, scope, service, key)
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	if n > 0 {
		tx.Changed("bsp_subscriptions", key, "delete")
	}
	return n, nil
}

// BSPSubscriptions lists one service's subscriptions (every service's when service is "*").
func (tx *Tx) BSPSubscriptions(ctx context.Context, scope, service string) ([]BSPSubscription, error) {
	return scanBSPSubscriptions(tx.QueryContext(ctx, `SELECT id, scope, service, principal, service_id, url, secret, types, created_at
		FROM bsp_subscriptions WHERE scope = ? AND (service = ? OR ? = '*') ORDER BY created_at, id`, scope, service, service))
}

// BSPSubscription reads one subscription; ErrNotFound when there is none.
func (db *DB) BSPSubscription(ctx context.Context, id string) (BSPSubscription, error) {
	list, err := scanBSPSubscriptions(db.read.QueryContext(ctx, `SELECT id, scope, service, principal, service_id, url, secret, types, created_at
		FROM bsp_subscriptions WHERE id = ?`, id))
	if err != nil {
		return BSPSubscription{}, err
	}
	if len(list) == 0 {
		return BSPSubscription{}, ErrNotFound
	}
	return list[0], nil
}

func scanBSPSubscriptions(rows *sql.Rows, err error) ([]BSPSubscription, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BSPSubscription
	for rows.Next() {
		var s BSPSubscription
		var at string
		if err := rows.Scan(&s.ID, &s.Scope, &s.Service, &s.Principal, &s.ServiceID, &s.URL, &s.Secret, &s.Types, &at); err != nil {
			return nil, err
		}
		s.CreatedAt, _ = time.Parse(TimeFormat, at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// BSPService is a descriptor's live registry record (0.6).
type BSPService struct {
	Scope, Service, ID string
	Descriptor         string // JSON when registered through the API, "" for a declared one
	Status             string
	BeforeError        string
	HeartbeatAt        *time.Time
	Deleted            bool
}

const bspServicesOf = `SELECT scope, service, id, descriptor, status, before_error, heartbeat_at, deleted
		FROM bsp_services WHERE scope = ? AND service = ? ORDER BY rowid`

// BSPServices lists the registry records of one service.
func (tx *Tx) BSPServices(ctx context.Context, scope, service string) ([]BSPService, error) {
	return scanBSPServices(tx.QueryContext(ctx, bspServicesOf, scope, service))
}

// BSPServices lists the registry records of one service outside a transaction.
func (db *DB) BSPServices(ctx context.Context, scope, service string) ([]BSPService, error) {
	return scanBSPServices(db.read.QueryContext(ctx, bspServicesOf, scope, service))
}

// AllBSPServices lists every registry record (the UI and the heartbeat timer).
func (db *DB) AllBSPServices(ctx context.Context) ([]BSPService, error) {
	return scanBSPServices(db.read.QueryContext(ctx, `SELECT scope, service, id, descriptor, status, before_error, heartbeat_at, deleted FROM bsp_services ORDER BY rowid`))
}

func scanBSPServices(rows *sql.Rows, err error) ([]BSPService, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BSPService
	for rows.Next() {
		var s BSPService
		var hb string
		if err := rows.Scan(&s.Scope, &s.Service, &s.ID, &s.Descriptor, &s.Status, &s.BeforeError, &hb, &s.Deleted); err != nil {
			return nil, err
		}
		if hb != "" {
			t, _ := time.Parse(TimeFormat, hb)
			s.HeartbeatAt = &t
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutBSPService stores (replaces) a registry record.
func (tx *Tx) PutBSPService(ctx context.Context, s BSPService) error {
	hb := ""
	if s.HeartbeatAt != nil {
		hb = ts(*s.HeartbeatAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO bsp_services (scope, service, id, descriptor, status, before_error, heartbeat_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, service, id) DO UPDATE SET descriptor = excluded.descriptor, status = excluded.status, before_error = excluded.before_error,
		heartbeat_at = excluded.heartbeat_at, deleted = excluded.deleted`,
		s.Scope, s.Service, s.ID, s.Descriptor, s.Status, s.BeforeError, hb, s.Deleted)
	if err == nil {
		tx.Changed("bsp_services", s.ID, "update")
	}
	return err
}

// DeleteBSPService forgets a registry record.
func (tx *Tx) DeleteBSPService(ctx context.Context, scope, service, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM bsp_services WHERE scope = ? AND service = ? AND id = ?`, scope, service, id)
	if err == nil {
		tx.Changed("bsp_services", id, "delete")
	}
	return err
}

// BSPEventsNewest is the newest event's sequence number, 0 for an empty log.
func (db *DB) BSPEventsNewest(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MAX(seq) FROM bsp_events`).Scan(&seq)
	return seq.Int64, err
}
