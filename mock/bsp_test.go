package mock

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

const bspTestToken = "bsp_sk_test0000000000000000000"

// bspWorkspace writes a BSP workspace of one generation: service io.bsp.agents (io.best.agents in
// 0.9) with commands, events and queries, an agent accepting PlaceOrder, and ospbox.json with a
// credential; extra files and settings override.
func bspWorkspace(t testing.TB, gen string, auth string, settings string, files map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	root, version, ns := "bsp", "0.8.1", "io.bsp."
	switch gen {
	case "0.6":
		root, version = "BSP", "0.6.2"
	case "0.9":
		root, version, ns = "best", "0.9.1", "io.best."
	}
	if auth == "" {
		auth = `{"type": "bearer"}`
	}
	caps := fmt.Sprintf(`
      {"name": "%[1]sagents.commands", "version": "%[2]s", "description": "c", "spec": "https://x.example/c", "schema": "https://x.example/c.json"},
      {"name": "%[1]sagents.events", "version": "%[2]s", "description": "e", "spec": "https://x.example/e", "schema": "https://x.example/e.json"},
      {"name": "%[1]sagents.queries", "version": "%[2]s", "description": "q", "spec": "https://x.example/q", "schema": "https://x.example/q.json"}`, ns, version)
	if gen == "0.6" {
		caps += fmt.Sprintf(`,
      {"name": "%[1]sagents.registry", "version": "%[2]s", "description": "r", "spec": "https://x.example/r", "schema": "https://x.example/r.json"},
      {"name": "%[1]sagents.lifecycle", "version": "%[2]s", "description": "l", "spec": "https://x.example/l", "schema": "https://x.example/l.json", "extends": "%[1]sagents.registry"}`, ns, version)
	}
	manifest := fmt.Sprintf(`{"%s": {"version": "%s", "authentication": %s,
    "services": {"%sagents": {"version": "%s", "description": "agents", "http": {"endpoint": "https://agents.example/"}}},
    "capabilities": [%s],
    "agents": [{"id": "fulfilment", "name": "Fulfilment", "accepts": ["PlaceOrder"], "produces": ["OrderPlaced", "OrderRejected"], "status": "running"}]}}`,
		root, version, auth, ns, version, caps)
	all := map[string]string{
		"bsp/manifest.json": manifest,
		"bsp/commands/place-order/1.0.json": `{"$schema": "https://json-schema.org/draft/2020-12/schema", "description": "Place an order", "type": "object",
			"required": ["orderId"], "properties": {"orderId": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}, "when": {"type": "string", "format": "date"}},
			"additionalProperties": false, "produces": ["OrderPlaced", "OrderRejected"]}`,
		"bsp/commands/place-order/2.0.json":  `{"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}, "produces": ["OrderPlaced"], "x-ospbox": {"emit": [{"type": "OrderPlaced", "data": {"v": 2}}, {"type": "OrderShipped", "delay_ms": 10}]}}`,
		"bsp/commands/cancel-order/1.0.json": `{"type": "object", "properties": {"orderId": {"type": "string"}}, "produces": ["OrderCancelled"]}`,
		"bsp/events/order-placed/1.0.json":   `{"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}}`,
		"bsp/queries/order-status/1.0.json": `{"description": "status", "parameters": {"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}, "limit": {"type": "integer", "maximum": 10}, "tags": {"type": "array", "items": {"type": "string"}}, "full": {"type": "boolean"}}, "additionalProperties": false},
			"response": {"type": "object", "required": ["orderId", "status", "at"], "properties": {"orderId": {"type": "string"}, "status": {"enum": ["placed", "shipped"]}, "at": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}}}}`,
		"ospbox.json": `{"name": "t", "osp": {"default_provider": "acmedb"}, "bsp": {` + strings.TrimPrefix(settings, ", ") + `}}`,
	}
	if !strings.Contains(settings, "credentials") {
		all["ospbox.json"] = strings.Replace(all["ospbox.json"], `"bsp": {`, `"bsp": {"credentials": [{"token": "`+bspTestToken+`", "tenants": ["*"], "allow": ["*"]}]`+map[bool]string{true: ", ", false: ""}[settings != ""], 1)
	}
	for k, v := range files {
		all[k] = v
	}
	for rel, body := range all {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if body == "" {
			os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := newFixtureIn(t, dir)
	if st := f.sb.Snapshot().BSP; st.Serving == nil {
		t.Fatalf("the BSP manifest is not served: %+v %+v", st.Disk.Report.Errors, st.Disk.Related)
	}
	return f
}

// bspBase is the service's path for a generation.
func bspBase(gen string) string {
	if gen == "0.9" {
		return "/bsp/io.best.agents"
	}
	return "/bsp/io.bsp.agents"
}

var bearer = map[string]string{"Authorization": "Bearer " + bspTestToken, "Content-Type": "application/json"}

func command(id, typ, dataschema, data string) string {
	return fmt.Sprintf(`{"specversion": "1.0", "id": %q, "source": "agent://tester", "type": %q, "datacontenttype": "application/json", "dataschema": %q, "time": "2026-04-10T09:20:00Z", "data": %s}`, id, typ, dataschema, data)
}

func bspCode(t *testing.T, b []byte) string {
	t.Helper()
	var env struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("not a BSP error body: %s", b)
	}
	return env.Error.Code
}

type eventPage struct {
	Events     []map[string]any `json:"events"`
	NextCursor string           `json:"nextCursor"`
}

func (f *fixture) bspEvents(t *testing.T, path string) eventPage {
	t.Helper()
	r, b := f.do(t, "GET", path, bearer, nil)
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, r.StatusCode, b)
	}
	var p eventPage
	json.Unmarshal(b, &p)
	return p
}

