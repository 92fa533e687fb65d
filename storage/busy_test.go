package storage

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestIsBusyKnowsALockedDatabase: a write that meets another connection's lock is recognised,
// so the engines answer it as a passing condition (503), never as a failure (500).
func TestIsBusyKnowsALockedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder, _ := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	other, _ := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	defer holder.Close()
	defer other.Close()
	conn, err := holder.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	_, err = other.Exec("CREATE TABLE t (x)")
	if err == nil || !IsBusy(err) {
		t.Errorf("a write under another connection's exclusive lock: %v, IsBusy %v", err, IsBusy(err))
	}
	if IsBusy(errors.New("no such table: x")) || IsBusy(nil) {
		t.Error("IsBusy for errors that are not a lock")
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
}
