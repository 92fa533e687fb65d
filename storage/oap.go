package storage

import (
	"context"
	"database/sql"
	"errors"
)

// OAPEntry is one row of the OAP logs.
type OAPEntry struct {
	Kind string // event, command, trace
	Doc  string // JSON
}

// OAPLogLimit is how many entries of each kind the OAP logs keep.
const OAPLogLimit = 1000

// LoadOAP reads the OAP simulation's state document ("" when there is none) and its logs, oldest
// first.
func (db *DB) LoadOAP(ctx context.Context) (string, []OAPEntry, error) {
	var doc string
	err := db.read.QueryRowContext(ctx, `SELECT doc FROM oap_state WHERE id = 1`).Scan(&doc)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT kind, doc FROM oap_log ORDER BY seq`)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	var log []OAPEntry
	for rows.Next() {
		var e OAPEntry
		if err := rows.Scan(&e.Kind, &e.Doc); err != nil {
			return "", nil, err
		}
		log = append(log, e)
	}
	return doc, log, rows.Err()
}

// SaveOAP stores the state document and appends entries to the logs, trimming each kind to its
// newest OAPLogLimit, in one transaction.
func (db *DB) SaveOAP(ctx context.Context, doc string, entries []OAPEntry) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO oap_state (id, doc) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, doc); err != nil {
			return err
		}
		kinds := map[string]bool{}
		for _, e := range entries {
			kinds[e.Kind] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO oap_log (kind, doc) VALUES (?, ?)`, e.Kind, e.Doc); err != nil {
				return err
			}
		}
		for kind := range kinds {
			if _, err := tx.ExecContext(ctx, `DELETE FROM oap_log WHERE kind = ? AND seq <= (SELECT seq FROM oap_log WHERE kind = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
				kind, kind, OAPLogLimit); err != nil {
				return err
			}
		}
		tx.Changed("oap", "", "update")
		return nil
	})
}
