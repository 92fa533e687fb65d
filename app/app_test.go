package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHostGuardRefusesNonLoopbackHosts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h := hostGuard(ok, "127.0.0.1:7410")
	for host, want := range map[string]int{
		"127.0.0.1:7410": 204, "localhost:7410": 204, "[::1]:7410": 204, "acmedb.localhost:7410": 204, "127.0.0.2": 204,
		"[::ffff:127.0.0.1]:7410": 204, "[fe80::1%lo]:7410": 403, "0.0.0.0:7410": 403, "[::]:7410": 403,
		"evil.example": 403, "evil.example:7410": 403, "localhost.evil.example": 403, "192.168.1.5:7410": 403, "": 403,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/.well-known/osp.json", nil)
		req.Host = host
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
		if want == 403 && !strings.Contains(rec.Body.String(), `"forbidden_host"`) {
			t.Errorf("Host %q: body %s", host, rec.Body)
		}
	}
	lan := hostGuard(ok, "192.168.1.5:7410")
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "192.168.1.5:7410"
	rec := httptest.NewRecorder()
	lan.ServeHTTP(rec, req)
	if rec.Code != 204 {
		t.Errorf("configured host refused: %d", rec.Code)
	}
}

// The host sends clean paths outside /ui straight to the mock and everything else through the
// mux: an unclean path is still redirected as net/http does, and /ui stays the UI's.
func TestHandlerDispatch(t *testing.T) {
	a := startTestApp(t)
	defer a.Shutdown(context.Background())
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/.well-known/osp.json":                     "200",
		"/providers/acmedb/.well-known/osp.json":    "200",
		"/providers/acmedb//.well-known/osp.json":   "307 /providers/acmedb/.well-known/osp.json",
		"/providers/acmedb/../acmedb/osp/v1/health": "307 /providers/acmedb/osp/v1/health",
		"/ui":  "301 /ui/",
		"/ui/": "401",
	} {
		req, _ := http.NewRequest("GET", a.URL+path, nil)
		req.URL.Opaque = path // keep the path as written: the client would clean it
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := strconv.Itoa(resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" {
			got += " " + loc
		}
		if got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	for p, clean := range map[string]bool{"/": true, "/a/b": true, "/a/b/": true, "": false, "a": false, "/a//b": false, "/a/./b": false, "/a/..": false, "/a//": false} {
		if isCleanPath(p) != clean {
			t.Errorf("isCleanPath(%q) = %v", p, !clean)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr, configured string
		ok               bool
	}{
		{"127.0.0.1:7410", "127.0.0.1:7410", true},
		{"localhost:0", "127.0.0.1:7410", true},
		{"[::1]:7410", "127.0.0.1:7410", true},
		{"0.0.0.0:7410", "127.0.0.1:7410", false},
		{":7410", "127.0.0.1:7410", false},
		{"192.168.1.5:7410", "127.0.0.1:7410", false},
		{"0.0.0.0:7410", "0.0.0.0:7410", true},
	} {
		if err := checkLoopback(tt.addr, tt.configured); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q, %q) = %v", tt.addr, tt.configured, err)
		}
	}
}

