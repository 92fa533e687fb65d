package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dump renders every table's rows, so two states can be compared.
func dump(t *testing.T, db *DB) string {
	t.Helper()
	var b strings.Builder
	tables, _ := db.read.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name`)
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		rows, err := db.read.Query(`SELECT * FROM "` + n + `" ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			b.WriteString(n)
			for _, v := range vals {
				b.WriteString("|")
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				b.WriteString(strings.ReplaceAll(fmt.Sprint(v), "\n", " "))
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

func seedRows(t *testing.T, db *DB, n int, path string) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		id := path + "-" + strconv.Itoa(i)
		if err := db.Update(ctx, func(tx *Tx) error {
			if err := tx.PutResource(ctx, Resource{ID: id, Provider: "acmedb", OfferingID: "acmedb/redis", TierID: "free", ProjectID: "proj_x",
				Status: "provisioned", CreatedAt: now, UpdatedAt: now, Data: []byte(`{}`)}); err != nil {
				return err
			}
			return tx.PostCharge(ctx, Charge{ResourceID: id, ProjectID: "proj_x", Provider: "acmedb", Kind: "base", Amount: "5.00", Currency: "USD", At: now})
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.RecordRequests(ctx, []Request{{At: now, Protocol: "osp", Method: "GET", Path: path, Status: 200, RequestHeaders: `{"A":["b"]}`}})
}

func TestExportThenImportRestoresTheSameState(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedRows(t, db, 3, "/first")
	want := dump(t, db)
	file := filepath.Join(t.TempDir(), "export.db")
	if err := db.ExportTo(ctx, file); err != nil {
		t.Fatal(err)
	}
	seedRows(t, db, 5, "/later") // the state moves on…
	if dump(t, db) == want {
		t.Fatal("the state did not change")
	}
	if err := db.ImportFrom(ctx, file); err != nil { // …and comes back
		t.Fatal(err)
	}
	if got := dump(t, db); got != want {
		t.Errorf("after import:\n%s\nwant:\n%s", got, want)
	}
	// The imported state keeps working: ids continue after the imported ones.
	seedRows(t, db, 1, "/after")
	if c, _ := db.Counts(ctx); c.Resources != 4 {
		t.Errorf("resources after import and one more: %d", c.Resources)
	}
	if v, _ := db.IntegrityCheck(ctx); v != "ok" {
		t.Errorf("integrity: %s", v)
	}
}

func TestResetEmptiesTheState(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedRows(t, db, 2, "/x")
	if err := db.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Counts(ctx); c != (Counts{}) {
		t.Errorf("counts after reset: %+v", c)
	}
	seedRows(t, db, 1, "/y")
	if c, _ := db.Counts(ctx); c.Resources != 1 {
		t.Errorf("after reset and one more: %+v", c)
	}
}

func TestImportRefusesWhatIsNotAState(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedRows(t, db, 2, "/kept")
	before := dump(t, db)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, this is not a database at all"), 0o644)
	other := filepath.Join(dir, "other.db")
	raw, _ := sql.Open("sqlite", other)
	raw.Exec(`CREATE TABLE things (a)`)
	raw.Close()
	newer := filepath.Join(dir, "newer.db")
	db.ExportTo(ctx, newer)
	raw, _ = sql.Open("sqlite", newer)
	raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 'x')`)
	raw.Close()
	for name, path := range map[string]string{"text": text, "other SQLite": other, "missing": filepath.Join(dir, "nope.db")} {
		if err := db.ImportFrom(ctx, path); err == nil || (name != "missing" && !errors.Is(err, ErrNotState)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := db.ImportFrom(ctx, newer); err == nil || !strings.Contains(err.Error(), "newer ospbox") {
		t.Errorf("newer schema: %v", err)
	}
	if dump(t, db) != before {
		t.Error("a refused import changed the state")
	}
}

func TestViewReadsASnapshotAndRefusesWrites(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedRows(t, db, 2, "/v")
	err := db.View(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources`).Scan(&n); err != nil || n != 2 {
			t.Errorf("count in view: %d %v", n, err)
		}
		seedRows(t, db, 1, "/w") // committed by the writer meanwhile
		tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources`).Scan(&n)
		if n != 2 {
			t.Errorf("the view saw a later commit: %d", n)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM resources`); err == nil {
			t.Error("a write inside a view succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Counts(ctx); c.Resources != 3 {
		t.Errorf("resources after the view: %d", c.Resources)
	}
}

func TestChargesAreWholeCents(t *testing.T) {
	for in, want := range map[string]int64{"25.00": 2500, "5": 500, "-12.5": -1250, "0.01": 1} {
		if got, err := CentsOf(in); err != nil || got != want {
			t.Errorf("CentsOf(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"0.125", "1e3", "abc", "1/3", ""} {
		if _, err := CentsOf(bad); err == nil {
			t.Errorf("CentsOf(%q) accepted", bad)
		}
	}
}
