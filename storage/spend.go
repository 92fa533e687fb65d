package storage

import (
	"context"
	"strings"
	"time"
)

// RecentEventsOfTypes lists up to limit events of the given types, newest first.
func (db *DB) RecentEventsOfTypes(ctx context.Context, types []string, limit int) ([]Event, error) {
	if len(types) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(types)+1)
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, limit)
	return collectEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE type IN (?`+strings.Repeat(", ?", len(types)-1)+`) ORDER BY seq DESC LIMIT ?`, args...))
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
