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
	rows, err := db.read.QueryContext(ctx, fullRequestQuery+` WHERE `+strings.Join(where, " AND ")+` ORDER BY r.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanFullRequest(rows)
		if err != nil {
			return nil, err
		}
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
