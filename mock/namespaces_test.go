package mock

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
)

// TestNamespacesAreIsolated: two namespaces provision, reuse nonces and idempotency keys and
// move their clocks concurrently without seeing each other or the default namespace; every URL
// in their answers stays inside the namespace (spec/control.md §1).
func TestNamespacesAreIsolated(t *testing.T) {
	f := newFixture(t)
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}
	for _, id := range []string{"a", "b"} {
		if st, _, v := ctl.Call("POST", "", "", map[string]any{"id": id, "labels": map[string]string{"test": id}}); st != 201 || v["base_url"] != f.srv.URL+"/ns/"+id {
			t.Fatalf("create %s: %d %v", id, st, v)
		}
	}
	var wg sync.WaitGroup
	ids := map[string][]string{}
	var mu sync.Mutex
	for _, ns := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := agent{T: t, Base: f.srv.URL + "/ns/" + ns + "/providers/acmedb/osp/v1"}
			for i := range 5 {
				body := map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "nonce": fmt.Sprintf("nonce-%d", i)}
				st, _, res := a.Call("POST", "/provision", "", body, "Idempotency-Key", fmt.Sprintf("key-%d", i))
				if st != 201 {
					t.Errorf("%s provision %d: %d %v", ns, i, st, res)
					return
				}
				if id, _ := res["resource_id"].(string); id != "" {
					if want := f.srv.URL + "/ui/resources/" + id + "?ns=" + ns; res["dashboard_url"] != want {
						t.Errorf("%s dashboard_url %v, want %s (the UI opened on the namespace)", ns, res["dashboard_url"], want)
					}
					mu.Lock()
					ids[ns] = append(ids[ns], id)
					mu.Unlock()
				}
			}
			agent{T: t, Base: f.srv.URL + "/ns/" + ns + "/ospbox/v1/clock"}.Call("POST", "/advance", "", map[string]any{"seconds": 3600})
		}()
	}
	wg.Wait()
	// Each namespace sees its own five resources only; the other's ids are unknown there.
	for ns, other := range map[string]string{"a": "b", "b": "a"} {
		a := agent{T: t, Base: f.srv.URL + "/ns/" + ns + "/providers/acmedb/osp/v1"}
		_, _, sum := a.Call("GET", "/cost-summary", "", nil)
		if n := len(sum["resources"].([]any)); n != 0 { // free tiers cost nothing: no cost lines
			t.Errorf("%s cost lines: %d", ns, n)
		}
		for _, id := range ids[other] {
			if st, _, _ := a.Call("GET", "/resources/"+id, "", nil); st != 404 {
				t.Errorf("namespace %s sees %s of %s: %d", ns, id, other, st)
			}
		}
		for _, id := range ids[ns] {
			if st, _, body := a.Call("GET", "/resources/"+id, "", nil); st != 200 || body["status_url"] != nil && body["status_url"] != f.srv.URL+"/ns/"+ns+"/providers/acmedb/osp/v1/resources/"+id {
				t.Errorf("namespace %s reading its %s: %d %v", ns, id, st, body)
			}
		}
		_, _, v := ctl.Call("GET", "/"+ns, "", nil)
		if v["counts"].(map[string]any)["resources"] != float64(5) || v["clock"].(map[string]any)["offset_seconds"].(float64) < 3599 {
			t.Errorf("namespace %s view: %v", ns, v)
		}
	}
	if st, _, _ := (agent{T: t, Base: f.srv.URL + "/osp/v1"}).Call("GET", "/resources/"+ids["a"][0], "", nil); st != 404 {
		t.Errorf("the default namespace sees a namespace's resource: %d", st)
	}
	if c := f.sb.Clock(); c.Offset != 0 {
		t.Errorf("the default namespace's clock moved with a namespace's: %v", c.Offset)
	}
	_, _, m := agent{T: t, Base: f.srv.URL}.Call("GET", "/ns/a/.well-known/osp.json", "", nil)
	if m["osp_base_url"] != f.srv.URL+"/ns/a/osp/v1" {
		t.Errorf("the namespace's manifest points outside it: %v", m["osp_base_url"])
	}
}