func TestBSPCommandsInEveryGeneration(t *testing.T) {
	for _, gen := range []string{"0.6", "0.8", "0.9"} {
		t.Run(gen, func(t *testing.T) {
			f := bspWorkspace(t, gen, "", "", nil)
			base := bspBase(gen)
			origin := f.srv.URL
			r, b := f.do(t, "GET", base+"/commands", bearer, nil)
			var cat struct{ Commands []map[string]string }
			json.Unmarshal(b, &cat)
			if r.StatusCode != 200 || len(cat.Commands) != 3 || cat.Commands[1]["schema"] != "place-order" || cat.Commands[1]["version"] != "1.0" ||
				cat.Commands[1]["dataschema"] != origin+base+"/commands/place-order/1.0" || cat.Commands[1]["description"] != "Place an order" {
				t.Fatalf("catalogue: %d %s", r.StatusCode, b)
			}
			r, b = f.do(t, "GET", base+"/commands/place-order/2.0", bearer, nil)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/schema+json" || strings.Contains(string(b), "x-ospbox") || !strings.Contains(string(b), "produces") {
				t.Errorf("schema document: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), b)
			}
			if r, b := f.do(t, "GET", base+"/commands/place-order/9.0", bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "SCHEMA_NOT_FOUND" {
				t.Errorf("unknown version: %d %s", r.StatusCode, b)
			}
			abs := origin + base + "/commands/place-order/1.0"
			post := func(body string, hdr ...string) (*http.Response, []byte) {
				h := map[string]string{}
				for k, v := range bearer {
					h[k] = v
				}
				for i := 0; i+1 < len(hdr); i += 2 {
					h[hdr[i]] = hdr[i+1]
				}
				return f.do(t, "POST", base+"/commands", h, strings.NewReader(body))
			}
			ok := command("cmd-1", "PlaceOrder", abs, `{"orderId": "o-1", "qty": 2, "when": "2026-05-01"}`)
			r, b = post(ok)
			if r.StatusCode != 201 || string(b) != "{\"id\":\"cmd-1\"}\n" {
				t.Fatalf("accepted command: %d %s", r.StatusCode, b)
			}
			page := f.bspEvents(t, base+"/events?correlationId=cmd-1")
			if len(page.Events) != 1 || page.Events[0]["type"] != "OrderPlaced" || page.Events[0]["source"] != origin+base ||
				page.Events[0]["dataschema"] != origin+base+"/events/order-placed/1.0" {
				t.Fatalf("outcome event: %+v", page)
			}
			if _, has := page.Events[0]["correlationid"]; has != (gen == "0.9") {
				t.Errorf("correlationid present=%v in generation %s", has, gen)
			}
			// The same id and payload: the same answer, nothing processed twice.
			r, b = post(strings.Replace(ok, "2026-04-10T09:20:00Z", "2026-04-10T10:00:00Z", 1))
			if r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "true" || len(f.bspEvents(t, base+"/events?correlationId=cmd-1").Events) != 1 {
				t.Errorf("replay: %d %s %v", r.StatusCode, b, r.Header)
			}
			if r, b := post(command("cmd-1", "PlaceOrder", abs, `{"orderId": "o-2"}`)); r.StatusCode != 409 || bspCode(t, b) != "DUPLICATE_COMMAND_ID" {
				t.Errorf("conflicting reuse: %d %s", r.StatusCode, b)
			}
			cases := []struct {
				name, body, code string
				status           int
				pointer          string
			}{
				{"not JSON", `{"specversion": `, "INVALID_JSON", 400, ""},
				{"duplicate member", `{"id": "a", "id": "b"}`, "INVALID_JSON", 400, ""},
				{"deep nesting", `{"data": ` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, "INVALID_JSON", 400, ""},
				{"envelope", strings.Replace(ok, `"specversion": "1.0"`, `"specversion": "0.3"`, 1), "INVALID_ENVELOPE", 400, "/specversion"},
				{"lower-case type", command("c2", "placeOrder", abs, `{}`), "INVALID_ENVELOPE", 400, "/type"},
				{"data not an object", command("c2", "PlaceOrder", abs, `[1]`), "INVALID_ENVELOPE", 400, "/data"},
				{"unknown type", command("c2", "ShipOrder", abs, `{}`), "UNKNOWN_COMMAND_TYPE", 422, ""},
				{"dataschema of another type", command("c2", "PlaceOrder", origin+base+"/commands/cancel-order/1.0", `{}`), "DATASCHEMA_MISMATCH", 422, ""},
				{"dataschema not in the catalogue", command("c2", "PlaceOrder", "https://elsewhere.example/schemas/place-order.json", `{}`), "DATASCHEMA_MISMATCH", 422, ""},
				{"data", command("c2", "PlaceOrder", abs, `{"orderId": "o", "qty": 0}`), "VALIDATION_FAILED", 400, "/data/qty"},
				{"format", command("c2", "PlaceOrder", abs, `{"orderId": "o", "when": "May 1st"}`), "VALIDATION_FAILED", 400, "/data/when"},
			}
			for _, c := range cases {
				r, b := post(c.body)
				if r.StatusCode != c.status || bspCode(t, b) != c.code {
					t.Errorf("%s: %d %s, want %d %s", c.name, r.StatusCode, b, c.status, c.code)
				}
				if c.pointer != "" && !strings.Contains(string(b), `"pointer":"`+c.pointer+`"`) {
					t.Errorf("%s: no pointer %s in %s", c.name, c.pointer, b)
				}
			}
			big := command("c3", "PlaceOrder", abs, `{"orderId": "`+strings.Repeat("x", 1<<20)+`"}`)
			if r, b := post(big); r.StatusCode != 413 || bspCode(t, b) != "PAYLOAD_TOO_LARGE" {
				t.Errorf("oversize: %d %.200s", r.StatusCode, b)
			}
			// Unknown attributes: closed before 0.9, ignored (and kept) in BEST.
			extra := strings.Replace(command("c4", "PlaceOrder", abs, `{"orderId": "o-4"}`), `"specversion"`, `"traceparent": "00-x", "specversion"`, 1)
			r, b = post(extra)
			if gen == "0.9" && r.StatusCode != 201 || gen != "0.9" && (r.StatusCode != 400 || !strings.Contains(string(b), `"pointer":"/traceparent"`)) {
				t.Errorf("unknown attribute in %s: %d %s", gen, r.StatusCode, b)
			}
			// The relative dataschema: allowed before 0.9 only.
			r, b = post(command("c5", "PlaceOrder", "place-order/1.0", `{"orderId": "o-5"}`))
			if gen == "0.9" && (r.StatusCode != 400 || !strings.Contains(string(b), `"pointer":"/dataschema"`)) || gen != "0.9" && r.StatusCode != 201 {
				t.Errorf("relative dataschema in %s: %d %s", gen, r.StatusCode, b)
			}
			// x-ospbox.emit: events in order, data merged, a delayed one later.
			r, _ = post(command("c6", "PlaceOrder", origin+base+"/commands/place-order/2.0", `{"orderId": "o-6"}`))
			if r.StatusCode != 201 {
				t.Fatalf("2.0 command: %d", r.StatusCode)
			}
			eventually(3*time.Second, func() bool {
				page = f.bspEvents(t, base+"/events?correlationId=c6")
				return len(page.Events) == 2
			})
			if len(page.Events) != 2 || page.Events[0]["type"] != "OrderPlaced" || page.Events[1]["type"] != "OrderShipped" ||
				page.Events[0]["data"].(map[string]any)["v"] != 2.0 || page.Events[0]["data"].(map[string]any)["orderId"] != "o-6" {
				t.Errorf("emitted events: %+v", page.Events)
			}
			if _, typed := page.Events[1]["dataschema"]; typed {
				t.Error("an event without a document is published untyped")
			}
			// The failure outcome.
			r, _ = post(command("c7", "PlaceOrder", abs, `{"orderId": "o-7"}`), "X-Ospbox-Outcome", "failure")
			page = f.bspEvents(t, base+"/events?correlationId=c7")
			if r.StatusCode != 201 || len(page.Events) != 1 || page.Events[0]["type"] != "OrderRejected" || page.Events[0]["data"].(map[string]any)["reason"] != "ospbox simulated failure" {
				t.Errorf("failure outcome: %+v", page.Events)
			}
		})
	}
}

func TestBSPAuthentication(t *testing.T) {
	cases := []struct {
		auth      string
		good, bad map[string]string
		query     string
		challenge string
	}{
		{`{"type": "bearer"}`, map[string]string{"Authorization": "Bearer " + bspTestToken}, map[string]string{"Authorization": "Bearer nope"}, "", `Bearer realm="bsp"`},
		{`{"type": "bearer", "scheme": "Token"}`, map[string]string{"Authorization": "Token " + bspTestToken}, map[string]string{"Authorization": "Bearer " + bspTestToken}, "", `Token realm="bsp"`},
		{`{"type": "apiKey", "scheme": "X-Shop-Key"}`, map[string]string{"X-Shop-Key": bspTestToken}, map[string]string{"X-Api-Key": bspTestToken}, "", `ApiKey realm="bsp"`},
		{`{"type": "apiKey", "scheme": "key", "in": "query"}`, map[string]string{}, map[string]string{"X-Api-Key": bspTestToken}, "?key=" + bspTestToken, `ApiKey realm="bsp"`},
		{`{"type": "oauth2", "tokenUrl": "https://auth.example/token"}`, map[string]string{"Authorization": "Bearer " + bspTestToken}, map[string]string{}, "", `Bearer realm="bsp"`},
	}
	for _, c := range cases {
		f := bspWorkspace(t, "0.8", c.auth, "", nil)
		if r, b := f.do(t, "GET", "/bsp/io.bsp.agents/commands"+c.query, c.good, nil); r.StatusCode != 200 {
			t.Errorf("%s with the credential: %d %s", c.auth, r.StatusCode, b)
		}
		r, b := f.do(t, "GET", "/bsp/io.bsp.agents/events", c.bad, nil)
		if r.StatusCode != 401 || bspCode(t, b) != "UNAUTHORIZED" || r.Header.Get("WWW-Authenticate") != c.challenge {
			t.Errorf("%s without it: %d %s %q", c.auth, r.StatusCode, b, r.Header.Get("WWW-Authenticate"))
		}
		if r, _ := f.do(t, "GET", "/.well-known/bsp", nil, nil); r.StatusCode != 200 {
			t.Errorf("discovery is public: %d", r.StatusCode)
		}
	}
	f := bspWorkspace(t, "0.8", `{"type": "none"}`, "", nil)
	if r, b := f.do(t, "GET", "/bsp/io.bsp.agents/commands", nil, nil); r.StatusCode != 200 {
		t.Errorf("type none: %d %s", r.StatusCode, b)
	}
	// Deny by default: a credential allowed CancelOrder only sees and submits only that.
	f = bspWorkspace(t, "0.8", "", `, "credentials": [{"token": "`+bspTestToken+`", "allow": ["CancelOrder"]}, {"token": "bsp_sk_none"}]`, nil)
	_, b := f.do(t, "GET", "/bsp/io.bsp.agents/commands", bearer, nil)
	if strings.Contains(string(b), "place-order") || !strings.Contains(string(b), "cancel-order") {
		t.Errorf("catalogue for an allow list: %s", b)
	}
	abs := f.srv.URL + "/bsp/io.bsp.agents/commands/place-order/1.0"
	if r, b := f.do(t, "POST", "/bsp/io.bsp.agents/commands", bearer, strings.NewReader(command("x", "PlaceOrder", abs, `{"orderId": "o"}`))); r.StatusCode != 403 || bspCode(t, b) != "COMMAND_NOT_PERMITTED" {
		t.Errorf("not allowed: %d %s", r.StatusCode, b)
	}
	none := map[string]string{"Authorization": "Bearer bsp_sk_none"}
	if _, b := f.do(t, "GET", "/bsp/io.bsp.agents/commands", none, nil); string(b) != "{\"commands\":[]}\n" {
		t.Errorf("a credential without allow sees no command: %s", b)
	}
}

func TestBSPTenantIsolation(t *testing.T) {
	tenant := func(id string) string {
		return `{"bsp": {"version": "0.8.1", "authentication": {"type": "bearer"},
			"services": {"io.bsp.agents": {"version": "0.8.1", "description": "` + id + `", "http": {"endpoint": "https://agents.example/"}}},
			"capabilities": [{"name": "io.bsp.agents.commands", "version": "0.8.1", "description": "c", "spec": "https://x.example/c", "schema": "https://x.example/c.json"},
				{"name": "io.bsp.agents.events", "version": "0.8.1", "description": "e", "spec": "https://x.example/e", "schema": "https://x.example/e.json"}]}}`
	}
	root := `{"bsp": {"version": "0.8.1", "authentication": {"type": "bearer"},
		"services": {"io.bsp.agents": {"version": "0.8.1", "description": "root", "http": {"endpoint": "https://agents.example/"}}},
		"capabilities": [], "tenants": {"manifest": "https://agents.example/.well-known/bsp/{tenantId}"}}}`
	f := bspWorkspace(t, "0.8", "", `, "credentials": [{"token": "bsp_sk_a", "tenants": ["acme"], "allow": ["*"]}, {"token": "bsp_sk_b", "tenants": ["globex"], "allow": ["*"]}]`, map[string]string{
		"bsp/manifest.json":                         root,
		"bsp/tenants/acme/manifest.json":            tenant("acme"),
		"bsp/tenants/globex/manifest.json":          tenant("globex"),
		"bsp/tenants/acme/commands/ping/1.0.json":   `{"type": "object", "produces": ["Pinged"]}`,
		"bsp/tenants/globex/commands/ping/1.0.json": `{"type": "object", "produces": ["Pinged"]}`,
	})
	a := map[string]string{"Authorization": "Bearer bsp_sk_a"}
	b := map[string]string{"Authorization": "Bearer bsp_sk_b"}
	r, body := f.do(t, "GET", "/.well-known/bsp/acme", a, nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "private, no-store" || r.Header.Get("Vary") != "Authorization" ||
		!strings.Contains(string(body), f.srv.URL+"/bsp/tenants/acme/io.bsp.agents/") {
		t.Fatalf("tenant manifest: %d %v %s", r.StatusCode, r.Header, body)
	}
	_, unknown := f.do(t, "GET", "/.well-known/bsp/initech", a, nil)
	r, unbound := f.do(t, "GET", "/.well-known/bsp/globex", a, nil)
	if r.StatusCode != 404 || strings.Replace(string(unknown), "initech", "globex", 1) != string(unbound) || bspCode(t, unbound) != "TENANT_NOT_FOUND" {
		t.Errorf("unknown and unbound tenants must look alike: %s / %s", unknown, unbound)
	}
	if r, _ := f.do(t, "GET", "/.well-known/bsp/acme", nil, nil); r.StatusCode != 401 {
		t.Errorf("tenant discovery needs the root credential: %d", r.StatusCode)
	}
	if _, root := f.do(t, "GET", "/.well-known/bsp", nil, nil); !strings.Contains(string(root), f.srv.URL+"/.well-known/bsp/{tenantId}") {
		t.Errorf("tenants.manifest rewritten: %s", root)
	}
	post := func(tenant string, who map[string]string, id string) int {
		r, _ := f.do(t, "POST", "/bsp/tenants/"+tenant+"/io.bsp.agents/commands", who, strings.NewReader(command(id, "Ping", "https://x.example/commands/ping/1.0", `{}`)))
		return r.StatusCode
	}
	if post("acme", a, "same-id") != 201 || post("globex", b, "same-id") != 201 {
		t.Fatal("each tenant accepts its own command (ids are scoped per tenant)")
	}
	if post("globex", a, "x") != 404 {
		t.Error("a credential not bound to a tenant gets 404 on its routes")
	}
	_, la := f.do(t, "GET", "/bsp/tenants/acme/io.bsp.agents/events", a, nil)
	_, lb := f.do(t, "GET", "/bsp/tenants/globex/io.bsp.agents/events", b, nil)
	var pa, pb eventPage
	json.Unmarshal(la, &pa)
	json.Unmarshal(lb, &pb)
	if len(pa.Events) != 1 || len(pb.Events) != 1 || pa.Events[0]["source"] == pb.Events[0]["source"] ||
		!strings.Contains(pa.Events[0]["source"].(string), "/tenants/acme/") {
		t.Errorf("tenant logs: %s / %s", la, lb)
	}
	if r, _ := f.do(t, "GET", "/bsp/tenants/globex/io.bsp.agents/events", a, nil); r.StatusCode != 404 {
		t.Errorf("acme's credential reads globex's events: %d", r.StatusCode)
	}
}

func TestBSPEventListCursorAndFilters(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	base := bspBase("0.8")
	abs := f.srv.URL + base + "/commands/place-order/1.0"
	for i := range 7 {
		typ := "PlaceOrder"
		if i%2 == 1 {
			typ = "CancelOrder"
		}
		ds := abs
		if typ == "CancelOrder" {
			ds = f.srv.URL + base + "/commands/cancel-order/1.0"
		}
		if r, b := f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("e"+strconv.Itoa(i), typ, ds, `{"orderId": "o"}`))); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, b)
		}
	}
	var seen []string
	path := base + "/events?limit=3"
	for pages := 0; ; pages++ {
		p := f.bspEvents(t, path)
		for _, e := range p.Events {
			seen = append(seen, e["type"].(string))
		}
		if p.NextCursor == "" {
			if pages != 2 {
				t.Errorf("7 events in pages of 3: %d pages", pages+1)
			}
			break
		}
		path = base + "/events?limit=3&after=" + p.NextCursor
	}
	if strings.Join(seen, ",") != "OrderPlaced,OrderCancelled,OrderPlaced,OrderCancelled,OrderPlaced,OrderCancelled,OrderPlaced" {
		t.Errorf("publication order: %v", seen)
	}
	if p := f.bspEvents(t, base+"/events?type=OrderCancelled"); len(p.Events) != 3 {
		t.Errorf("type filter: %d", len(p.Events))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if p := f.bspEvents(t, base+"/events?from="+future); len(p.Events) != 0 {
		t.Errorf("from filter: %d", len(p.Events))
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "after=nope", "from=yesterday", "colour=red", "type=lower"} {
		if r, b := f.do(t, "GET", base+"/events?"+q, bearer, nil); r.StatusCode != 400 || bspCode(t, b) != "INVALID_QUERY_PARAMETERS" {
			t.Errorf("%s: %d %s", q, r.StatusCode, b)
		}
	}
}

