package bsp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/mocktest"
)

const bspTestToken = "bsp_sk_test0000000000000000000"

// bspWorkspace writes a BSP workspace of one generation: service io.bsp.agents (io.best.agents in
// 0.9) with commands, events and queries, an agent accepting PlaceOrder, and ospbox.json with a
// credential; extra files and settings override.
func bspWorkspace(t testing.TB, gen string, auth string, settings string, files map[string]string) *mocktest.Sandbox {
	t.Helper()
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
	f := mocktest.NewWith(t, all)
	if st := f.Snapshot().BSP; st.Serving == nil {
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

func bspEvents(t *testing.T, f *mocktest.Sandbox, path string) eventPage {
	t.Helper()
	r, b := f.Fetch(t, "GET", path, bearer, nil)
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
			origin := f.URL
			r, b := f.Fetch(t, "GET", base+"/commands", bearer, nil)
			var cat struct{ Commands []map[string]string }
			json.Unmarshal(b, &cat)
			if r.StatusCode != 200 || len(cat.Commands) != 3 || cat.Commands[1]["schema"] != "place-order" || cat.Commands[1]["version"] != "1.0" ||
				cat.Commands[1]["dataschema"] != origin+base+"/commands/place-order/1.0" || cat.Commands[1]["description"] != "Place an order" {
				t.Fatalf("catalogue: %d %s", r.StatusCode, b)
			}
			r, b = f.Fetch(t, "GET", base+"/commands/place-order/2.0", bearer, nil)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/schema+json" || strings.Contains(string(b), "x-ospbox") || !strings.Contains(string(b), "produces") {
				t.Errorf("schema document: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), b)
			}
			if r, b := f.Fetch(t, "GET", base+"/commands/place-order/9.0", bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "SCHEMA_NOT_FOUND" {
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
				return f.Fetch(t, "POST", base+"/commands", h, strings.NewReader(body))
			}
			ok := command("cmd-1", "PlaceOrder", abs, `{"orderId": "o-1", "qty": 2, "when": "2026-05-01"}`)
			r, b = post(ok)
			if r.StatusCode != 201 || string(b) != "{\"id\":\"cmd-1\"}\n" {
				t.Fatalf("accepted command: %d %s", r.StatusCode, b)
			}
			page := bspEvents(t, f, base+"/events?correlationId=cmd-1")
			if len(page.Events) != 1 || page.Events[0]["type"] != "OrderPlaced" || page.Events[0]["source"] != origin+base ||
				page.Events[0]["dataschema"] != origin+base+"/events/order-placed/1.0" {
				t.Fatalf("outcome event: %+v", page)
			}
			if _, has := page.Events[0]["correlationid"]; has != (gen == "0.9") {
				t.Errorf("correlationid present=%v in generation %s", has, gen)
			}
			// The same id and payload: the same answer, nothing processed twice.
			r, b = post(strings.Replace(ok, "2026-04-10T09:20:00Z", "2026-04-10T10:00:00Z", 1))
			if r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "true" || len(bspEvents(t, f, base+"/events?correlationId=cmd-1").Events) != 1 {
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
				page = bspEvents(t, f, base+"/events?correlationId=c6")
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
			page = bspEvents(t, f, base+"/events?correlationId=c7")
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
		if r, b := f.Fetch(t, "GET", "/bsp/io.bsp.agents/commands"+c.query, c.good, nil); r.StatusCode != 200 {
			t.Errorf("%s with the credential: %d %s", c.auth, r.StatusCode, b)
		}
		r, b := f.Fetch(t, "GET", "/bsp/io.bsp.agents/events", c.bad, nil)
		if r.StatusCode != 401 || bspCode(t, b) != "UNAUTHORIZED" || r.Header.Get("WWW-Authenticate") != c.challenge {
			t.Errorf("%s without it: %d %s %q", c.auth, r.StatusCode, b, r.Header.Get("WWW-Authenticate"))
		}
		if r, _ := f.Fetch(t, "GET", "/.well-known/bsp", nil, nil); r.StatusCode != 200 {
			t.Errorf("discovery is public: %d", r.StatusCode)
		}
	}
	f := bspWorkspace(t, "0.8", `{"type": "none"}`, "", nil)
	if r, b := f.Fetch(t, "GET", "/bsp/io.bsp.agents/commands", nil, nil); r.StatusCode != 200 {
		t.Errorf("type none: %d %s", r.StatusCode, b)
	}
	// Deny by default: a credential allowed CancelOrder only sees and submits only that.
	f = bspWorkspace(t, "0.8", "", `, "credentials": [{"token": "`+bspTestToken+`", "allow": ["CancelOrder"]}, {"token": "bsp_sk_none"}]`, nil)
	_, b := f.Fetch(t, "GET", "/bsp/io.bsp.agents/commands", bearer, nil)
	if strings.Contains(string(b), "place-order") || !strings.Contains(string(b), "cancel-order") {
		t.Errorf("catalogue for an allow list: %s", b)
	}
	abs := f.URL + "/bsp/io.bsp.agents/commands/place-order/1.0"
	if r, b := f.Fetch(t, "POST", "/bsp/io.bsp.agents/commands", bearer, strings.NewReader(command("x", "PlaceOrder", abs, `{"orderId": "o"}`))); r.StatusCode != 403 || bspCode(t, b) != "COMMAND_NOT_PERMITTED" {
		t.Errorf("not allowed: %d %s", r.StatusCode, b)
	}
	none := map[string]string{"Authorization": "Bearer bsp_sk_none"}
	if _, b := f.Fetch(t, "GET", "/bsp/io.bsp.agents/commands", none, nil); string(b) != "{\"commands\":[]}\n" {
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
	r, body := f.Fetch(t, "GET", "/.well-known/bsp/acme", a, nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "private, no-store" || r.Header.Get("Vary") != "Authorization" ||
		!strings.Contains(string(body), f.URL+"/bsp/tenants/acme/io.bsp.agents/") {
		t.Fatalf("tenant manifest: %d %v %s", r.StatusCode, r.Header, body)
	}
	_, unknown := f.Fetch(t, "GET", "/.well-known/bsp/initech", a, nil)
	r, unbound := f.Fetch(t, "GET", "/.well-known/bsp/globex", a, nil)
	if r.StatusCode != 404 || strings.Replace(string(unknown), "initech", "globex", 1) != string(unbound) || bspCode(t, unbound) != "TENANT_NOT_FOUND" {
		t.Errorf("unknown and unbound tenants must look alike: %s / %s", unknown, unbound)
	}
	if r, _ := f.Fetch(t, "GET", "/.well-known/bsp/acme", nil, nil); r.StatusCode != 401 {
		t.Errorf("tenant discovery needs the root credential: %d", r.StatusCode)
	}
	if _, root := f.Fetch(t, "GET", "/.well-known/bsp", nil, nil); !strings.Contains(string(root), f.URL+"/.well-known/bsp/{tenantId}") {
		t.Errorf("tenants.manifest rewritten: %s", root)
	}
	post := func(tenant string, who map[string]string, id string) int {
		r, _ := f.Fetch(t, "POST", "/bsp/tenants/"+tenant+"/io.bsp.agents/commands", who, strings.NewReader(command(id, "Ping", "https://x.example/commands/ping/1.0", `{}`)))
		return r.StatusCode
	}
	if post("acme", a, "same-id") != 201 || post("globex", b, "same-id") != 201 {
		t.Fatal("each tenant accepts its own command (ids are scoped per tenant)")
	}
	if post("globex", a, "x") != 404 {
		t.Error("a credential not bound to a tenant gets 404 on its routes")
	}
	_, la := f.Fetch(t, "GET", "/bsp/tenants/acme/io.bsp.agents/events", a, nil)
	_, lb := f.Fetch(t, "GET", "/bsp/tenants/globex/io.bsp.agents/events", b, nil)
	var pa, pb eventPage
	json.Unmarshal(la, &pa)
	json.Unmarshal(lb, &pb)
	if len(pa.Events) != 1 || len(pb.Events) != 1 || pa.Events[0]["source"] == pb.Events[0]["source"] ||
		!strings.Contains(pa.Events[0]["source"].(string), "/tenants/acme/") {
		t.Errorf("tenant logs: %s / %s", la, lb)
	}
	if r, _ := f.Fetch(t, "GET", "/bsp/tenants/globex/io.bsp.agents/events", a, nil); r.StatusCode != 404 {
		t.Errorf("acme's credential reads globex's events: %d", r.StatusCode)
	}
}

func TestBSPEventListCursorAndFilters(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	base := bspBase("0.8")
	abs := f.URL + base + "/commands/place-order/1.0"
	for i := range 7 {
		typ := "PlaceOrder"
		if i%2 == 1 {
			typ = "CancelOrder"
		}
		ds := abs
		if typ == "CancelOrder" {
			ds = f.URL + base + "/commands/cancel-order/1.0"
		}
		if r, b := f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("e"+strconv.Itoa(i), typ, ds, `{"orderId": "o"}`))); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, b)
		}
	}
	var seen []string
	path := base + "/events?limit=3"
	for pages := 0; ; pages++ {
		p := bspEvents(t, f, path)
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
	if p := bspEvents(t, f, base+"/events?type=OrderCancelled"); len(p.Events) != 3 {
		t.Errorf("type filter: %d", len(p.Events))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if p := bspEvents(t, f, base+"/events?from="+future); len(p.Events) != 0 {
		t.Errorf("from filter: %d", len(p.Events))
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "after=nope", "from=yesterday", "colour=red", "type=lower"} {
		if r, b := f.Fetch(t, "GET", base+"/events?"+q, bearer, nil); r.StatusCode != 400 || bspCode(t, b) != "INVALID_QUERY_PARAMETERS" {
			t.Errorf("%s: %d %s", q, r.StatusCode, b)
		}
	}
}

// TestEveryServedDiscoveryDocumentValidates: ospbox never serves a discovery document its own
// validator rejects — for every generation, with and without the 0.9 legacy alias, the root
// manifest at each of its paths and a tenant's.
func TestEveryServedDiscoveryDocumentValidates(t *testing.T) {
	for _, gen := range []string{"0.6", "0.8", "0.9"} {
		for _, alias := range []bool{false, true} {
			settings := ""
			if alias {
				settings = `, "legacy_alias": true`
			}
			f := bspWorkspace(t, gen, "", settings, nil)
			rootKey, path := "bsp", "/.well-known/bsp"
			switch gen {
			case "0.6":
				rootKey = "BSP"
			case "0.9":
				rootKey, path = "best", "/.well-known/best"
			}
			raw, _ := os.ReadFile(filepath.Join(f.Dir, "bsp", "manifest.json"))
			var m map[string]map[string]any
			json.Unmarshal(raw, &m)
			tenant, _ := json.Marshal(m)
			m[rootKey]["tenants"] = map[string]any{"manifest": "https://agents.example" + path + "/{tenantId}"}
			m[rootKey]["capabilities"] = []any{} // tenant-scoped capabilities live in the tenant manifests
			root, _ := json.Marshal(m)
			os.MkdirAll(filepath.Join(f.Dir, "bsp", "tenants", "acme"), 0o755)
			os.WriteFile(filepath.Join(f.Dir, "bsp", "tenants", "acme", "manifest.json"), tenant, 0o644)
			os.WriteFile(filepath.Join(f.Dir, "bsp", "manifest.json"), root, 0o644)
			if err := f.Reload(t.Context()); err != nil {
				t.Fatal(err)
			}
			if st := f.Snapshot().BSP; st.Serving == nil || len(st.Serving.Surface.Tenants) != 1 || st.Serving.Surface.Tenants[0].Doc == nil {
				t.Fatalf("%s: the tenant manifest is not served: %+v", gen, st.Disk.Report.Errors)
			}
			paths := []string{path, path + ".json", path + "/acme"}
			if alias && gen == "0.9" {
				paths = append(paths, "/.well-known/bsp", "/.well-known/bsp.json", "/.well-known/bsp/acme")
			}
			for _, p := range paths {
				r, body := f.Fetch(t, "GET", p, bearer, nil)
				if r.StatusCode != 200 {
					t.Errorf("%s alias=%v GET %s: %d %s", gen, alias, p, r.StatusCode, body)
					continue
				}
				rep := manifests.ValidateData(strings.TrimPrefix(p, "/"), "bsp", body)
				if !rep.Valid || len(rep.Errors) > 0 {
					t.Errorf("%s alias=%v: ospbox serves at %s a document its validator rejects: %+v\n%s", gen, alias, p, rep.Errors, body)
				}
				// In the 0.8 form every name is io.bsp. (the endpoints still point where ospbox serves).
				names := regexp.MustCompile(`"endpoint": "[^"]*"`).ReplaceAllString(string(body), "")
				if strings.HasPrefix(p, "/.well-known/bsp") && gen == "0.9" && strings.Contains(names, "io.best.") {
					t.Errorf("the 0.8 form at %s still names io.best.: %s", p, body)
				}
			}
		}
	}
}
