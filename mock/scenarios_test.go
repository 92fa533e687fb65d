package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
)

// plain is an agent that knows nothing of ospbox: net/http, no ospbox headers.
var plain = &http.Client{Timeout: 10 * time.Second}

func rule(t *testing.T, base string, r map[string]any) map[string]any {
	t.Helper()
	st, _, b := agent{T: t, Base: base + "/ospbox/v1/scenarios"}.Call("POST", "", "", r)
	if st != 201 {
		t.Fatalf("creating rule %v: %d %v", r, st, b)
	}
	return b
}

func TestScenarioErrorsInEachProtocolsEnvelope(t *testing.T) {
	f := newFixture(t)
	rule(t, f.srv.URL, map[string]any{"id": "down-2nd", "match": map[string]any{"operation": "osp.provision", "offering_id": "acmedb/redis"},
		"when": map[string]any{"nth": 2}, "effect": map[string]any{"error": "provider_unavailable", "retry_after_seconds": 7}})
	var statuses []int
	for range 3 {
		resp, err := plain.Post(f.srv.URL+"/providers/acmedb/osp/v1/provision", "application/json", strings.NewReader(`{"offering_id":"acmedb/redis","tier_id":"free"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 503 {
			var env struct {
				Error struct {
					Code      string `json:"code"`
					Retryable bool   `json:"retryable"`
				} `json:"error"`
			}
			json.Unmarshal(body, &env)
			if env.Error.Code != "provider_unavailable" || !env.Error.Retryable || resp.Header.Get("Retry-After") != "7" {
				t.Errorf("the failed call: %s, Retry-After %q", body, resp.Header.Get("Retry-After"))
			}
		}
	}
	if statuses[0] != 201 || statuses[1] != 503 || statuses[2] != 201 {
		t.Errorf("statuses %v, want 201 503 201", statuses)
	}
	// A discovery of the same provider is not a provisioning: untouched.
	if st, _, _ := (agent{T: t, Base: f.srv.URL}).Call("GET", "/providers/acmedb/.well-known/osp.json", "", nil); st != 200 {
		t.Errorf("discovery: %d", st)
	}
	// The rule counted three matches and one hit, and the journal names it on the one it touched.
	_, _, got := agent{T: t, Base: f.srv.URL + "/ospbox/v1/scenarios"}.Call("GET", "/down-2nd", "", nil)
	if got["hits"] != float64(1) || got["matched"] != float64(3) {
		t.Errorf("rule after three provisions: %v", got)
	}
	_, _, j := agent{T: t, Base: f.srv.URL + "/ospbox/v1/requests"}.Call("GET", "?method=POST", "", nil)
	marked := 0
	for _, e := range j["requests"].([]any) {
		e := e.(map[string]any)
		if e["scenario"] == "down-2nd" {
			marked++
			if e["status"] != float64(503) {
				t.Errorf("the marked request: %v", e)
			}
		}
	}
	if marked != 1 {
		t.Errorf("%d requests marked with the rule, want 1", marked)
	}

	// BSP and OAP answer in their own envelopes and statuses.
	rule(t, f.srv.URL, map[string]any{"match": map[string]any{"protocol": "bsp"}, "effect": map[string]any{"error": "INTERNAL"}})
	rule(t, f.srv.URL, map[string]any{"match": map[string]any{"operation": "oap.discover"}, "effect": map[string]any{"error": "MANIFEST_UNAVAILABLE", "retry_after_seconds": 3}})
	for path, want := range map[string]string{"/.well-known/bsp": `{"error":{"code":"INTERNAL"`, "/.well-known/oap": `{"error":{"code":"MANIFEST_UNAVAILABLE"`} {
		resp, err := plain.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.HasPrefix(body, []byte(want)) || resp.StatusCode < 500 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestScenarioRulesAreRefusedWithThePointer(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/ospbox/v1/scenarios"}
	for _, tc := range []struct {
		body    map[string]any
		pointer string
	}{
		{map[string]any{"effect": map[string]any{"error": "no_such_code"}}, "/effect/error"},
		{map[string]any{"match": map[string]any{"protocol": "bsp"}, "effect": map[string]any{"error": "provider_unavailable"}}, "/effect/error"},
		{map[string]any{"when": map[string]any{"every": -1}, "effect": map[string]any{"latency_ms": 5}}, "/when/every"},
		{map[string]any{"effect": map[string]any{"network": "explode"}}, "/effect/network"},
	} {
		st, _, b := a.Call("POST", "", "", tc.body)
		details, _ := b["error"].(map[string]any)["details"].(map[string]any)
		errs, _ := details["errors"].([]any)
		if st != 400 || len(errs) != 1 || errs[0].(map[string]any)["pointer"] != tc.pointer {
			t.Errorf("%v: %d %v, want 400 at %s", tc.body, st, b, tc.pointer)
		}
	}
	if st, _, _ := a.Call("GET", "", "", nil); st != 200 {
		t.Errorf("list: %d", st)
	}
	if _, _, l := a.Call("GET", "", "", nil); len(l["scenarios"].([]any)) != 0 {
		t.Errorf("refused rules were kept: %v", l)
	}
}

func TestScenarioRulesBelongToTheirNamespace(t *testing.T) {
	f := newFixture(t)
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}.Call("POST", "", "", map[string]any{"id": "t1", "from": "seed"})
	rule(t, f.srv.URL+"/ns/t1", map[string]any{"id": "x", "match": map[string]any{"operation": "osp.health"}, "effect": map[string]any{"error": "provider_unavailable"}})
	if st, _, _ := (agent{T: t, Base: f.srv.URL + "/ns/t1/providers/acmedb/osp/v1"}).Call("GET", "/health", "", nil); st != 503 {
		t.Errorf("the namespace's own health: %d, want the rule's 503", st)
	}
	if st, _, _ := (agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}).Call("GET", "/health", "", nil); st != 200 {
		t.Errorf("the default namespace's health: %d; another namespace's rule reached it", st)
	}
	// Disabled, it stops; reset drops the API's rules.
	agent{T: t, Base: f.srv.URL + "/ns/t1/ospbox/v1/scenarios"}.Call("POST", "/x/disable", "", nil)
	if st, _, _ := (agent{T: t, Base: f.srv.URL + "/ns/t1/providers/acmedb/osp/v1"}).Call("GET", "/health", "", nil); st != 200 {
		t.Errorf("after disable: %d", st)
	}
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}.Call("POST", "/t1/reset", "", map[string]any{})
	if _, _, l := (agent{T: t, Base: f.srv.URL + "/ns/t1/ospbox/v1/scenarios"}).Call("GET", "", "", nil); len(l["scenarios"].([]any)) != 0 {
		t.Errorf("after reset: %v", l)
	}
}

func TestScenarioLatencyStaysInItsBounds(t *testing.T) {
	f := newFixture(t)
	rule(t, f.srv.URL, map[string]any{"match": map[string]any{"operation": "osp.health"},
		"effect": map[string]any{"latency": map[string]any{"distribution": "uniform", "min_ms": 60, "max_ms": 90}}})
	for range 5 {
		start := time.Now()
		resp, err := plain.Get(f.srv.URL + "/providers/acmedb/osp/v1/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// The floor is exact; the ceiling allows for a loaded machine.
		if took := time.Since(start); resp.StatusCode != 200 || took < 60*time.Millisecond || took > 90*time.Millisecond+2*time.Second {
			t.Errorf("status %d after %v, want 200 after 60–90 ms", resp.StatusCode, took)
		}
	}
}

func TestScenarioNetworkFaultsHappenOnTheConnection(t *testing.T) {
	f := newFixture(t)
	health := f.srv.URL + "/providers/acmedb/osp/v1/health"
	resp, err := plain.Get(health)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	set := func(effect map[string]any) {
		t.Helper()
		a := agent{T: t, Base: f.srv.URL + "/ospbox/v1/scenarios"}
		a.Call("DELETE", "/net", "", nil)
		rule(t, f.srv.URL, map[string]any{"id": "net", "match": map[string]any{"operation": "osp.health"}, "effect": effect})
	}
	fresh := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}

	set(map[string]any{"network": "reset"})
	if _, err := fresh().Get(health); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset: %v, want connection reset by peer", err)
	}

	set(map[string]any{"network": "close_after_headers"})
	if resp, err := fresh().Get(health); err != nil {
		t.Errorf("close_after_headers: %v", err)
	} else if _, err := io.ReadAll(resp.Body); resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("close_after_headers: status %d, body error %v; want 200 and an unexpected EOF", resp.StatusCode, err)
	}

	set(map[string]any{"network": "truncate", "bytes": 10})
	if resp, err := fresh().Get(health); err != nil {
		t.Errorf("truncate: %v", err)
	} else if b, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(b, whole[:10]) {
		t.Errorf("truncate: %q, %v; want the first 10 bytes and an unexpected EOF", b, err)
	}

	bps := max(len(whole), 40) // the whole body in about one second
	set(map[string]any{"network": "dribble", "bytes_per_second": bps})
	start := time.Now()
	if resp, err := fresh().Get(health); err != nil {
		t.Errorf("dribble: %v", err)
	} else {
		b, err := io.ReadAll(resp.Body)
		took := time.Since(start)
		if err != nil || !sameHealth(b, whole) || took < 800*time.Millisecond {
			t.Errorf("dribble: %d of %d bytes in %v (%v); want all of it over about a second", len(b), len(whole), took, err)
		}
	}

	set(map[string]any{"network": "hang"})
	short := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	var ne net.Error
	if _, err := short.Get(health); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("hang: %v, want the client's timeout", err)
	}
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/scenarios"}.Call("DELETE", "/net", "", nil)
	_, _, j := agent{T: t, Base: f.srv.URL + "/ospbox/v1/requests"}.Call("GET", "?method=GET", "", nil)
	touched := 0
	for _, e := range j["requests"].([]any) {
		if e.(map[string]any)["scenario"] == "net" {
			touched++
		}
	}
	if touched != 5 {
		t.Errorf("%d requests in the journal carry the rule, want 5", touched)
	}
}

// sameHealth compares two health bodies without their clock fields, which
// move on between two reads a second apart.
func sameHealth(a, b []byte) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	for _, m := range []map[string]any{x, y} {
		delete(m, "timestamp")
		delete(m, "uptime_seconds")
	}
	return reflect.DeepEqual(x, y)
}

func TestScenarioProvisioningFailsOnTheClock(t *testing.T) {
	f := newFixture(t)
	rule(t, f.srv.URL, map[string]any{"match": map[string]any{"operation": "osp.provision"},
		"effect": map[string]any{"provisioning": "fail", "after_seconds": 30, "error": "capacity_exhausted", "message": "no capacity in the region"}})
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	if st != 202 || b["status"] != "provisioning" {
		t.Fatalf("provision under the rule: %d %v", st, b)
	}
	id, _ := b["resource_id"].(string)
	if _, _, s := a.Call("GET", "/resources/"+id, "", nil); s["status"] != "provisioning" {
		t.Errorf("before the clock moves: %v", s["status"])
	}
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}.Call("POST", "/advance", "", map[string]any{"seconds": 31})
	_, _, s := a.Call("GET", "/resources/"+id, "", nil)
	e, _ := s["error"].(map[string]any)
	if s["status"] != "error" || e["code"] != "capacity_exhausted" || e["message"] != "no capacity in the region" {
		t.Errorf("after 31 sandbox seconds: %v", s)
	}
}

// TestScenarioWebhookDeliveriesFailThenRetry: a rule fails the first delivery to the agent's
// receiver with a 503; the receiver then gets the retry (attempt 2). Another drops them: the
// receiver gets nothing and the delivery is recorded as lost.
func TestScenarioWebhookDeliveriesFailThenRetry(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(filepath.Join(f.dir, "ospbox.json"), []byte(`{"name": "sample", "osp": {"default_provider": "acmedb"}, "webhooks": {"allow_loopback": true}}`), 0o644)
	f.sb.ReloadPaths(t.Context(), []string{"ospbox.json"})
	var mu sync.Mutex
	var attempts []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts = append(attempts, r.Header.Get("X-OSP-Delivery-Attempt"))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer recv.Close()
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	hooked := func() string {
		_, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
		id := res["resource_id"].(string)
		a.Call("POST", "/webhooks/"+id, "", map[string]any{"webhook_url": recv.URL + "/hook", "events": []string{"credentials.rotated"}})
		return id
	}
	deliveredAs := func(id, status string) []string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if ds, _ := f.db.DeliveriesOf(t.Context(), id); len(ds) == 1 && ds[0].Status == status {
				mu.Lock()
				defer mu.Unlock()
				return append([]string(nil), attempts...)
			}
			time.Sleep(50 * time.Millisecond)
		}
		ds, _ := f.db.DeliveriesOf(t.Context(), id)
		t.Fatalf("delivery of %s never %s: %+v", id, status, ds)
		return nil
	}

	rule(t, f.srv.URL, map[string]any{"match": map[string]any{"operation": "osp.webhook_delivery", "provider": "skyhost"}, "effect": map[string]any{"webhook": "drop"}}) // another provider's: never fires
	rule(t, f.srv.URL, map[string]any{"id": "flaky-hook", "match": map[string]any{"operation": "osp.webhook_delivery", "provider": "acmedb"},
		"when": map[string]any{"first": 1}, "effect": map[string]any{"webhook": "fail", "status": 503}})
	id := hooked()
	a.Call("POST", "/resources/"+id+"/credentials", "", map[string]any{})
	if got := deliveredAs(id, "delivered"); strings.Join(got, ",") != "2" {
		t.Errorf("the receiver saw attempts %v, want only the retry, attempt 2", got)
	}
	if ds, _ := f.db.DeliveriesOf(t.Context(), id); ds[0].Attempts != 2 {
		t.Errorf("recorded attempts: %+v", ds)
	}

	agent{T: t, Base: f.srv.URL + "/ospbox/v1/scenarios"}.Call("DELETE", "/flaky-hook", "", nil)
	rule(t, f.srv.URL, map[string]any{"match": map[string]any{"operation": "osp.webhook_delivery"}, "effect": map[string]any{"webhook": "drop"}})
	mu.Lock()
	attempts = nil
	mu.Unlock()
	id = hooked()
	a.Call("POST", "/resources/"+id+"/credentials", "", map[string]any{})
	if got := deliveredAs(id, "failed"); len(got) != 0 {
		t.Errorf("a dropped delivery reached the receiver: %v", got)
	}
	if ds, _ := f.db.DeliveriesOf(t.Context(), id); !strings.Contains(ds[0].LastError, "dropped by scenario rule") {
		t.Errorf("the dropped delivery's record: %+v", ds[0])
	}
}

// TestScenarioFilesLoadIntoEveryNamespace: scenarios/*.json rules are in the default namespace
// as the file is edited, and in every namespace made or reset from the seed; a broken file keeps
// its last good rules and its error is on the file's report.
func TestScenarioFilesLoadIntoEveryNamespace(t *testing.T) {
	dir := t.TempDir()
	if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "scenarios"), 0o755)
	file := filepath.Join(dir, "scenarios", "health.json")
	os.WriteFile(file, []byte(`{"rules": [{"id": "health-down", "match": {"operation": "osp.health"}, "effect": {"error": "provider_unavailable"}}]}`), 0o644)
	f := newFixtureIn(t, dir)
	health := func(base string) int {
		st, _, _ := agent{T: t, Base: base + "/providers/acmedb/osp/v1"}.Call("GET", "/health", "", nil)
		return st
	}
	if st := health(f.srv.URL); st != 503 {
		t.Errorf("default namespace: health %d, want the file's 503", st)
	}
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}.Call("POST", "", "", map[string]any{"id": "t2", "from": "seed"})
	if st := health(f.srv.URL + "/ns/t2"); st != 503 {
		t.Errorf("a new namespace: health %d, want the file's 503", st)
	}
	// The API's rule goes at reset; the file's comes back with fresh counters.
	rule(t, f.srv.URL+"/ns/t2", map[string]any{"id": "mine", "match": map[string]any{"operation": "osp.discover"}, "effect": map[string]any{"latency_ms": 1}})
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}.Call("POST", "/t2/reset", "", map[string]any{})
	_, _, l := agent{T: t, Base: f.srv.URL + "/ns/t2/ospbox/v1/scenarios"}.Call("GET", "", "", nil)
	rules := l["scenarios"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["id"] != "health-down" || rules[0].(map[string]any)["hits"] != float64(0) || rules[0].(map[string]any)["source"] != "scenarios/health.json" {
		t.Errorf("after reset: %v", rules)
	}

	// A broken edit: the last good rules stay, the report says what is wrong.
	os.WriteFile(file, []byte(`{"rules": [{"id": "health-down", "match": {"operation": "osp.helth"}, "effect": {"error": "provider_unavailable"}}]}`), 0o644)
	f.sb.ReloadPaths(t.Context(), []string{"scenarios/health.json"})
	if st := health(f.srv.URL); st != 503 {
		t.Errorf("after a broken edit: health %d, want the last good rule's 503", st)
	}
	snap := f.sb.Snapshot()
	if len(snap.Scenarios) != 1 || snap.Scenarios[0].Report.Valid || snap.Scenarios[0].Report.Errors[0].Pointer != "/rules/0/match/operation" {
		t.Errorf("the broken file's report: %+v", snap.Scenarios)
	}
	// A good edit replaces them.
	os.WriteFile(file, []byte(`{"rules": []}`), 0o644)
	f.sb.ReloadPaths(t.Context(), []string{"scenarios/health.json"})
	if st := health(f.srv.URL); st != 200 {
		t.Errorf("after the rule was removed from the file: health %d", st)
	}
}
