package storage

import (
	"context"
	"strings"
	"time"
)

// JournalQuery narrows the request journal (spec/control.md §3); zero fields match everything.
type JournalQuery struct {
	Method, Provider, Protocol string
	Status                     int
	Since                      time.Time
}

// Journal returns up to limit logged requests matching q, newest first, each with its bodies and
// headers (redacted as they were logged).
func (db *DB) Journal(ctx context.Context, q JournalQuery, limit int) ([]Request, error) {
	where, args := []string{"1=1"}, []any{}
	for col, v := range map[string]string{"r.method": q.Method, "r.provider": q.Provider, "r.protocol": q.Protocol} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if q.Status != 0 {
		where, args = append(where, "r.status = ?"), append(args, q.Status)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "r.at >= ?"), append(args, ts(q.Since))
	}
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, `SELECT r.id, r.at, r.protocol, r.provider, r.method, r.path, r.status, r.latency_us,
			r.agent, r.request_id, r.request_body, COALESCE(b.body, r.response_body), r.response_ref,
			r.request_headers, r.response_headers, COALESCE(h.body, '')
		FROM requests r LEFT JOIN bodies b ON b.hash = r.response_ref AND r.response_ref <> ''
		LEFT JOIN bodies h ON h.hash = r.headers_ref AND r.headers_ref <> ''
		WHERE `+strings.Join(where, " AND ")+` ORDER BY r.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		var at, headers string
		var us int64
		if err := rows.Scan(&r.ID, &at, &r.Protocol, &r.Provider, &r.Method, &r.Path, &r.Status, &us, &r.Agent, &r.RequestID,
			&r.RequestBody, &r.ResponseBody, &r.ResponseRef, &r.RequestHeaders, &r.ResponseHeaders, &headers); err != nil {
			return nil, err
		}
		if headers != "" {
			r.RequestHeaders, r.ResponseHeaders = splitHeaders(headers)
		}
		r.ResponseHeaders = withRequestID(r.ResponseHeaders, r.RequestID)
		r.At, _ = time.Parse(TimeFormat, at)
		r.Latency = time.Duration(us) * time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClearJournal empties the request journal.
func (db *DB) ClearJournal(ctx context.Context) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM requests`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM bodies`)
		tx.Changed("requests", "", "delete")
		return err
	})
}
