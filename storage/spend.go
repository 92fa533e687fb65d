package storage

import (
	"context"
	"strings"
	"time"
)

// RecentBudgetAlerts lists up to limit budget.threshold_reached and budget.exceeded events,
// newest first (the type list is literal so that SQLite uses the partial index on them).
func (db *DB) RecentBudgetAlerts(ctx context.Context, limit int) ([]Event, error) {
	return collectEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE type IN ('budget.threshold_reached', 'budget.exceeded') ORDER BY seq DESC LIMIT ?`, limit))
}

// RefusedProvisions lists up to limit logged provisioning requests a provider answered 402 or
// 403 (budgets, caps, payment, trust), newest first, with their response bodies.
func (db *DB) RefusedProvisions(ctx context.Context, limit int) ([]Request, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT r.id, r.at, r.provider, r.path, r.status, r.agent, r.request_id, r.response_body
		FROM requests r WHERE r.method = 'POST' AND r.status IN (402, 403) AND r.protocol = 'osp' AND r.path LIKE '%/provision%'
		ORDER BY r.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		var at string
		if err := rows.Scan(&r.ID, &at, &r.Provider, &r.Path, &r.Status, &r.Agent, &r.RequestID, &r.ResponseBody); err != nil {
			return nil, err
		}
		r.At, _ = time.Parse(TimeFormat, at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// EventFilter narrows the event log; zero fields match everything.
type EventFilter struct {
	Provider   string
	Type       string // a type, or a prefix ending in "." ("budget.")
	ResourceID string
	Before     int64 // only events committed before this seq (keyset paging); 0 for the newest
}

// FilterEvents lists up to limit events matching f, newest first.
func (db *DB) FilterEvents(ctx context.Context, f EventFilter, limit int) ([]Event, error) {
	where, args := []string{"1=1"}, []any{}
	if f.Provider != "" {
		where, args = append(where, "provider = ?"), append(args, f.Provider)
	}
	if strings.HasSuffix(f.Type, ".") {
		where, args = append(where, "type >= ? AND type < ?"), append(args, f.Type, f.Type[:len(f.Type)-1]+"/")
	} else if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if f.ResourceID != "" {
		where, args = append(where, "resource_id = ?"), append(args, f.ResourceID)
	}
	if f.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Before)
	}
	args = append(args, limit)
	return collectEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT ?`, args...))
}

// EventTypes lists the distinct event types recorded, for the filter menu.
func (db *DB) EventTypes(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT type FROM events ORDER BY type`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
