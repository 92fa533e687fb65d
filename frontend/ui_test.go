package frontend

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/storage"
)

const testToken = "test-token-0123456789"

type fixture struct {
	ui  *UI
	db  *storage.DB
	sb  *mock.Sandbox
	srv *httptest.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s := mocktest.New(t)
	sb, db := s.Sandbox, s.DB
	ui := New(Options{Sandbox: sb, DB: db, Token: testToken, SandboxURL: "http://127.0.0.1:7410", Version: "test", KeepaliveInterval: time.Hour})
	srv := httptest.NewServer(ui)
	t.Cleanup(srv.Close)
	t.Cleanup(ui.Close)
	return &fixture{ui: ui, db: db, sb: sb, srv: srv}
}

func (f *fixture) get(t *testing.T, path string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func authed() http.Header { return http.Header{TokenHeader: {testToken}} }

func TestUIRefusesRequestsWithoutTheLaunchToken(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		path   string
		hdr    http.Header
		status int
	}{
		{"no token", "/ui/", nil, 401},
		{"wrong token", "/ui/", http.Header{TokenHeader: {"nope"}}, 401},
		{"wrong cookie", "/ui/", http.Header{"Cookie": {CookieName + "=nope"}}, 401},
		{"wrong link token", "/ui/?token=nope", nil, 401},
		{"foreign origin", "/ui/", http.Header{TokenHeader: {testToken}, "Origin": {"http://evil.example"}}, 403},
		{"cross-site fetch", "/ui/", http.Header{TokenHeader: {testToken}, "Sec-Fetch-Site": {"cross-site"}}, 403},
		{"event stream without token", "/ui/events", nil, 401},
		{"fragment without token", "/ui/overview/live", nil, 401},
		{"assets are public", "/ui/assets/icon.svg", nil, 200},
		{"token header", "/ui/", authed(), 200},
		{"cookie", "/ui/", http.Header{"Cookie": {CookieName + "=" + testToken}}, 200},
	}
	for _, tt := range tests {
		resp, body := f.get(t, tt.path, tt.hdr)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %.200s", tt.name, resp.StatusCode, tt.status, body)
		}
		if tt.status == 401 && strings.Contains(body, "AcmeDB") {
			t.Errorf("%s: refused response leaks page content", tt.name)
		}
	}
}

func TestTokenLinkIsTradedForACookie(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.get(t, "/ui/?token="+testToken, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != testToken || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", cookie)
	}
}