func startTestApp(t *testing.T) *App {
	t.Helper()
	a, err := Start(context.Background(), Config{Workspace: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStartServesTheSampleWorkspaceAndShutsDownCleanly(t *testing.T) {
	a := startTestApp(t)
	if !a.Seeded {
		t.Error("an empty folder should be seeded")
	}
	resp, err := http.Get(a.URL + "/.well-known/osp.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"osp_base_url": "`+a.URL+`/osp/v1"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, _ = http.Get(a.URL + "/ui/")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("UI without token: %d", resp.StatusCode)
	}
	banner := a.Banner(BuildInfo{Version: "test"})
	if !strings.Contains(banner, a.UIURL()) || !strings.Contains(banner, "acmedb (default") {
		t.Errorf("banner %s", banner)
	}
	// Hold an event stream open: shutdown must end it rather than wait for it.
	req, _ := http.NewRequest("GET", a.URL+"/ui/events", nil)
	req.Header.Set("X-Ospbox-Token", a.Token)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("event stream: %v", err)
	}
	defer stream.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := os.Stat(a.Workspace.StatePath() + "-wal"); err == nil {
		if st, _ := os.Stat(a.Workspace.StatePath() + "-wal"); st.Size() > 0 {
			t.Error("WAL not checkpointed at shutdown")
		}
	}
}

func TestDesktopHandlerSuppliesTheToken(t *testing.T) {
	a := startTestApp(t)
	defer a.Shutdown(context.Background())
	h := a.DesktopHandler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte("<title>Overview")) {
		t.Errorf("start page must be the Overview itself (no redirect): %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/ui/", nil)
	req.Header.Set("Origin", "wails://wails")
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte("AcmeDB")) {
		t.Errorf("window Overview: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/osp.json", nil))
	if rec.Code != 404 {
		t.Errorf("window must only serve the UI: %d", rec.Code)
	}
}

func TestStartRefusesABrokenConfigAndABusyPort(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ospbox.json"), []byte(`{"listen": }`), 0o644)
	if _, err := Start(context.Background(), Config{Workspace: dir, Addr: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "ospbox.json:1:") {
		t.Errorf("broken config: %v", err)
	}
	a := startTestApp(t)
	defer a.Shutdown(context.Background())
	_, err := Start(context.Background(), Config{Workspace: t.TempDir(), Addr: strings.TrimPrefix(a.URL, "http://")})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("busy port: %v", err)
	}
}

func TestRunDesktopFallsBackWithoutTagsOrDisplay(t *testing.T) {
	if desktopBuild && HasDisplay() {
		t.Skip("desktop build with a display: covered by the Xvfb smoke test")
	}
	err := RunDesktop(context.Background(), Config{Workspace: t.TempDir(), Addr: "127.0.0.1:0"})
	if !errors.Is(err, ErrNoDesktop) {
		t.Errorf("want ErrNoDesktop, got %v", err)
	}
}

func TestEditsOnDiskAreServedLiveAndBrokenEditsKeepTheLastGood(t *testing.T) {
	a := startTestApp(t)
	defer a.Shutdown(context.Background())
	changes, cancel := a.DB.Feed.Subscribe()
	defer cancel()
	get := func() string {
		resp, err := http.Get(a.URL + "/providers/skyhost/.well-known/osp.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	awaitReload := func(check func() bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for !check() {
			select {
			case <-changes:
			case <-deadline:
				t.Fatal("the edit was not picked up")
			}
		}
	}
	path := filepath.Join(a.Workspace.Dir, "providers", "skyhost", "osp.json")
	good, _ := os.ReadFile(path)
	before := get()

	// Break it the way an editor would: atomic save of invalid JSON.
	tmp := path + ".tmp"
	os.WriteFile(tmp, []byte(strings.Replace(string(good), `"Team"`, `"Team",,`, 1)), 0o644)
	os.Rename(tmp, path)
	awaitReload(func() bool { return !a.Sandbox.Snapshot().Provider("skyhost").Report.Valid })
	p := a.Sandbox.Snapshot().Provider("skyhost")
	if e := p.Report.Errors[0]; e.Rule != "json_syntax" || e.Line == 0 {
		t.Errorf("diagnostic %+v", e)
	}
	if get() != before {
		t.Error("a broken edit must not change what is served")
	}

	// Fix it with new content: served at once, as the next version.
	os.WriteFile(path, []byte(strings.Replace(string(good), `"Team"`, `"Team Plus"`, 1)), 0o644)
	awaitReload(func() bool { return a.Sandbox.Snapshot().Provider("skyhost").Report.Valid })
	after := get()
	if !strings.Contains(after, `"Team Plus"`) || !strings.Contains(after, `"manifest_version": 2`) {
		t.Errorf("fixed manifest not served as version 2:\n%.400s", after)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestASecondProcessOnTheWorkspaceIsRefused: a workspace is served by one process; a second
// start names the first and fails with ErrWorkspaceInUse (exit 2 at the CLI), and once the first
// shuts down the workspace can be served again.
func TestASecondProcessOnTheWorkspaceIsRefused(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(t.Context(), Config{Workspace: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(t.Context(), Config{Workspace: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrWorkspaceInUse) || !strings.Contains(err.Error(), first.URL) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second start: %v, want ErrWorkspaceInUse naming %s", err, first.URL)
	}
	if err := first.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := Start(t.Context(), Config{Workspace: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	again.Shutdown(t.Context())
}
