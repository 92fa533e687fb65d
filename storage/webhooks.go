package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Webhook is a resource's webhook registration.
type Webhook struct {
	ResourceID, ID, URL, Events, Secret string
	CreatedAt                           time.Time
}

// Delivery is one event on its way to a webhook.
type Delivery struct {
	ID         int64
	EventID    string
	ResourceID string
	URL        string
	Body       []byte
	Attempts   int
	Status     string
	NextAt     time.Time
	LastStatus int
	LastError  string
}

// PutWebhook stores (replaces) a resource's webhook.
func (tx *Tx) PutWebhook(ctx context.Context, w Webhook) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (resource_id, id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (resource_id) DO UPDATE SET id = excluded.id, url = excluded.url, events = excluded.events, secret = excluded.secret`,
		w.ResourceID, w.ID, w.URL, w.Events, w.Secret, ts(w.CreatedAt))
	return err
}

// Webhook reads a resource's webhook; ErrNotFound when it has none.
func (tx *Tx) Webhook(ctx context.Context, resourceID string) (Webhook, error) {
	var w Webhook
	var at string
	err := tx.QueryRowContext(ctx, `SELECT resource_id, id, url, events, secret, created_at FROM webhooks WHERE resource_id = ?`, resourceID).
		Scan(&w.ResourceID, &w.ID, &w.URL, &w.Events, &w.Secret, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrNotFound
	}
	w.CreatedAt, _ = time.Parse(TimeFormat, at)
	return w, err
}

// DeleteWebhook removes a resource's webhook.
func (tx *Tx) DeleteWebhook(ctx context.Context, resourceID string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE resource_id = ?`, resourceID)
	return err
}

// QueueDelivery records an event to deliver, due at once.
func (tx *Tx) QueueDelivery(ctx context.Context, d Delivery) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (event_id, resource_id, url, body, status, next_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
		d.EventID, d.ResourceID, d.URL, d.Body, ts(d.NextAt), ts(d.NextAt))
	if err == nil {
		tx.Changed("deliveries", d.EventID, "insert")
	}
	return err
}

// DueDeliveries lists pending deliveries due by now, oldest first.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	return collectDeliveries(db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`, ts(now), limit))
}

// RecordAttempt stores the outcome of one delivery attempt.
func (db *DB) RecordAttempt(ctx context.Context, d Delivery, now time.Time) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE deliveries SET attempts = ?, status = ?, next_at = ?, last_status = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			d.Attempts, d.Status, ts(d.NextAt), d.LastStatus, d.LastError, ts(now), d.ID)
		if err == nil {
			tx.Changed("deliveries", d.EventID, "update")
		}
		return err
	})
}

// DeliveriesOf lists a resource's deliveries.
func (db *DB) DeliveriesOf(ctx context.Context, resourceID string) ([]Delivery, error) {
	return collectDeliveries(db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE resource_id = ? ORDER BY id`, resourceID))
}

// RecentDeliveries lists up to limit webhook deliveries, newest first.
func (db *DB) RecentDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	return collectDeliveries(db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries ORDER BY id DESC LIMIT ?`, limit))
}

const deliveryColumns = `id, event_id, resource_id, url, body, attempts, status, next_at, COALESCE(last_status, 0), COALESCE(last_error, '')`

func collectDeliveries(rows *sql.Rows, err error) ([]Delivery, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var next string
		if err := rows.Scan(&d.ID, &d.EventID, &d.ResourceID, &d.URL, &d.Body, &d.Attempts, &d.Status, &next, &d.LastStatus, &d.LastError); err != nil {
			return nil, err
		}
		d.NextAt, _ = time.Parse(TimeFormat, next)
		out = append(out, d)
	}
	return out, rows.Err()
}