// sseReader reads frames from an event stream.
type sseReader struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openStream(t *testing.T, url string, hdr map[string]string) *sseReader {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next frame's id and data, or a comment as id "" and data ": …".
func (s *sseReader) next(t *testing.T) (id, data string) {
	t.Helper()
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if id != "" || data != "" {
				return id, data
			}
		case strings.HasPrefix(line, ":"):
			return "", line
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
	t.Fatalf("stream ended: %v", s.sc.Err())
	return "", ""
}

func (s *sseReader) nextEvent(t *testing.T) (id, typ string) {
	t.Helper()
	for {
		id, data := s.next(t)
		if id == "" {
			continue
		}
		var e map[string]any
		json.Unmarshal([]byte(data), &e)
		if e["id"] != id {
			t.Fatalf("frame id %s does not match envelope %s", id, data)
		}
		return id, e["type"].(string)
	}
}

func TestBSPStreamResumesWithExactlyTheMissedEvents(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", `, "sse_keepalive_seconds": 1`, nil)
	base := f.srv.URL + bspBase("0.8")
	send := func(i int) {
		ds := base + "/commands/place-order/1.0"
		if r, b := f.do(t, "POST", bspBase("0.8")+"/commands", bearer, strings.NewReader(command("s"+strconv.Itoa(i), "PlaceOrder", ds, fmt.Sprintf(`{"orderId": "o-%d"}`, i)))); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, b)
		}
	}
	st := openStream(t, base+"/events/stream", bearer)
	send(1)
	send(2)
	id1, _ := st.nextEvent(t)
	id2, _ := st.nextEvent(t)
	if id1 == id2 {
		t.Fatal("two events, one id")
	}
	st.resp.Body.Close() // the connection drops
	for i := 3; i <= 5; i++ {
		send(i)
	}
	all := f.bspEvents(t, bspBase("0.8")+"/events")
	var want []string
	for _, e := range all.Events[2:] {
		want = append(want, e["id"].(string))
	}
	st = openStream(t, base+"/events/stream", map[string]string{"Authorization": bearer["Authorization"], "Last-Event-ID": id2})
	var got []string
	for range 3 {
		id, _ := st.nextEvent(t)
		got = append(got, id)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replay after %s: got %v, want %v", id2, got, want)
	}
	send(6)
	if id, _ := st.nextEvent(t); id == want[2] || id == "" {
		t.Errorf("live after replay: %s", id)
	}
	// The keepalive arrives within its interval when nothing happens.
	if _, c := st.next(t); c != ": keepalive" {
		t.Errorf("keepalive: %q", c)
	}
	st = openStream(t, base+"/events/stream", map[string]string{"Authorization": bearer["Authorization"], "Last-Event-ID": "no-such-event"})
	if _, c := st.next(t); c != ": last-event-id-unknown" {
		t.Errorf("unknown Last-Event-ID: %q", c)
	}
	// Filters on the stream.
	st = openStream(t, base+"/events/stream?correlationId=s8", bearer)
	send(7)
	send(8)
	if _, typ := st.nextEvent(t); typ != "OrderPlaced" {
		t.Errorf("filtered stream: %s", typ)
	}
}