// TestNamespaceLifecycle: create from the seed, reset to it (state and the real clock back),
// delete, the errors of each, an idle namespace closed and reopened with its state, a TTL that
// deletes, and the registry across a restart.
func TestNamespaceLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}
	// The seed has one resource.
	agent{T: t, Base: f.srv.URL + "/osp/v1"}.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	if err := f.sb.SaveSeed(ctx); err != nil {
		t.Fatal(err)
	}
	st, _, v := ctl.Call("POST", "", "", map[string]any{"id": "ci-1"})
	if st != 201 || v["counts"].(map[string]any)["resources"] != float64(1) {
		t.Fatalf("create from the seed: %d %v", st, v)
	}
	// Creating, viewing and listing read the closed namespace's file: none of them opens it
	// (a harness making a thousand namespaces must not hold a thousand sandboxes).
	ctl.Call("GET", "/ci-1", "", nil)
	ctl.Call("GET", "", "", nil)
	f.sb.namespaces.mu.Lock()
	_, opened := f.sb.namespaces.open["ci-1"]
	f.sb.namespaces.mu.Unlock()
	if opened {
		t.Errorf("creating or listing a namespace opened it")
	}
	ns := agent{T: t, Base: f.srv.URL + "/ns/ci-1"}
	ns.Call("POST", "/osp/v1/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	ns.Call("POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 7200})
	st, _, v = ctl.Call("POST", "/ci-1/reset", "", nil)
	if st != 200 || v["counts"].(map[string]any)["resources"] != float64(1) || v["clock"].(map[string]any)["offset_seconds"] != float64(0) {
		t.Errorf("reset: %d %v", st, v)
	}
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "", map[string]any{"id": "ci-1"}, 409, "conflict"},
		{"POST", "", map[string]any{"id": "Bad Id"}, 400, "invalid_request"},
		{"POST", "", map[string]any{"from": "snapshot:nope"}, 400, "invalid_request"},
		{"POST", "", map[string]any{"ttl_seconds": 0}, 400, "invalid_request"},
		{"POST", "", map[string]any{"colour": "red"}, 400, "invalid_request"},
		{"GET", "/nope", nil, 404, "not_found"},
		{"DELETE", "/default", nil, 409, "conflict"},
		{"POST", "/ci-1/reset", map[string]any{"to": "yesterday"}, 400, "invalid_request"},
	} {
		if st, _, b := ctl.Call(c.method, c.path, "", c.body); st != c.status || errCode(b) != c.code {
			t.Errorf("%s %s %v: %d %v, want %d %s", c.method, c.path, c.body, st, b, c.status, c.code)
		}
	}
	// Idle: closed (no open handle), reopened on the next request with its state.
	ns.Call("GET", "/osp/v1/resources", "", nil) // a request opens it
	f.sb.namespaces.mu.Lock()
	o := f.sb.namespaces.open["ci-1"]
	if o != nil {
		o.lastUsed = time.Now().Add(-time.Hour)
	}
	f.sb.namespaces.mu.Unlock()
	if o == nil {
		t.Fatal("ci-1 is not open after the requests above")
	}
	f.sb.namespaces.sweep()
	f.sb.namespaces.mu.Lock()
	_, open := f.sb.namespaces.open["ci-1"]
	f.sb.namespaces.mu.Unlock()
	if open {
		t.Error("an idle namespace stays open")
	}
	if _, _, v := ctl.Call("GET", "/ci-1", "", nil); v["counts"].(map[string]any)["resources"] != float64(1) {
		t.Errorf("reopened: %v", v)
	}
	// A TTL deletes the namespace and its state.
	ctl.Call("POST", "", "", map[string]any{"id": "short", "ttl_seconds": 1})
	f.sb.namespaces.mu.Lock()
	past := time.Now().Add(-time.Second)
	f.sb.namespaces.info["short"].ExpiresAt = &past
	f.sb.namespaces.mu.Unlock()
	f.sb.namespaces.sweep()
	if st, _, _ := ctl.Call("GET", "/short", "", nil); st != 404 {
		t.Errorf("an expired namespace: %d", st)
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".ospbox", "ns", "short.db")); !os.IsNotExist(err) {
		t.Errorf("the expired namespace's state file: %v", err)
	}
	// The registry survives a restart.
	f.sb.Close()
	g := newFixtureIn(t, f.dir)
	if st, _, v := (agent{T: t, Base: g.srv.URL + "/ospbox/v1/namespaces"}).Call("GET", "/ci-1", "", nil); st != 200 || v["counts"].(map[string]any)["resources"] != float64(1) {
		t.Errorf("after a restart: %d %v", st, v)
	}
	if st, _, v := (agent{T: t, Base: g.srv.URL + "/ospbox/v1/namespaces"}).Call("DELETE", "/ci-1", "", nil); st != 200 || v["deleted"] != true {
		t.Errorf("delete: %d %v", st, v)
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".ospbox", "ns", "ci-1.db")); !os.IsNotExist(err) {
		t.Errorf("the deleted namespace's state file: %v", err)
	}
}

// TestNamespacesMax: namespaces.max bounds the namespaces live at once, the default included.
func TestNamespacesMax(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(filepath.Join(f.dir, "ospbox.json"), []byte(`{"name": "t", "osp": {"default_provider": "acmedb"}, "namespaces": {"max": 3}}`), 0o644)
	f.sb.ReloadPaths(context.Background(), []string{"ospbox.json"})
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}
	for i := range 2 {
		if st, _, b := ctl.Call("POST", "", "", map[string]any{"from": "empty"}); st != 201 {
			t.Fatalf("namespace %d: %d %v", i+1, st, b)
		}
	}
	if st, _, b := ctl.Call("POST", "", "", nil); st != 429 || errCode(b) != "quota_exceeded" {
		t.Errorf("past namespaces.max: %d %v", st, b)
	}
}

