package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ClockState is the stored workspace clock: its offset from wall-clock time, or, frozen, the
// instant it stands at.
type ClockState struct {
	Offset   time.Duration
	FrozenAt *time.Time
}

// SaveClock stores the workspace clock.
func (db *DB) SaveClock(ctx context.Context, c ClockState) error {
	var frozen any
	if c.FrozenAt != nil {
		frozen = c.FrozenAt.UnixNano()
	}
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clock (id, offset_ns, frozen_at_ns) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET offset_ns = excluded.offset_ns, frozen_at_ns = excluded.frozen_at_ns`, int64(c.Offset), frozen)
		return err
	})
}

// LoadClock reads the stored workspace clock; the zero state (wall-clock time) when none is.
func (db *DB) LoadClock(ctx context.Context) (ClockState, error) {
	return scanClock(db.read.QueryRowContext(ctx, clockQuery))
}

const clockQuery = `SELECT offset_ns, frozen_at_ns FROM clock WHERE id = 1`

// scanClock reads clockQuery's row; no row is the zero state (wall-clock time).
func scanClock(row *sql.Row) (ClockState, error) {
	var c ClockState
	var offset int64
	var frozen sql.NullInt64
	err := row.Scan(&offset, &frozen)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	c.Offset = time.Duration(offset)
	if frozen.Valid {
		t := time.Unix(0, frozen.Int64).UTC()
		c.FrozenAt = &t
	}
	return c, nil
}

// ResetClockFile sets the clock stored in the state file at path (not open elsewhere) to
// wall-clock time, and marks the workspace's scenario files as not yet loaded into it: a
// namespace made from the seed starts at real time, with the files' rules, without being opened.
func ResetClockFile(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'clock'`).Scan(&n); err != nil || n == 0 {
		return err // a state from before migration 0016 has no clock: it runs at real time
	}
	if _, err = conn.ExecContext(ctx, `DELETE FROM clock`); err != nil {
		return err
	}
	// A fresh state takes the workspace's scenario files when it first opens (migration 0017).
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'scenario_files_loaded'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err = conn.ExecContext(ctx, `DELETE FROM scenario_files_loaded`)
	return err
}

// ReadStateFile reads the counts and the clock of the state file at path without opening it as
// a DB (no writer, no migrations, no pools): a namespace listed while idle stays closed.
func ReadStateFile(ctx context.Context, path string) (Counts, ClockState, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return Counts{}, ClockState{}, err
	}
	defer conn.Close()
	c, err := scanCounts(conn.QueryRowContext(ctx, countsQuery))
	if err != nil {
		return c, ClockState{}, err
	}
	clock, err := scanClock(conn.QueryRowContext(ctx, clockQuery))
	return c, clock, err
}