func TestBSPSlowStreamNeitherBlocksNorLoses(t *testing.T) {
	f := bspWorkspace(t, "0.8", `{"type": "none"}`, "", nil)
	base := f.srv.URL + bspBase("0.8")
	slow := openStream(t, base+"/events/stream", nil)
	fast := openStream(t, base+"/events/stream", nil)
	const n = bsp.StreamBuffer * 3
	done := make(chan struct{})
	var fastIDs []string
	go func() {
		defer close(done)
		for range n {
			id, _ := fast.nextEvent(t)
			fastIDs = append(fastIDs, id)
		}
	}()
	start := time.Now()
	for i := range n {
		if _, err := f.sb.BSP().Emit(context.Background(), "io.bsp.agents", "Tick", fmt.Appendf(nil, `{"i": %d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("publishing waited on the slow reader: %v", d)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the fast reader did not get every event")
	}
	// The slow reader now reads: it gets every event, in order, from its buffer and the log.
	for i := range n {
		id, _ := slow.nextEvent(t)
		if id != fastIDs[i] {
			t.Fatalf("slow reader event %d: %s, want %s", i, id, fastIDs[i])
		}
	}
}

func TestBSPWebhookDeliveriesAreSigned(t *testing.T) {
	// The spec's test vector.
	body := `{"specversion":"1.0","id":"3f9c2a71-5b0e-4c8d-9e62-7a41d0b5c913","source":"http://127.0.0.1:7410/bsp/io.bsp.agents","type":"CounterProposed","datacontenttype":"application/json","dataschema":"http://127.0.0.1:7410/bsp/io.bsp.agents/events/counter-proposed/1.0","time":"2026-04-10T09:20:00Z","data":{"salary":100000,"startDate":"2026-09-01"}}`
	if len(body) != 341 || kernel.SignWebhook("bsp-demo-secret", 1775812800, []byte(body)) != "t=1775812800,v1=9db04b6e29bff23e615a1eb7f4a28ba6d95070586e78da7e9fb8d9bdbc8238b0" {
		t.Fatal("the signature does not reproduce spec/bsp.md §10.4")
	}
	for _, gen := range []string{"0.8", "0.9"} {
		t.Run(gen, func(t *testing.T) {
			type got struct {
				hdr  http.Header
				body []byte
			}
			var mu sync.Mutex
			var received []got
			fails := 1
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				received = append(received, got{r.Header.Clone(), b})
				if fails > 0 {
					fails--
					w.WriteHeader(500)
					return
				}
				w.WriteHeader(204)
			}))
			defer recv.Close()
			f := bspWorkspace(t, gen, "", "", map[string]string{})
			os.WriteFile(filepath.Join(f.dir, "ospbox.json"), []byte(`{"name": "t", "webhooks": {"allow_loopback": true}, "bsp": {"credentials": [{"token": "`+bspTestToken+`", "tenants": ["*"], "allow": ["*"]}]}}`), 0o644)
			f.sb.Reload(context.Background())
			base := bspBase(gen)
			r, b := f.do(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"webhook": {"url": "`+recv.URL+`/hook", "secret": "s3cret"}, "filter": {"types": ["OrderPlaced"]}}`))
			if r.StatusCode != 201 || strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), `"id":"sub_`) {
				t.Fatalf("subscribe: %d %s", r.StatusCode, b)
			}
			var sub struct{ ID string }
			json.Unmarshal(b, &sub)
			if r, b := f.do(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"webhook": {"url": "`+recv.URL+`/hook"}, "filter": {"types": ["OrderPlaced"]}}`)); r.StatusCode != 409 || bspCode(t, b) != "DUPLICATE_SUBSCRIPTION" {
				t.Errorf("duplicate: %d %s", r.StatusCode, b)
			}
			for _, bad := range []string{`{"webhook": {"url": "http://10.0.0.1/x"}}`, `{"webhook": {"url": "https://user:pw@example.com/x"}}`} {
				if r, b := f.do(t, "POST", base+"/subscriptions", bearer, strings.NewReader(bad)); r.StatusCode != 400 || bspCode(t, b) != "WEBHOOK_URL_REJECTED" {
					t.Errorf("%s: %d %s", bad, r.StatusCode, b)
				}
			}
			if r, b := f.do(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"webhook": {"url": "https://a.example/"}, "colour": 1}`)); r.StatusCode != 400 || bspCode(t, b) != "INVALID_REQUEST" {
				t.Errorf("closed body: %d %s", r.StatusCode, b)
			}
			ds := f.srv.URL + base + "/commands/place-order/1.0"
			f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("w1", "PlaceOrder", ds, `{"orderId": "o"}`)))
			f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("w2", "CancelOrder", f.srv.URL+base+"/commands/cancel-order/1.0", `{}`)))
			eventually(5*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(received) >= 2
			})
			mu.Lock()
			got2 := append([]got(nil), received...)
			mu.Unlock()
			if len(got2) != 2 {
				t.Fatalf("want a failed attempt and its retry, got %d deliveries", len(got2))
			}
			prefix, ctype := "X-Bsp-", "application/json"
			if gen == "0.9" {
				prefix, ctype = "X-Best-", "application/cloudevents+json"
			}
			for i, d := range got2 {
				h := d.hdr
				ts, _ := strconv.ParseInt(h.Get(prefix+"Timestamp"), 10, 64)
				mac := hmac.New(sha256.New, []byte("s3cret"))
				fmt.Fprintf(mac, "%d.%s", ts, d.body)
				want := "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac.Sum(nil))
				if h.Get(prefix+"Signature") != want || h.Get("Content-Type") != ctype || h.Get(prefix+"Subscription-Id") != sub.ID ||
					h.Get(prefix+"Delivery-Attempt") != strconv.Itoa(i+1) || !strings.Contains(string(d.body), `"type":"OrderPlaced"`) ||
					!strings.Contains(string(d.body), `"id":"`+h.Get(prefix+"Delivery-Id")+`"`) {
					t.Errorf("delivery %d: %v %s", i+1, h, d.body)
				}
			}
			var ds2 []storage.Delivery
			eventually(5*time.Second, func() bool { // the attempt is recorded once the receiver has answered
				ds2, _ = f.db.RecentDeliveries(context.Background(), 10)
				return len(ds2) == 1 && ds2[0].Status == "delivered"
			})
			if len(ds2) != 1 || ds2[0].Status != "delivered" || ds2[0].Attempts != 2 {
				t.Errorf("recorded attempts: %+v", ds2)
			}
			if r, _ := f.do(t, "DELETE", base+"/subscriptions/"+sub.ID, map[string]string{"Authorization": "Bearer other"}, nil); r.StatusCode != 401 {
				t.Errorf("delete with a wrong credential: %d", r.StatusCode)
			}
			if r, _ := f.do(t, "DELETE", base+"/subscriptions/"+sub.ID, bearer, nil); r.StatusCode != 204 {
				t.Errorf("delete: %d", r.StatusCode)
			}
			if r, b := f.do(t, "DELETE", base+"/subscriptions/"+sub.ID, bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "SUBSCRIPTION_NOT_FOUND" {
				t.Errorf("delete again: %d %s", r.StatusCode, b)
			}
		})
	}
}

