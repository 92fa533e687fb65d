package check

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock/mocktest"
)

const bspKey = "bsp_sk_checker0000000000000000"

// bestTenantWorkspace is a BEST 0.9 workspace whose root declares tenants and whose tenant acme
// serves commands, events and queries behind a bearer token: every BSP check has something to
// check there.
func bestTenantWorkspace(t *testing.T) *mocktest.Sandbox {
	caps := func(names ...string) string {
		var out []string
		for _, n := range names {
			out = append(out, `{"name": "io.best.agents.`+n+`", "version": "0.9.1", "description": "`+n+`", "spec": "https://x.example/`+n+`", "schema": "https://x.example/`+n+`.json"}`)
		}
		return strings.Join(out, ", ")
	}
	return mocktest.NewWith(t, map[string]string{
		"ospbox.json": `{"name": "t", "osp": {"default_provider": "acmedb"}, "bsp": {"credentials": [{"token": "` + bspKey + `", "tenants": ["*"], "allow": ["*"]}]}}`,
		"bsp/manifest.json": `{"best": {"version": "0.9.1", "authentication": {"type": "bearer"},
			"services": {"io.best.agents": {"version": "0.9.1", "description": "root", "http": {"endpoint": "https://agents.example/"}}},
			"capabilities": [], "tenants": {"manifest": "https://agents.example/.well-known/best/{tenantId}"}}}`,
		"bsp/tenants/acme/manifest.json": `{"best": {"version": "0.9.1", "authentication": {"type": "bearer"},
			"services": {"io.best.agents": {"version": "0.9.1", "description": "acme", "http": {"endpoint": "https://agents.example/"}}},
			"capabilities": [` + caps("commands", "events", "queries") + `]}}`,
		"bsp/tenants/acme/commands/ping/1.0.json":  `{"type": "object", "produces": ["Pinged"]}`,
		"bsp/tenants/acme/events/pinged/1.0.json":  `{"type": "object"}`,
		"bsp/tenants/acme/queries/status/1.0.json": `{"response": {"type": "object"}}`,
	})
}

