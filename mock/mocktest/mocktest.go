// Package mocktest starts an ospbox sandbox on the built-in sample workspace for tests of the
// packages that drive one from outside (the UI, the demo agent, the checker).
package mocktest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/storage"
)

// Sandbox is a running sample workspace.
type Sandbox struct {
	Dir string
	DB  *storage.DB
	*mock.Sandbox
}

// New seeds a temporary workspace from the samples, opens its state and starts the sandbox;
// everything closes when the test ends.
func New(t testing.TB) *Sandbox { return NewWith(t, nil) }

// NewWith is New with files (workspace-relative path → content) written over the samples.
func NewWith(t testing.TB, files map[string]string) *Sandbox {
	t.Helper()
	dir := t.TempDir()
	if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := manifests.OpenWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(context.Background(), ws.StatePath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sb, err := mock.New(context.Background(), ws, db, mock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return &Sandbox{Dir: dir, DB: db, Sandbox: sb}
}
