package check

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTheMockPassesItsOwnOAPChecks(t *testing.T) {
	srv := httptest.NewServer(sandbox(t))
	defer srv.Close()
	rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "oap"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Protocol != "oap" || len(rep.Results) != len(oapChecks) {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Results {
		if r.Status != Pass {
			t.Errorf("%s %s: %s (%s)", r.ID, r.Status, r.Evidence, r.Request)
		}
	}
}

func TestEachOAPCheckFailsOnAServerBreakingItsRule(t *testing.T) {
	isOAPDiscovery := func(r *http.Request) bool { return r.URL.Path == "/.well-known/oap" }
	answer := func(path, method string, status int, body string) mutation {
		return mutation{before: func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
			if r.URL.Path == path && (method == "" || r.Method == method) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				w.Write([]byte(body))
				return true
			}
			return false
		}}
	}
	mutations := map[string]mutation{
		"oap.discovery.status": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if isOAPDiscovery(r) {
				return http.StatusNonAuthoritativeInfo, b
			}
			return st, b
		}},
		"oap.discovery.content-type": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if isOAPDiscovery(r) {
				h.Set("Content-Type", "text/plain")
			}
			return st, b
		}},
		"oap.discovery.schema": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if !isOAPDiscovery(r) {
				return st, b
			}
			return st, editJSON(b, func(m map[string]any) { m["oap"].(map[string]any)["version"] = "2024-01-01" })
		}},
		"oap.registry.list": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if r.URL.Path != "/oap/agents" || r.Method != "GET" {
				return st, b
			}
			return st, editJSON(b, func(m map[string]any) { delete(m["agents"].([]any)[0].(map[string]any), "produces") })
		}},
		"oap.registry.unknown-agent": answer("/oap/agents/ospbox-check-nobody", "GET", 200, `{}`),
		"oap.events.invalid": {before: func(w http.ResponseWriter, r *http.Request, body []byte) bool {
			var m map[string]any
			if r.URL.Path == "/oap/events" && r.Method == "POST" && json.Unmarshal(body, &m) == nil && m["type"] == nil {
				w.WriteHeader(http.StatusAccepted)
				return true
			}
			return false
		}},
		"oap.events.accept": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if r.URL.Path == "/oap/events" && st == http.StatusAccepted {
				return http.StatusOK, b
			}
			return st, b
		}},
		"oap.events.method":          answer("/oap/events", "DELETE", 404, `{"error":{"code":"NOT_FOUND","message":"x"}}`),
		"oap.commands.list":          answer("/oap/commands", "GET", 200, `{"items":[]}`),
		"oap.memory.read":            answer("/oap/agents/triage/memory", "GET", 200, `{"agentId":"triage"}`),
		"oap.traces.list":            answer("/oap/traces", "GET", 500, `{}`),
		"oap.lifecycle.pause-resume": answer("/oap/agents/triage/pause", "POST", 200, `{}`),
	}
	for id, m := range mutations {
		t.Run(id, func(t *testing.T) {
			srv := httptest.NewServer(broken(sandbox(t), m))
			defer srv.Close()
			rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "oap", InPlace: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for rid, st := range statuses(rep) {
				if rid == id && st != Fail {
					t.Errorf("%s did not fail on a server that breaks it", id)
				}
				if rid != id && st == Fail {
					t.Errorf("breaking %s also failed %s", id, rid)
				}
			}
		})
	}
	// The public rule: a server that wants credentials for discovery.
	t.Run("oap.discovery.public", func(t *testing.T) {
		const key = "oap-check-key"
		inner := sandbox(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isOAPDiscovery(r) && r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			inner.ServeHTTP(w, r)
		}))
		defer srv.Close()
		rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "oap", APIKey: key, InPlace: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for rid, st := range statuses(rep) {
			if (rid == "oap.discovery.public") != (st == Fail) {
				t.Errorf("%s: %s", rid, st)
			}
		}
	})
	if len(mutations)+1 != len(oapChecks) {
		t.Errorf("%d broken servers for %d checks", len(mutations)+1, len(oapChecks))
	}
}