func TestBSPCapabilityGatingAndRoutes(t *testing.T) {
	manifest := `{"bsp": {"version": "0.8.1", "authentication": {"type": "bearer"},
		"services": {"io.bsp.agents": {"version": "0.8.1", "description": "a", "http": {"endpoint": "https://agents.example/"}}},
		"capabilities": [
			{"name": "io.bsp.agents.commands", "version": "0.8.1", "description": "c", "spec": "https://x.example/c", "schema": "https://x.example/c.json", "status": "partial", "endpoints": [{"method": "GET", "path": "/commands"}]},
			{"name": "io.bsp.agents.queries", "version": "0.8.1", "description": "q", "spec": "https://x.example/q", "schema": "https://x.example/q.json", "status": "planned"}]}}`
	f := bspWorkspace(t, "0.8", "", "", map[string]string{"bsp/manifest.json": manifest})
	base := bspBase("0.8")
	checks := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/commands", 200, ""},
		{"POST", "/commands", 422, "CAPABILITY_NOT_SUPPORTED"},
		{"GET", "/queries", 422, "CAPABILITY_NOT_SUPPORTED"},
		{"GET", "/events", 422, "CAPABILITY_NOT_SUPPORTED"},
		{"GET", "/services", 404, "NOT_FOUND"},
		{"PUT", "/commands", 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/nothing", 404, "NOT_FOUND"},
	}
	for _, c := range checks {
		r, b := f.do(t, c.method, base+c.path, bearer, strings.NewReader("{}"))
		if r.StatusCode != c.status || c.code != "" && bspCode(t, b) != c.code {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode, b)
		}
		if c.status == 405 && r.Header.Get("Allow") != "GET, POST" {
			t.Errorf("Allow: %q", r.Header.Get("Allow"))
		}
	}
	if r, b := f.do(t, "GET", "/bsp/io.nope/commands", bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "NOT_FOUND" {
		t.Errorf("unknown service: %d %s", r.StatusCode, b)
	}
}

