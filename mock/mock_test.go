package mock

import (
	"context"
	"encoding/json"
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

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

type fixture struct {
	sb  *Sandbox
	db  *storage.DB
	dir string
	srv *httptest.Server
	// writes counts the server's write calls; the server's connections are the app's
	// (kernel.OneWrite), so every test here goes over the same wire as the product.
	writes *agenttest.WriteCounter
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	return newFixtureIn(t, dir)
}

// newFixtureIn serves the workspace in dir.
func newFixtureIn(t testing.TB, dir string) *fixture {
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
	sb, err := New(context.Background(), ws, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	srv := httptest.NewUnstartedServer(sb)
	writes := agenttest.CountWrites(srv.Listener)
	srv.Listener = kernel.OneWrite(srv.Config, writes)
	srv.Start()
	t.Cleanup(srv.Close)
	return &fixture{sb: sb, db: db, dir: dir, srv: srv, writes: writes}
}

func (f *fixture) do(t *testing.T, method, path string, hdr map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	return agenttest.Do(t, method, f.srv.URL+path, hdr, body)
}

func decodeError(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Error == nil {
		t.Fatalf("not an OSP error envelope: %s", b)
	}
	for _, k := range []string{"code", "message", "retryable"} {
		if _, ok := env.Error[k]; !ok {
			t.Errorf("error envelope lacks %s: %s", k, b)
		}
	}
	return env.Error
}

// Discovery leaves in one write (kernel.WriteDocument): the 5.6 KB manifest overflows net/http's
// 4 KiB buffer, which would take two. HEAD and a 304 answer as before.
func TestDiscoveryIsOneWrite(t *testing.T) {
	f := newFixture(t)
	f.do(t, "GET", "/providers/acmedb/.well-known/osp.json", nil, nil) // the connection, kept alive
	before := f.writes.Writes()
	resp, body := f.do(t, "GET", "/providers/acmedb/.well-known/osp.json", nil, nil)
	if resp.StatusCode != 200 || len(body) < 5<<10 || strconv.Itoa(len(body)) != resp.Header.Get("Content-Length") {
		t.Fatalf("%d, %d bytes, Content-Length %s", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
	if got := f.writes.Writes() - before; got != 1 {
		t.Errorf("a %d-byte manifest took %d writes, want 1", len(body), got)
	}
	if resp, body := f.do(t, "HEAD", "/providers/acmedb/.well-known/osp.json", nil, nil); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = f.do(t, "GET", "/providers/acmedb/.well-known/osp.json", map[string]string{"If-None-Match": resp.Header.Get("Etag")}, nil)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	// BSP's and OAP's discovery are documents too: a length, not chunks, and one write.
	for _, path := range []string{"/.well-known/bsp.json", "/.well-known/oap"} {
		before := f.writes.Writes()
		resp, body := f.do(t, "GET", path, nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) || resp.Header.Get("Etag") == "" {
			t.Errorf("%s: %d, Content-Length %q for %d bytes, ETag %q", path, resp.StatusCode, resp.Header.Get("Content-Length"), len(body), resp.Header.Get("Etag"))
		}
		if got := f.writes.Writes() - before; got != 1 {
			t.Errorf("%s took %d writes", path, got)
		}
	}
}

func TestWellKnownIsServedAtEveryMount(t *testing.T) {
	f := newFixture(t)
	host := strings.TrimPrefix(f.srv.URL, "http://")
	tests := []struct {
		name, path, host, wantID, wantBase string
	}{
		{"root is the default provider", "/.well-known/osp.json", host, "acmedb.example", f.srv.URL + "/osp/v1"},
		{"explicit mount", "/providers/skyhost/.well-known/osp.json", host, "skyhost.example", f.srv.URL + "/providers/skyhost/osp/v1"},
		{"host routing", "/.well-known/osp.json", "skyhost.localhost:" + strings.Split(host, ":")[1], "skyhost.example", "http://skyhost.localhost:" + strings.Split(host, ":")[1] + "/osp/v1"},
	}
	for _, tt := range tests {
		resp, body := f.do(t, "GET", tt.path, map[string]string{"Host": tt.host}, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		doc, err := jsondoc.Parse(body)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := doc.Root.Str("provider_id"); got != tt.wantID {
			t.Errorf("%s: provider_id %s", tt.name, got)
		}
		if got := doc.Root.Str("osp_base_url"); got != tt.wantBase {
			t.Errorf("%s: osp_base_url %s, want %s", tt.name, got, tt.wantBase)
		}
		if strings.Contains(string(body), ".example/osp/v1") {
			t.Errorf("%s: production URL leaked into the served manifest", tt.name)
		}
		if err := manifests.VerifyManifest(doc.Root); err != nil {
			t.Errorf("%s: served manifest signature: %v", tt.name, err)
		}
		if resp.Header.Get("X-OSP-Version") != "1.0" || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: headers %v", tt.name, resp.Header)
		}
	}
}

func TestConditionalAndHeadRequests(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "GET", "/.well-known/osp.json", nil, nil)
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"1-`) || len(etag) != len(`"1-`)+16+1 {
		t.Fatalf("ETag %q", etag)
	}
	resp, b := f.do(t, "GET", "/.well-known/osp.json", map[string]string{"If-None-Match": etag}, nil)
	if resp.StatusCode != 304 || len(b) != 0 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	resp, b = f.do(t, "HEAD", "/.well-known/osp.json", nil, nil)
	if resp.StatusCode != 200 || len(b) != 0 || resp.Header.Get("Content-Length") != itoaTest(len(body)) {
		t.Errorf("HEAD: %d len %s", resp.StatusCode, resp.Header.Get("Content-Length"))
	}
	resp, b = f.do(t, "GET", "/.well-known/osp.v1.json", nil, nil)
	if resp.StatusCode != 200 || string(b) != string(body) {
		t.Errorf("osp.v1.json: %d", resp.StatusCode)
	}
	resp, b = f.do(t, "GET", "/.well-known/osp.json?endpoint_style=colon", nil, nil)
	if !strings.Contains(string(b), `/osp/v1/resources/:resource_id`) {
		t.Errorf("colon style not applied")
	}
}

func itoaTest(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestErrorsUseTheOSPEnvelope(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		body               io.Reader
		status             int
		code               string
	}{
		{"unknown path", "GET", "/nope", nil, nil, 404, "not_found"},
		{"unknown osp route", "GET", "/osp/v1/teapot", nil, nil, 404, "not_found"},
		{"unknown provider", "GET", "/providers/ghost/.well-known/osp.json", nil, nil, 404, "not_found"},
		{"wrong method", "POST", "/.well-known/osp.json", nil, strings.NewReader("{}"), 405, "method_not_allowed"},
		{"version", "GET", "/osp/v1/health", map[string]string{"X-OSP-Version": "9.0"}, nil, 406, "version_not_supported"},
		{"oversize body", "POST", "/osp/v1/provision", nil, strings.NewReader(strings.Repeat("x", kernel.MaxBodyBytes+1)), 413, "payload_too_large"},
		{"route ospbox does not implement", "POST", "/providers/acmedb/osp/v1/estimate", nil, strings.NewReader("{}"), 501, "not_implemented"},
		{"project route other than cost", "GET", "/providers/acmedb/osp/v1/projects/proj_x/members", nil, nil, 501, "not_implemented"},
		{"bad style", "GET", "/.well-known/osp.json?endpoint_style=curly", nil, nil, 400, "invalid_request"},
	}
	for _, tt := range tests {
		resp, body := f.do(t, tt.method, tt.path, tt.hdr, tt.body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
			continue
		}
		if e := decodeError(t, body); e["code"] != tt.code {
			t.Errorf("%s: code %v, want %s", tt.name, e["code"], tt.code)
		}
		if tt.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q", tt.name, resp.Header.Get("Allow"))
		}
	}
	if resp, body := f.do(t, "GET", "/osp/v1/health", map[string]string{"X-OSP-Version": "9.0", "X-OSP-Version-Min": "1.0"}, nil); resp.StatusCode != 200 || resp.Header.Get("X-OSP-Version") != "1.1" {
		t.Errorf("version min negotiation: %d %s %s", resp.StatusCode, resp.Header.Get("X-OSP-Version"), body)
	}
}

func TestBrokenEditKeepsServingTheLastGoodManifest(t *testing.T) {
	f := newFixture(t)
	_, before := f.do(t, "GET", "/providers/acmedb/.well-known/osp.json", nil, nil)
	path := filepath.Join(f.dir, "providers", "acmedb", "osp.json")
	good, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(good), `"25.00"`, `"25,00"`, 1)), 0o644)
	if err := f.sb.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := f.sb.Snapshot().Provider("acmedb")
	if p.Report.Valid || !p.Stale() || p.Report.Errors[0].Line == 0 {
		t.Fatalf("broken edit not reported with a position: %+v", p.Report.Errors)
	}
	resp, after := f.do(t, "GET", "/providers/acmedb/.well-known/osp.json", nil, nil)
	if resp.StatusCode != 200 || string(after) != string(before) {
		t.Errorf("last good manifest not served: %d", resp.StatusCode)
	}
	_, health := f.do(t, "GET", "/providers/acmedb/osp/v1/health", nil, nil)
	if !strings.Contains(string(health), `"degraded"`) {
		t.Errorf("health should say degraded: %s", health)
	}
	// A fixed edit with new content publishes version 2.
	os.WriteFile(path, []byte(strings.Replace(string(good), `"25.00"`, `"29.00"`, 1)), 0o644)
	f.sb.Reload(context.Background())
	_, fixed := f.do(t, "GET", "/providers/acmedb/.well-known/osp.json", nil, nil)
	doc, _ := jsondoc.Parse(fixed)
	if doc.Root.Get("manifest_version").Text != "2" || !strings.Contains(string(fixed), `"29.00"`) {
		t.Errorf("fixed manifest not served as version 2")
	}
}

func TestNeverValidProviderAnswers503(t *testing.T) {
	f := newFixture(t)
	os.MkdirAll(filepath.Join(f.dir, "providers", "broken"), 0o755)
	os.WriteFile(filepath.Join(f.dir, "providers", "broken", "osp.json"), []byte(`{"provider_name": }`), 0o644)
	f.sb.Reload(context.Background())
	resp, body := f.do(t, "GET", "/providers/broken/.well-known/osp.json", nil, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || decodeError(t, body)["code"] != "provider_unavailable" {
		t.Errorf("never-valid provider: %d %s", resp.StatusCode, body)
	}
}

func TestRequestsAreLoggedWithSecretsRedacted(t *testing.T) {
	f := newFixture(t)
	f.do(t, "POST", "/osp/v1/provision", map[string]string{"X-Request-Id": "trace-1", "Authorization": "Bearer osp_rat_topsecret", "X-Api-Key": "k_123"},
		strings.NewReader(`{"offering_id":"acmedb/postgres","tier_id":"free","api_key":"sk_live_123","config":{"db_url":"postgres://u:hunter2@h/db"}}`))
	f.sb.FlushRequestLog()
	reqs, err := f.db.RecentRequests(context.Background(), 5)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("requests %v %v", reqs, err)
	}
	r := reqs[0]
	if r.Provider != "acmedb" || r.Status != 202 || r.RequestID != "trace-1" || r.Method != "POST" {
		t.Errorf("logged %+v", r)
	}
	full, err := f.db.RequestByID(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if body := full.RequestBody; strings.Contains(body, "sk_live_123") || strings.Contains(body, "hunter2") || !strings.Contains(body, "acmedb/postgres") {
		t.Errorf("request body not redacted: %s", body)
	}
	if !strings.Contains(full.ResponseBody, `"resource_id"`) {
		t.Errorf("response body not logged: %s", full.ResponseBody)
	}
	var reqH, respH map[string][]string
	if err := json.Unmarshal([]byte(full.RequestHeaders), &reqH); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(full.ResponseHeaders), &respH)
	if got := reqH["Authorization"]; len(got) != 1 || got[0] != "Bearer "+kernel.Redacted {
		t.Errorf("Authorization logged as %v", got)
	}
	if got := reqH["X-Api-Key"]; len(got) != 1 || got[0] != kernel.Redacted {
		t.Errorf("X-Api-Key logged as %v", got)
	}
	if reqH["X-Request-Id"][0] != "trace-1" || len(reqH["Host"]) != 1 || respH["Content-Type"][0] != "application/json" {
		t.Errorf("headers: request %v, response %v", reqH, respH)
	}
	if strings.Contains(full.RequestHeaders, "topsecret") || strings.Contains(full.RequestHeaders, "k_123") {
		t.Errorf("secret in logged headers: %s", full.RequestHeaders)
	}
}

func TestDiscoveryResponsesAreLoggedByReference(t *testing.T) {
	f := newFixture(t)
	_, served := f.do(t, "GET", "/.well-known/osp.json", nil, nil)
	f.do(t, "GET", "/.well-known/osp.json", nil, nil)
	f.sb.FlushRequestLog()
	reqs, _ := f.db.RecentRequests(context.Background(), 5)
	if len(reqs) != 2 {
		t.Fatalf("requests %v", reqs)
	}
	for _, r := range reqs {
		full, err := f.db.RequestByID(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if full.ResponseRef == "" || full.ResponseBody != kernel.RedactJSON(served) {
			t.Errorf("request %d: ref %q, body %d bytes, want the served manifest (%d bytes)", r.ID, full.ResponseRef, len(full.ResponseBody), len(served))
		}
	}
}

func TestHostSlug(t *testing.T) {
	for host, want := range map[string]string{
		"acmedb.localhost:7410": "acmedb", "AcmeDB.localhost": "acmedb", "localhost:7410": "",
		"a.b.localhost": "", "127.0.0.1:7410": "", "acmedb.localhost.:1": "acmedb",
	} {
		if got := hostSlug(host); got != want {
			t.Errorf("hostSlug(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestNewIDIsAULID(t *testing.T) {
	id := kernel.NewID("res_", kernel.RealClock{}.Now())
	if len(id) != 30 || !strings.HasPrefix(id, "res_0") || strings.ToLower(id) != id {
		t.Errorf("id %q", id)
	}
}

// openRequestLog is a request log over a fresh database, both closed when the test ends.
func openRequestLog(t *testing.T) (*storage.DB, *requestLog) {
	db, err := storage.Open(context.Background(), t.TempDir()+"/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := newRequestLog(db, slog.New(slog.DiscardHandler))
	t.Cleanup(l.Close)
	return db, l
}

// Past requestLogBurstBytes of pending bodies, adding waits for the writer instead of dropping:
// every request is written.
func TestRequestLogBoundsPendingBytes(t *testing.T) {
	db, l := openRequestLog(t)
	body := []byte(`{"blob":"` + strings.Repeat("x", 1<<20) + `"}`)
	n := requestLogBurstBytes>>20 + 8
	for i := range n {
		l.add(pendingRequest{entry: storage.Request{At: time.Now(), Protocol: "osp", Method: "POST", Path: "/big/" + strconv.Itoa(i), Status: 200},
			reqBody: body, reqHeader: http.Header{}})
	}
	l.Flush()
	reqs, err := db.RecentRequests(context.Background(), n+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != n || reqs[0].Path != "/big/"+strconv.Itoa(n-1) {
		t.Fatalf("log holds %d requests (newest %s), want all %d", len(reqs), reqs[0].Path, n)
	}
}

func TestRequestLogBurstKeepsExactlyTheNewest(t *testing.T) {
	db, l := openRequestLog(t)
	extra := 700
	total := 2*storage.RequestLogLimit + extra // past twice the limit, the older half is superseded in memory
	for i := range total {
		l.add(pendingRequest{entry: storage.Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/r/" + strconv.Itoa(i), Status: 200},
			reqHeader: http.Header{"Accept": {"*/*"}}})
	}
	l.Flush()
	reqs, err := db.RecentRequests(context.Background(), total)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != storage.RequestLogLimit {
		t.Fatalf("log holds %d requests, want %d", len(reqs), storage.RequestLogLimit)
	}
	if oldest := total - storage.RequestLogLimit; reqs[0].Path != "/r/"+strconv.Itoa(total-1) || reqs[len(reqs)-1].Path != "/r/"+strconv.Itoa(oldest) {
		t.Errorf("log spans %s … %s, want the newest /r/%d … /r/%d", reqs[len(reqs)-1].Path, reqs[0].Path, oldest, total-1)
	}
	for i := 1; i < len(reqs); i++ { // newest first, none missing in between
		if want := "/r/" + strconv.Itoa(total-1-i); reqs[i].Path != want {
			t.Fatalf("request %d is %s, want %s", i, reqs[i].Path, want)
		}
	}
}