// TestNamespacesUnderConcurrentResets: requests keep arriving while the namespace is reset and
// finally deleted; none is answered 500, nothing panics, and the default namespace is untouched.
func TestNamespacesUnderConcurrentResets(t *testing.T) {
	f := newFixture(t)
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}
	ctl.Call("POST", "", "", map[string]any{"id": "busy", "from": "empty"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := agent{T: t, Base: f.srv.URL + "/ns/busy/osp/v1"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var st int
				var body map[string]any
				if (w+i)%2 == 0 {
					st, _, body = a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
				} else {
					st, _, body = a.Call("GET", "/health", "", nil)
				}
				if st >= 500 {
					t.Logf("%d: %v", st, body)
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}
		}()
	}
	waitFor := func(status int) {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			seen := statuses[status] > 0
			mu.Unlock()
			if seen {
				return
			}
		}
	}
	waitFor(201) // the load is under way
	for range 10 {
		if st, _, b := ctl.Call("POST", "/busy/reset", "", map[string]any{"to": "empty"}); st != 200 {
			t.Errorf("reset under load: %d %v", st, b)
		}
	}
	if st, _, b := ctl.Call("DELETE", "/busy", "", nil); st != 200 {
		t.Errorf("delete under load: %d %v", st, b)
	}
	waitFor(404) // the load meets the deleted namespace
	close(stop)
	wg.Wait()
	for st, n := range statuses {
		if st >= 500 || st != 200 && st != 201 && st != 404 && st != 429 {
			t.Errorf("%d answers %d", n, st)
		}
	}
	if statuses[201] == 0 || statuses[404] == 0 {
		t.Errorf("the load did not span the namespace's life: %v", statuses)
	}
	if c, _ := f.db.Counts(context.Background()); c.Resources != 0 {
		t.Errorf("the default namespace got %d resources", c.Resources)
	}
}

// TestAnIdleNamespaceKeepsItsDelayedEvents: a command whose x-ospbox.emit delays an event keeps
// its namespace open until the event is published, so idling does not lose it.
func TestAnIdleNamespaceKeepsItsDelayedEvents(t *testing.T) {
	dir := t.TempDir()
	if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	cmdFile := filepath.Join(dir, "bsp", "commands", "place-order", "1.0.json")
	b, _ := os.ReadFile(cmdFile)
	os.WriteFile(cmdFile, []byte(strings.Replace(string(b), `{"emit": [{"type": "OrderPlaced", "data": {"itemCount": 1}}]}`,
		`{"emit": [{"type": "OrderPlaced", "data": {"itemCount": 1}, "delay_ms": 400}]}`, 1)), 0o644)
	f := newFixtureIn(t, dir)
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}.Call("POST", "", "", map[string]any{"id": "slow", "from": "seed"})
	token := f.sb.Snapshot().Config.BSP.Credentials[0].Token
	cmd := map[string]any{"specversion": "1.0", "id": "c-1", "source": "agent://t", "type": "PlaceOrder", "datacontenttype": "application/json",
		"dataschema": "https://agents.shop.example/commands/place-order/1.0", "time": "2026-04-10T09:20:00Z",
		"data": map[string]any{"orderId": "o", "items": []any{map[string]any{"sku": "s", "quantity": 1}}}}
	if st, _, body := (agent{T: t, Base: f.srv.URL + "/ns/slow/bsp/io.bsp.agents"}).Call("POST", "/commands", "", cmd, "X-Api-Key", token); st != 201 {
		t.Fatalf("command: %d %v", st, body)
	}
	idle := func() bool {
		f.sb.namespaces.mu.Lock()
		if o := f.sb.namespaces.open["slow"]; o != nil {
			o.lastUsed = time.Now().Add(-time.Hour)
		}
		f.sb.namespaces.mu.Unlock()
		f.sb.namespaces.sweep()
		f.sb.namespaces.mu.Lock()
		defer f.sb.namespaces.mu.Unlock()
		_, open := f.sb.namespaces.open["slow"]
		return !open
	}
	if idle() {
		t.Fatal("the namespace was closed with a delayed event still to come")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !idle() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	_, _, evs := agent{T: t, Base: f.srv.URL + "/ns/slow/bsp/io.bsp.agents"}.Call("GET", "/events?type=OrderPlaced", "", nil, "X-Api-Key", token)
	if list, _ := evs["events"].([]any); len(list) != 1 {
		t.Errorf("after idling: %v, want the delayed OrderPlaced", evs)
	}
}