func TestBSPQueries(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	base := bspBase("0.8")
	_, b := f.do(t, "GET", base+"/queries", bearer, nil)
	if !strings.Contains(string(b), `"dataschema":"`+f.srv.URL+base+`/queries/order-status/1.0"`) {
		t.Errorf("query catalogue: %s", b)
	}
	r, b := f.do(t, "GET", base+"/queries/order-status?orderId=o-1&limit=3&tags=a&tags=b&full=true", bearer, nil)
	var res map[string]any
	json.Unmarshal(b, &res)
	if r.StatusCode != 200 || res["status"] != "placed" || res["at"] != "2026-01-01T00:00:00Z" || res["orderId"] != "" {
		t.Errorf("minimal result: %d %s", r.StatusCode, b)
	}
	for _, q := range []string{"", "orderId=o&limit=x", "orderId=o&limit=11", "orderId=o&full=yes", "orderId=o&colour=red", "orderId=a&orderId=b"} {
		if r, b := f.do(t, "GET", base+"/queries/order-status?"+q, bearer, nil); r.StatusCode != 400 || bspCode(t, b) != "INVALID_QUERY_PARAMETERS" {
			t.Errorf("%q: %d %s", q, r.StatusCode, b)
		}
	}
	if r, _ := f.do(t, "GET", base+"/queries/nope", bearer, nil); r.StatusCode != 404 {
		t.Errorf("unknown query: %d", r.StatusCode)
	}
	if r, b := f.do(t, "GET", base+"/queries/order-status/1.0", bearer, nil); r.StatusCode != 200 || !strings.Contains(string(b), "parameters") {
		t.Errorf("query document: %d %s", r.StatusCode, b)
	}
}