// runBSP serves h, sends two commands so the event log has pages, and runs the BSP checks.
func runBSP(t *testing.T, h http.Handler, opts Options, commands string) *Report {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, id := range []string{"c1", "c2"} {
		req, _ := http.NewRequest("POST", srv.URL+commands, strings.NewReader(`{"specversion": "1.0", "id": "`+id+`", "source": "urn:t", "type": "Ping",
			"datacontenttype": "application/json", "dataschema": "https://x.example/commands/ping/1.0", "time": "2026-04-10T09:20:00Z", "data": {}}`))
		req.Header.Set("Authorization", "Bearer "+bspKey)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
			t.Fatalf("seeding command %s: %v %v", id, err, resp)
		}
	}
	opts.Target, opts.InPlace = srv.URL, true // the checks must meet the seeded events and the mutations
	rep, err := Run(t.Context(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestTheMockPassesItsOwnBSPChecks(t *testing.T) {
	// A BEST tenant: every check runs and passes.
	rep := runBSP(t, bestTenantWorkspace(t), Options{Protocol: "best", APIKey: bspKey, Tenant: "acme"}, "/bsp/tenants/acme/io.best.agents/commands")
	if rep.Protocol != "best" || len(rep.Results) != len(bspChecks) {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Results {
		if r.Status != Pass {
			t.Errorf("%s %s: %s (%s)", r.ID, r.Status, r.Evidence, r.Request)
		}
	}
	// The sample workspace's BSP 0.8 manifest (API key in a header, no tenants).
	sb := mocktest.New(t)
	key := sb.Snapshot().Config.BSP.Credentials[0].Token
	srv := httptest.NewServer(sb)
	defer srv.Close()
	rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "bsp", APIKey: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		want := Pass
		if r.ID == "bsp.tenants.unknown" || r.ID == "bsp.events.cursor" {
			want = Skip // no tenants; an empty event log
		}
		if r.Status != want {
			t.Errorf("sample: %s %s: %s (%s)", r.ID, r.Status, r.Evidence, r.Request)
		}
	}
}

func TestEachBSPCheckFailsOnAServerBreakingItsRule(t *testing.T) {
	const base = "/bsp/tenants/acme/io.best.agents"
	isDiscovery := func(r *http.Request) bool { return r.URL.Path == "/.well-known/best" }
	answer := func(match func(*http.Request, []byte) bool, status int, ctype, body string) mutation {
		return mutation{before: func(w http.ResponseWriter, r *http.Request, b []byte) bool {
			if !match(r, b) {
				return false
			}
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			w.Write([]byte(body))
			return true
		}}
	}
	get := func(path, query string) func(*http.Request, []byte) bool {
		return func(r *http.Request, _ []byte) bool {
			return r.Method == "GET" && r.URL.Path == path && (query == "*" || r.URL.RawQuery == query)
		}
	}
	posted := func(path string, fn func(map[string]any) bool) func(*http.Request, []byte) bool {
		return func(r *http.Request, b []byte) bool {
			var m map[string]any
			return r.Method == "POST" && r.URL.Path == path && json.Unmarshal(b, &m) == nil && fn(m)
		}
	}
	editing := func(match func(*http.Request) bool, fn func(st int, h http.Header, b []byte) (int, []byte)) mutation {
		return mutation{after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if match(r) {
				return fn(st, h, b)
			}
			return st, b
		}}
	}
	anonymous := func(path string) func(*http.Request) bool {
		return func(r *http.Request) bool { return r.URL.Path == path && r.Header.Get("Authorization") == "" }
	}
	mutations := map[string]mutation{
		"bsp.discovery.status": editing(isDiscovery, func(st int, h http.Header, b []byte) (int, []byte) { return http.StatusNonAuthoritativeInfo, b }),
		"bsp.discovery.content-type": editing(isDiscovery, func(st int, h http.Header, b []byte) (int, []byte) {
			h.Set("Content-Type", "text/plain")
			return st, b
		}),
		"bsp.discovery.public": editing(anonymous("/.well-known/best"), func(st int, h http.Header, b []byte) (int, []byte) {
			return http.StatusUnauthorized, []byte(`{"error":{"code":"UNAUTHORIZED","message":"x"}}`)
		}),
		"bsp.discovery.schema": editing(isDiscovery, func(st int, h http.Header, b []byte) (int, []byte) {
			return st, editJSON(b, func(m map[string]any) { delete(m["best"].(map[string]any), "capabilities") })
		}),
		"bsp.discovery.routes":        answer(get(base+"/queries", ""), 404, "application/json", `{"error":{"code":"NOT_FOUND","message":"x"}}`),
		"bsp.tenants.unknown":         answer(get("/.well-known/best/ospbox-check-no-such-tenant", "*"), 200, "application/json", `{}`),
		"bsp.auth.required":           editing(anonymous(base+"/commands"), func(st int, h http.Header, b []byte) (int, []byte) { return st, nil }),
		"bsp.auth.challenge":          editing(anonymous(base+"/commands"), func(st int, h http.Header, b []byte) (int, []byte) { h.Del("WWW-Authenticate"); return st, b }),
		"bsp.commands.schema":         answer(get(base+"/commands/ping/1.0", ""), 500, "application/json", `{}`),
		"bsp.commands.schema-unknown": answer(get(base+"/commands/ospbox-check-no-such-command/1.0", ""), 200, "application/schema+json", `{}`),
		"bsp.commands.catalogue": editing(func(r *http.Request) bool {
			return r.Method == "GET" && r.URL.Path == base+"/commands" && r.Header.Get("Authorization") != ""
		}, func(st int, h http.Header, b []byte) (int, []byte) {
			return st, editJSON(b, func(m map[string]any) {
				for _, c := range m["commands"].([]any) {
					delete(c.(map[string]any), "version")
				}
			})
		}),
		"bsp.commands.unknown-type":     answer(posted(base+"/commands", func(m map[string]any) bool { return m["type"] == "OspboxCheckNoSuchCommand" }), 201, "application/json", `{"id":"x"}`),
		"bsp.commands.invalid-envelope": answer(posted(base+"/commands", func(m map[string]any) bool { return m["type"] == nil }), 201, "application/json", `{"id":"x"}`),
		"bsp.events.list": editing(func(r *http.Request) bool { return r.URL.Path == base+"/events" && r.URL.RawQuery == "" }, func(st int, h http.Header, b []byte) (int, []byte) {
			return st, editJSON(b, func(m map[string]any) { delete(m["events"].([]any)[0].(map[string]any), "source") })
		}),
		"bsp.events.cursor": mutation{before: func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
			if r.URL.Path == base+"/events" && r.URL.Query().Has("after") {
				r.URL.RawQuery = "limit=1" // the second page repeats the first
			}
			return false
		}},
		"bsp.events.bad-limit":              answer(get(base+"/events", "limit=-1"), 200, "application/json", `{"events":[]}`),
		"bsp.events.stream":                 answer(get(base+"/events/stream", "*"), 200, "application/json", `{"events":[]}`),
		"bsp.subscriptions.rejects-private": answer(posted(base+"/subscriptions", func(map[string]any) bool { return true }), 201, "application/json", `{"id":"sub_x"}`),
	}
	for id, m := range mutations {
		t.Run(id, func(t *testing.T) {
			rep := runBSP(t, broken(bestTenantWorkspace(t), m), Options{Protocol: "best", APIKey: bspKey, Tenant: "acme"}, base+"/commands")
			for rid, st := range statuses(rep) {
				if rid == id && st != Fail {
					t.Errorf("%s did not fail on a server that breaks it (%s)", id, st)
				}
				if rid != id && st == Fail {
					t.Errorf("breaking %s also failed %s", id, rid)
				}
			}
		})
	}
	if len(mutations) != len(bspChecks) {
		t.Errorf("%d broken servers for %d checks", len(mutations), len(bspChecks))
	}
}
