package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The whole sandbox state moves as one file: an SQLite database in ospbox's schema, written
// with VACUUM INTO. Importing copies every table of such a file over the live state in one
// transaction, so readers see the old state or the new one, never a mix, and nothing needs to
// reopen the database.

// ExportTo writes a consistent copy of the whole state to path (which must not exist).
func (db *DB) ExportTo(ctx context.Context, path string) error {
	// The checkpointer's connection reads a consistent snapshot without holding up the writer
	// (reader connections are query_only, which VACUUM INTO refuses).
	_, err := db.ckpt.ExecContext(ctx, `VACUUM INTO ?`, path)
	return err
}

// ErrNotState is returned when a file to import is not an ospbox state file.
var ErrNotState = errors.New("not an ospbox state file")

// ImportFrom replaces the whole state with the state in the file at path, which is left as it
// was. The file is checked (an SQLite database with ospbox's schema that passes the integrity
// check) and brought to this build's schema on a private copy first.
func (db *DB) ImportFrom(ctx context.Context, path string) error {
	dir, err := os.MkdirTemp(filepath.Dir(db.path), "import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, "state.db")
	if err := checkStateFile(ctx, path, copyPath); err != nil {
		return err
	}
	migrated, err := Open(ctx, copyPath) // applies this build's migrations to the copy
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotState, err)
	}
	if err := migrated.Close(); err != nil {
		return err
	}
	return db.replaceWith(ctx, copyPath)
}

// Reset empties the state: every table as a new workspace has it.
func (db *DB) Reset(ctx context.Context) error {
	dir, err := os.MkdirTemp(filepath.Dir(db.path), "reset-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	empty, err := Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		return err
	}
	if err := empty.Close(); err != nil {
		return err
	}
	return db.replaceWith(ctx, filepath.Join(dir, "state.db"))
}

// checkStateFile verifies that src is an ospbox state file and copies it to dst.
func checkStateFile(ctx context.Context, src, dst string) error {
	head := make([]byte, 16)
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: it is not an SQLite database", ErrNotState)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(src)+"?mode=ro")
	if err != nil {
		return err
	}
	defer raw.Close()
	var verdict string
	if err := raw.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&verdict); err != nil || verdict != "ok" {
		return fmt.Errorf("%w: the database is damaged (%v %s)", ErrNotState, err, verdict)
	}
	var version int
	if err := raw.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil || version == 0 {
		return fmt.Errorf("%w: it has no ospbox schema", ErrNotState)
	}
	_, err = raw.ExecContext(ctx, `VACUUM INTO ?`, dst)
	return err
}

// replaceWith copies every table of the state file src (in this build's schema) over the live
// state in one transaction on the write connection.
func (db *DB) replaceWith(ctx context.Context, src string) error {
	err := db.exclusive(ctx, func(conn *sql.DB) error {
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, src); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`)
		rows, err := conn.QueryContext(ctx, `SELECT name FROM main.sqlite_master WHERE type = 'table'
			AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
		if err != nil {
			return err
		}
		var tables []string
		for rows.Next() {
			var t string
			rows.Scan(&t)
			tables = append(tables, t)
		}
		rows.Close()
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			return err
		}
		stmts := []string{`PRAGMA defer_foreign_keys = ON`}
		for _, t := range tables {
			q := `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
			stmts = append(stmts, `DELETE FROM main.`+q, `INSERT INTO main.`+q+` SELECT * FROM src.`+q)
		}
		stmts = append(stmts, `DELETE FROM main.sqlite_sequence`, `INSERT INTO main.sqlite_sequence SELECT * FROM src.sqlite_sequence`)
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
				return fmt.Errorf("replacing the state (%s): %w", q, err)
			}
		}
		_, err = conn.ExecContext(ctx, `COMMIT`)
		return err
	})
	if err == nil {
		db.Feed.Publish(Change{Table: "*", Kind: "replace"})
	}
	return err
}

// PrepareStateFile checks that src is an ospbox state file and writes it to dst in this
// build's schema (migrated, no WAL): what a snapshot import keeps. An unusable src is
// ErrNotState, and dst is not left behind.
func PrepareStateFile(ctx context.Context, src, dst string) error {
	if err := checkStateFile(ctx, src, dst); err != nil {
		os.Remove(dst)
		return err
	}
	migrated, err := Open(ctx, dst)
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("%w: %v", ErrNotState, err)
	}
	if err := migrated.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	return nil
}