func TestBSPRegistryAndLifecycle06(t *testing.T) {
	f := bspWorkspace(t, "0.6", "", `, "heartbeat_window_seconds": 60`, nil)
	base := bspBase("0.6")
	ds := f.srv.URL + base + "/commands/place-order/1.0"
	if r, _ := f.do(t, "POST", base+"/services/fulfilment/pause", bearer, nil); r.StatusCode != 204 {
		t.Fatalf("pause: %d", r.StatusCode)
	}
	if _, b := f.do(t, "GET", "/.well-known/bsp", nil, nil); !strings.Contains(string(b), `"status": "paused"`) {
		t.Errorf("discovery shows the live status: %s", b)
	}
	f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("q1", "PlaceOrder", ds, `{"orderId": "a"}`)))
	f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("q2", "PlaceOrder", ds, `{"orderId": "b"}`)))
	if p := f.bspEvents(t, base+"/events"); len(p.Events) != 0 {
		t.Fatalf("a paused handler produced %d events", len(p.Events))
	}
	if r, _ := f.do(t, "POST", base+"/services/fulfilment/resume", bearer, nil); r.StatusCode != 204 {
		t.Fatalf("resume: %d", r.StatusCode)
	}
	p := f.bspEvents(t, base+"/events")
	if len(p.Events) != 2 || p.Events[0]["data"].(map[string]any)["orderId"] != "a" || p.Events[1]["data"].(map[string]any)["orderId"] != "b" {
		t.Fatalf("queued commands in arrival order after resume: %+v", p.Events)
	}
	reg := `{"id": "billing", "name": "Billing", "accepts": ["CancelOrder"], "produces": ["OrderCancelled"], "webhook": {"url": "https://billing.example/hook", "secret": "x"}}`
	r, b := f.do(t, "POST", base+"/services", bearer, strings.NewReader(reg))
	if r.StatusCode != 200 || !strings.Contains(string(b), `"status":"running"`) || strings.Contains(string(b), `"secret"`) {
		t.Errorf("register: %d %s", r.StatusCode, b)
	}
	if r, b := f.do(t, "POST", base+"/services", bearer, strings.NewReader(`{"id": "x", "accepts": ["lower"]}`)); r.StatusCode != 400 || bspCode(t, b) != "INVALID_REQUEST" {
		t.Errorf("invalid registration: %d %s", r.StatusCode, b)
	}
	_, b = f.do(t, "GET", base+"/services", bearer, nil)
	if !strings.Contains(string(b), `"id":"fulfilment"`) || !strings.Contains(string(b), `"id":"billing"`) {
		t.Errorf("services: %s", b)
	}
	if r, b := f.do(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"serviceId": "ghost", "webhook": {"url": "https://a.example/"}}`)); r.StatusCode != 400 || bspCode(t, b) != "INVALID_REQUEST" {
		t.Errorf("0.6 serviceId must exist: %d %s", r.StatusCode, b)
	}
	// Heartbeats: silence beyond the window is an error; the next heartbeat restores.
	f.do(t, "POST", base+"/services/billing/heartbeat", bearer, nil)
	f.sb.clockCtl.Advance(2 * time.Minute)
	if err := f.sb.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, b := f.do(t, "GET", base+"/services/billing", bearer, nil); !strings.Contains(string(b), `"status":"error"`) {
		t.Errorf("silent service: %s", b)
	}
	f.do(t, "POST", base+"/services/billing/heartbeat", bearer, nil)
	if _, b := f.do(t, "GET", base+"/services/billing", bearer, nil); !strings.Contains(string(b), `"status":"running"`) {
		t.Errorf("after a heartbeat: %s", b)
	}
	if r, _ := f.do(t, "DELETE", base+"/services/billing", bearer, nil); r.StatusCode != 204 {
		t.Errorf("delete: %d", r.StatusCode)
	}
	if r, b := f.do(t, "GET", base+"/services/billing", bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "SERVICE_NOT_FOUND" {
		t.Errorf("deleted: %d %s", r.StatusCode, b)
	}
	// 0.8 has no registry.
	g := bspWorkspace(t, "0.8", "", "", nil)
	if r, _ := g.do(t, "GET", bspBase("0.8")+"/services", bearer, nil); r.StatusCode != 404 {
		t.Errorf("registry in 0.8: %d", r.StatusCode)
	}
}

func TestOSPEventsArePublishedOnTheBSPStream(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	r, b := f.do(t, "POST", "/osp/v1/provision", map[string]string{"Content-Type": "application/json"},
		strings.NewReader(`{"offering_id": "acmedb/redis", "tier_id": "free", "project_name": "p", "nonce": "nonce-bsp-1", "sandbox": {"ttl_seconds": 3600}}`))
	if r.StatusCode != 201 {
		t.Fatalf("provision: %d %s", r.StatusCode, b)
	}
	var p eventPage
	eventually(5*time.Second, func() bool { // published just after the OSP commit, off the provisioning path
		p = f.bspEvents(t, bspBase("0.8")+"/events?type=OspResourceProvisioned")
		return len(p.Events) > 0
	})
	if len(p.Events) != 1 || !strings.Contains(fmt.Sprint(p.Events[0]["data"]), "resource.provisioned") {
		t.Errorf("OSP event on the BSP log: %+v", p.Events)
	}
}

func mustParse(t testing.TB, s string) *jsondoc.Node {
	t.Helper()
	doc, err := jsondoc.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc.Root
}

// eventually polls cond until it holds or timeout passes; the caller asserts afterwards.
func eventually(timeout time.Duration, cond func() bool) {
	for end := time.Now().Add(timeout); !cond() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}

// A queued command runs with the schema version it named, not the newest one.
func TestBSPQueuedCommandKeepsItsVersion(t *testing.T) {
	f := bspWorkspace(t, "0.6", "", "", nil)
	base := bspBase("0.6")
	f.do(t, "POST", base+"/services/fulfilment/pause", bearer, nil)
	v1 := f.srv.URL + base + "/commands/place-order/1.0"
	v2 := f.srv.URL + base + "/commands/place-order/2.0"
	f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("k1", "PlaceOrder", v1, `{"orderId": "a"}`)))
	f.do(t, "POST", base+"/commands", bearer, strings.NewReader(command("k2", "PlaceOrder", v2, `{"orderId": "b"}`)))
	f.do(t, "POST", base+"/services/fulfilment/resume", bearer, nil)
	if p := f.bspEvents(t, base+"/events?correlationId=k1"); len(p.Events) != 1 || p.Events[0]["data"].(map[string]any)["v"] != nil {
		t.Errorf("1.0 command after resume: %+v", p.Events)
	}
	var p eventPage
	eventually(3*time.Second, func() bool {
		p = f.bspEvents(t, base+"/events?correlationId=k2")
		return len(p.Events) == 2
	})
	if len(p.Events) != 2 || p.Events[0]["data"].(map[string]any)["v"] != 2.0 || p.Events[1]["type"] != "OrderShipped" {
		t.Errorf("2.0 command after resume: %+v", p.Events)
	}
}

// A credential under a header or query name that does not look secret is still redacted.
func TestBSPCredentialsAreRedactedFromTheRequestLog(t *testing.T) {
	for _, auth := range []string{`{"type": "apiKey", "scheme": "X-Shop-Key"}`, `{"type": "apiKey", "scheme": "shop", "in": "query"}`} {
		f := bspWorkspace(t, "0.8", auth, "", nil)
		f.do(t, "GET", "/bsp/io.bsp.agents/commands?shop="+bspTestToken, map[string]string{"X-Shop-Key": bspTestToken}, nil)
		f.sb.FlushRequestLog()
		reqs, err := f.db.RecentRequests(context.Background(), 5)
		if err != nil || len(reqs) == 0 {
			t.Fatalf("requests %v %v", reqs, err)
		}
		full, err := f.db.RequestByID(context.Background(), reqs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(full.Path, bspTestToken) || strings.Contains(full.RequestHeaders, bspTestToken) || !strings.Contains(full.RequestHeaders, "X-Shop-Key") {
			t.Errorf("%s: logged %s %s", auth, full.Path, full.RequestHeaders)
		}
	}
}
