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
	var c ClockState
	var offset int64
	var frozen sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT offset_ns, frozen_at_ns FROM clock WHERE id = 1`).Scan(&offset, &frozen)
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