func TestPostsNeedTheCSRFToken(t *testing.T) {
	f := newFixture(t)
	post := func(hdr http.Header, form url.Values) int {
		req, _ := http.NewRequest("POST", f.srv.URL+"/ui/reload", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(authed(), nil); s != 403 {
		t.Errorf("no CSRF token: %d", s)
	}
	if s := post(authed(), url.Values{"csrf": {"wrong"}}); s != 403 {
		t.Errorf("wrong CSRF token: %d", s)
	}
	if s := post(http.Header{CSRFHeader: {csrfFor(testToken)}}, nil); s != 401 {
		t.Errorf("CSRF token without the launch token: %d", s)
	}
	if s := post(authed(), url.Values{"csrf": {csrfFor(testToken)}}); s != http.StatusSeeOther {
		t.Errorf("form with CSRF token: %d", s)
	}
	h := authed()
	h.Set(CSRFHeader, csrfFor(testToken))
	h.Set("HX-Request", "true")
	if s := post(h, nil); s != 200 {
		t.Errorf("htmx with CSRF header: %d", s)
	}
}

func TestOverviewShowsProvidersOfferingsAndCounts(t *testing.T) {
	f := newFixture(t)
	f.db.RecordRequest(context.Background(), storage.Request{At: time.Now(), Protocol: "osp", Provider: "acmedb", Method: "GET", Path: "/", Status: 200})
	_, body := f.get(t, "/ui/", authed())
	for _, want := range []string{
		"AcmeDB", "SkyHost", "acmedb/postgres", "Managed Postgres", "skyhost/object-storage",
		"USD 25.00 / month", "http://127.0.0.1:7410/providers/acmedb/osp/v1", "default", `data-copy="http://127.0.0.1:7410/providers/skyhost/osp/v1"`,
		`sse-connect="/ui/events"`, "io.bsp.agents.commands", "2025-07-01", csrfFor(testToken),
		"unsigned file; ospbox signs the served copy (ospbox-acmedb-",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Overview lacks %q", want)
		}
	}
	if !strings.Contains(body, `id="tile-requests" href="/ui/requests" title="See the requests logged"><div class="n">1</div>`) {
		t.Errorf("request count not read from SQLite, or its tile does not link the Requests page")
	}
}

func TestAssetsNotBuiltNoticeSaysHowToBuild(t *testing.T) {
	var b bytes.Buffer
	layout(pageMeta{Title: "x", AssetsBuilt: false}).Render(context.Background(), &b)
	if !strings.Contains(b.String(), "make assets") || !strings.Contains(b.String(), "fallback.css") {
		t.Errorf("no build notice: %s", b.String())
	}
	b.Reset()
	layout(pageMeta{Title: "x", AssetsBuilt: true}).Render(context.Background(), &b)
	if strings.Contains(b.String(), "make assets") || !strings.Contains(b.String(), "/ui/assets/app.js") {
		t.Error("built assets must not show the notice")
	}
}

func TestEventStreamSignalsCommittedChanges(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/events", nil)
	req.Header.Set(TokenHeader, testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // retry:
	// Several commits in a burst coalesce into one event.
	for i := 0; i < 5; i++ {
		f.db.RecordRequest(context.Background(), storage.Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/", Status: 200})
	}
	got := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "event: ") {
				got <- lines.Text()
				return
			}
		}
	}()
	select {
	case ev := <-got:
		if ev != "event: changed" {
			t.Errorf("event %q", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after a commit")
	}
	// Close ends the stream so a server shutdown does not hang on it.
	f.ui.Close()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open after Close")
	}
}

func TestRequestsAndManifestsPagesRender(t *testing.T) {
	f := newFixture(t)
	f.db.RecordRequest(context.Background(), storage.Request{At: time.Now(), Protocol: "osp", Provider: "skyhost", Method: "GET", Path: "/.well-known/osp.json", Status: 200, RequestID: "req_abc"})
	if _, body := f.get(t, "/ui/requests", authed()); !strings.Contains(body, "req_abc") || !strings.Contains(body, "/.well-known/osp.json") {
		t.Errorf("requests page lacks the logged request")
	}
	f.db.RecordRequest(context.Background(), storage.Request{At: time.Now(), Protocol: "osp", Provider: "acmedb", Method: "POST", Path: "/osp/v1/provision", Status: 402, RequestID: "req_blocked"})
	_, body := f.get(t, "/ui/requests/live?status=4&provider=acmedb", authed())
	if !strings.Contains(body, "req_blocked") || strings.Contains(body, "req_abc") {
		t.Errorf("filtered fragment: %s", body)
	}
	if _, body := f.get(t, "/ui/requests?method=DELETE", authed()); !strings.Contains(body, "No request matches these filters") {
		t.Errorf("an empty filtered page must say so")
	}
	_, body = f.get(t, "/ui/manifests", authed())
	for _, want := range []string{"providers/acmedb/osp.json", "bsp/manifest.json", "oap/manifest.json", "unsigned"} {
		if !strings.Contains(body, want) {
			t.Errorf("manifests page lacks %q", want)
		}
	}
}

func TestCatalogPageAndSearch(t *testing.T) {
	f := newFixture(t)
	_, body := f.get(t, "/ui/catalog", authed())
	for _, want := range []string{`data-service="acmedb/postgres"`, `data-service="skyhost/object-storage"`, "USD 60.00 / year", "storage_gb 0.5 · connections 20", "vectors unlimited",
		`&#34;tier_id&#34;:&#34;free&#34;`, `/providers/acmedb/osp/v1/provision`} {
		if !strings.Contains(body, want) {
			t.Errorf("catalog page lacks %q", want)
		}
	}
	if strings.Contains(body, `acmedb/search&#34;,&#34;sandbox`) || strings.Contains(body, `"acmedb/search","sandbox"`) {
		t.Error("a service without sandboxes must not be offered a sandbox provision")
	}
	_, frag := f.get(t, "/ui/catalog/results?q=bucket", authed())
	if !strings.Contains(frag, `data-service="skyhost/object-storage"`) || strings.Contains(frag, `data-service="acmedb/postgres"`) {
		t.Errorf("search for bucket:\n%.500s", frag)
	}
	if _, frag := f.get(t, "/ui/catalog/results?q=nothing-matches", authed()); !strings.Contains(frag, "No service matches") {
		t.Error("empty search result must say so")
	}
}

func TestSandboxClockControls(t *testing.T) {
	f := newFixture(t)
	_, body := f.get(t, "/ui/sandbox", authed())
	if !strings.Contains(body, "running") || !strings.Contains(body, "+1 day") {
		t.Fatalf("sandbox page: %.300s", body)
	}
	post := func(form url.Values) (int, string) { return f.postForm(t, "/ui/sandbox/clock", form) }
	if st, b := post(url.Values{"op": {"freeze"}}); st != 200 || !strings.Contains(b, "frozen") {
		t.Errorf("freeze: %d %.200s", st, b)
	}
	if st, b := post(url.Values{"op": {"advance"}, "seconds": {"86400"}}); st != 200 || !strings.Contains(b, "from real time") || !strings.Contains(b, "frozen") {
		t.Errorf("advance a day: %d %.300s", st, b)
	}
	if st, _ := post(url.Values{"op": {"advance"}, "seconds": {"-5"}}); st != 400 {
		t.Errorf("negative advance: %d", st)
	}
	if st, b := post(url.Values{"op": {"reset"}}); st != 200 || !strings.Contains(b, "running") || strings.Contains(b, "from real time") {
		t.Errorf("reset: %d %.300s", st, b)
	}
}

func TestRequestDetailShowsTheExchangeRedactedAndAsCurl(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest("POST", "http://acmedb.localhost:7410/osp/v1/provision",
		strings.NewReader(`{"offering_id":"acmedb/redis","tier_id":"free","config":{"password":"hunter2"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk_test_secret")
	rec := httptest.NewRecorder()
	f.ui.Sandbox.ServeHTTP(rec, req)
	f.ui.Sandbox.FlushRequestLog()
	reqs, _ := f.db.RecentRequests(context.Background(), 1)
	if len(reqs) != 1 {
		t.Fatalf("logged %v (status %d)", reqs, rec.Code)
	}
	resp, body := f.get(t, "/ui/requests/"+strconv.FormatInt(reqs[0].ID, 10), authed())
	if resp.StatusCode != 200 {
		t.Fatalf("detail: %d", resp.StatusCode)
	}
	page := html.UnescapeString(body)
	for _, want := range []string{
		"curl -X POST 'http://acmedb.localhost:7410/osp/v1/provision'", "-H 'Authorization: Bearer [redacted]'",
		`"offering_id": "acmedb/redis"`, `"password": "[redacted]"`, "Content-Type", `"code": "unauthorized"`, "401",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
	if strings.Contains(page, "sk_test_secret") || strings.Contains(page, "hunter2") {
		t.Error("a secret reached the detail page")
	}
	for _, missing := range []string{"/ui/requests/999999", "/ui/requests/abc"} {
		if resp, _ := f.get(t, missing, authed()); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", missing, resp.StatusCode)
		}
	}
}

func TestCurlOfARedactedQueryTurnsGlobbingOff(t *testing.T) {
	r := storage.Request{Method: "GET", Path: "/x?token=[redacted]"}
	got := curlOf(r, [][2]string{{"Host", "acmedb.localhost:7410"}, {"User-Agent", "curl/8"}}, "http://127.0.0.1:7410")
	if want := "curl --globoff -X GET 'http://acmedb.localhost:7410/x?token=[redacted]'"; got != want {
		t.Errorf("curlOf = %s, want %s", got, want)
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote = %s", got)
	}
}

func TestResourcesPageListsFiltersAndDetails(t *testing.T) {
	f := newFixture(t)
	provision := func(body string) string {
		rec := httptest.NewRecorder()
		f.ui.Sandbox.ServeHTTP(rec, httptest.NewRequest("POST", "http://127.0.0.1:7410/osp/v1/provision", strings.NewReader(body)))
		var out struct {
			ResourceID string `json:"resource_id"`
		}
		json.Unmarshal(rec.Body.Bytes(), &out)
		if out.ResourceID == "" {
			t.Fatalf("provision: %d %s", rec.Code, rec.Body)
		}
		return out.ResourceID
	}
	live := provision(`{"offering_id":"acmedb/redis","tier_id":"free"}`)
	sandbox := provision(`{"offering_id":"acmedb/redis","tier_id":"free","sandbox":{"enabled":true}}`)
	_, body := f.get(t, "/ui/resources", authed())
	if !strings.Contains(body, live) || !strings.Contains(body, sandbox) {
		t.Errorf("resources page lacks %s or %s", live, sandbox)
	}
	_, body = f.get(t, "/ui/resources/live?sandbox=yes", authed())
	if !strings.Contains(body, sandbox) || strings.Contains(body, live) {
		t.Errorf("sandbox filter: %s", body)
	}
	shop := provision(`{"offering_id":"acmedb/postgres","tier_id":"free","project_name":"shop"}`)
	for query, want := range map[string][]string{
		"offering=acmedb/postgres": {shop}, "project=shop": {shop}, "tier=free&offering=acmedb/redis": {live, sandbox},
	} {
		_, body = f.get(t, "/ui/resources/live?"+query, authed())
		if n := strings.Count(body, "data-resource="); n != len(want) {
			t.Errorf("%s: %d rows, want %v", query, n, want)
		}
		for _, id := range want {
			if !strings.Contains(body, id) {
				t.Errorf("%s: %s missing", query, id)
			}
		}
	}
	_, newest := f.get(t, "/ui/resources/live", authed())
	_, oldest := f.get(t, "/ui/resources/live?sort=oldest", authed())
	if strings.Index(newest, shop) > strings.Index(newest, live) || strings.Index(oldest, live) > strings.Index(oldest, shop) {
		t.Error("the order does not follow sort")
	}
	resp, body := f.get(t, "/ui/resources/"+sandbox, authed())
	page := html.UnescapeString(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "resource.provisioned") || !strings.Contains(page, `"ttl_seconds": 86400`) {
		t.Errorf("detail: %d %s", resp.StatusCode, page)
	}
	if resp, _ := f.get(t, "/ui/resources/res_missing", authed()); resp.StatusCode != 404 {
		t.Errorf("missing resource: %d", resp.StatusCode)
	}
}
