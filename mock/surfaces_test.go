package mock

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

func TestBSPAndOAPDiscoveryRewriteEndpoints(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "GET", "/.well-known/bsp", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("ETag") == "" {
		t.Fatalf("bsp: %d %v", resp.StatusCode, resp.Header)
	}
	doc, err := jsondoc.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Lookup("/bsp/services/io.bsp.agents/http/endpoint").Text; got != f.srv.URL+"/bsp/io.bsp.agents/" {
		t.Errorf("bsp endpoint %s", got)
	}
	if doc.Lookup("/bsp/capabilities/0/name").Text != "io.bsp.agents.commands" {
		t.Error("authored members must be kept")
	}
	if r, b := f.do(t, "GET", "/.well-known/bsp.json", nil, nil); r.StatusCode != 200 || string(b) != string(body) {
		t.Errorf(".json alias: %d", r.StatusCode)
	}
	if r, _ := f.do(t, "GET", "/.well-known/bsp", map[string]string{"If-None-Match": resp.Header.Get("ETag")}, nil); r.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	if r, b := f.do(t, "GET", "/.well-known/best", nil, nil); r.StatusCode != 404 || !strings.Contains(string(b), `"NOT_FOUND"`) || !strings.Contains(string(b), "/.well-known/bsp") {
		t.Errorf("the other generation's path: %d %s", r.StatusCode, b)
	}

	resp, body = f.do(t, "GET", "/.well-known/oap", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("oap: %d %s", resp.StatusCode, body)
	}
	doc, _ = jsondoc.Parse(body)
	if got := doc.Lookup("/oap/services/io.oap.agents/rest/endpoint").Text; got != f.srv.URL+"/oap/" {
		t.Errorf("oap endpoint %s", got)
	}
	if doc.Lookup("/oap/services/io.oap.agents/rest/schema").Text != "https://openagentprotocol.io/v1/services/agents/openapi.json" {
		t.Error("rest.schema must pass through unchanged")
	}
	if r, _ := f.do(t, "GET", "/.well-known/oap.json", nil, nil); r.StatusCode != 404 {
		t.Errorf("oap.json is not served: %d", r.StatusCode)
	}
	if r, b := f.do(t, "POST", "/.well-known/oap", nil, strings.NewReader("{}")); r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(b), "METHOD_NOT_ALLOWED") {
		t.Errorf("POST discovery: %d %s", r.StatusCode, b)
	}
	if r, b := f.do(t, "GET", "/bsp/io.bsp.agents/commands", nil, nil); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") != `ApiKey realm="bsp"` || !strings.Contains(string(b), `"code":"UNAUTHORIZED"`) {
		t.Errorf("service API without the declared API key: %d %s", r.StatusCode, b)
	}
}

func TestSurfaceKeepsLastGoodAndAnswers503WhenNeverValid(t *testing.T) {
	f := newFixture(t)
	_, before := f.do(t, "GET", "/.well-known/oap", nil, nil)
	path := filepath.Join(f.dir, "oap", "manifest.json")
	os.WriteFile(path, []byte(`{"oap": {"version": "2024-01-01"`), 0o644)
	f.sb.Reload(context.Background())
	st := f.sb.Snapshot().OAP
	if !st.Stale() || st.Disk.Report.Errors[0].Rule != "json_syntax" {
		t.Fatalf("broken OAP manifest not reported: %+v", st.Disk.Report)
	}
	if r, after := f.do(t, "GET", "/.well-known/oap", nil, nil); r.StatusCode != 200 || string(after) != string(before) {
		t.Errorf("last good OAP manifest not served: %d", r.StatusCode)
	}

	g := newFixture(t)
	os.WriteFile(filepath.Join(g.dir, "bsp", "manifest.json"), []byte(`{"bsp": {"version": "{{BSP_VERSION}}"}, "x": 1}`), 0o644)
	g2, err := New(context.Background(), g.sb.ws, g.db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	g.srv.Config.Handler = g2
	r, b := g.do(t, "GET", "/.well-known/bsp", nil, nil)
	if r.StatusCode != 503 || !strings.Contains(string(b), "MANIFEST_UNAVAILABLE") {
		t.Errorf("never-valid BSP manifest: %d %s", r.StatusCode, b)
	}
}

func TestSchemasAndValidateAPI(t *testing.T) {
	f := newFixture(t)
	r, b := f.do(t, "GET", "/schemas/osp/c.json", nil, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/schema+json" {
		t.Fatalf("schema: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	doc, err := jsondoc.Parse(b)
	if err != nil || doc.Root.Str("$id") != f.srv.URL+"/schemas/osp/c.json" {
		t.Errorf("$id must name where the schema was fetched: %v %s", err, doc.Root.Str("$id"))
	}
	if r, b := f.do(t, "GET", "/schemas/", nil, nil); r.StatusCode != 200 || !strings.Contains(string(b), "bsp/0.8.json") {
		t.Errorf("schema list: %d %s", r.StatusCode, b)
	}
	for _, bad := range []string{"/schemas/nope.json", "/schemas/../manifests/osp.go"} {
		if r, _ := f.do(t, "GET", bad, nil, nil); r.StatusCode != 404 {
			t.Errorf("%s: %d", bad, r.StatusCode)
		}
	}
	r, b = f.do(t, "POST", "/ospbox/v1/validate", nil, strings.NewReader(`{"bsp": {"version": "0.8.1", "services": {}, "capabilities": [], "extra": 1}}`))
	if r.StatusCode != 200 || !strings.Contains(string(b), `"protocol":"bsp"`) || !strings.Contains(string(b), `"rule":"unknown_member"`) || !strings.Contains(string(b), `"line":1`) {
		t.Errorf("validate: %d %s", r.StatusCode, b)
	}
	if r, _ := f.do(t, "GET", "/ospbox/v1/validate", nil, nil); r.StatusCode != 405 {
		t.Errorf("GET validate: %d", r.StatusCode)
	}
	if r, _ := f.do(t, "POST", "/ospbox/v1/validate?protocol=xml", nil, strings.NewReader("{}")); r.StatusCode != 400 {
		t.Errorf("bad protocol: %d", r.StatusCode)
	}
}
