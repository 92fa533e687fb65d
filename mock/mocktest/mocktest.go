// Package mocktest starts an ospbox sandbox for tests of the packages that drive one from
// outside: the UI, the demo agent, the checker, and the protocol packages' own external tests
// (package osp_test, bsp_test, oap_test), which check their engine through the whole host,
// and ospboxtest, the helper agent developers use in theirs.
//
// It may import the host (mock), manifests, storage and agenttest.
package mocktest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Sandbox is a running workspace, served over loopback HTTP at URL.
type Sandbox struct {
	Dir string
	DB  *storage.DB
	URL string
	*mock.Sandbox
}

// New seeds a temporary workspace from the samples, opens its state and starts the sandbox;
// everything closes when the test ends.
func New(t testing.TB) *Sandbox { return NewWith(t, nil) }

// NewWith is New with files (workspace-relative path → content) written over the samples; an
// empty content removes the sample file.
func NewWith(t testing.TB, files map[string]string) *Sandbox {
	t.Helper()
	dir := t.TempDir()
	if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if body == "" {
			os.Remove(p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Open(t, dir)
}

// Open starts the sandbox on the workspace in dir.
func Open(t testing.TB, dir string) *Sandbox {
	t.Helper()
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
	srv := httptest.NewUnstartedServer(sb)
	srv.Listener = kernel.OneWrite(srv.Config, srv.Listener) // the app's connections
	srv.Start()
	t.Cleanup(srv.Close)
	return &Sandbox{Dir: dir, DB: db, URL: srv.URL, Sandbox: sb}
}

// Fetch sends method URL+path as an agent would and returns the response and its body.
func (s *Sandbox) Fetch(t testing.TB, method, path string, hdr map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	return agenttest.Do(t, method, s.URL+path, hdr, body)
}
