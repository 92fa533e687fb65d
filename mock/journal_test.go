package mock

import (
	"strings"
	"testing"
)

// TestTheRequestJournal: a namespace's journal lists what its agent sent (filters, a path glob),
// verifies counts, and when a count does not hold answers 409 with the closest requests and what
// differed; it can be emptied, and other namespaces' requests are never in it.
func TestTheRequestJournal(t *testing.T) {
	f := newFixture(t)
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/namespaces"}.Call("POST", "", "", map[string]any{"id": "j", "from": "empty"})
	a := agent{T: t, Base: f.srv.URL + "/ns/j/providers/acmedb/osp/v1"}
	for _, nonce := range []string{"n-1", "n-2"} {
		if st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "nonce": nonce}); st != 201 {
			t.Fatalf("provision: %d %v", st, b)
		}
	}
	a.Call("GET", "/health", "", nil)
	agent{T: t, Base: f.srv.URL + "/osp/v1"}.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}) // default's
	j := agent{T: t, Base: f.srv.URL + "/ns/j/ospbox/v1/requests"}

	st, _, list := j.Call("GET", "?method=post&path=/providers/*/osp/v1/**", "", nil)
	reqs, _ := list["requests"].([]any)
	if st != 200 || len(reqs) != 2 {
		t.Fatalf("list: %d %v", st, list)
	}
	first := reqs[0].(map[string]any)
	if first["path"] != "/providers/acmedb/osp/v1/provision" || first["status"] != float64(201) || first["request_body"].(map[string]any)["nonce"] != "n-2" {
		t.Errorf("newest first, with its body: %v", first)
	}
	if st, _, b := j.Call("POST", "/verify", "", map[string]any{"match": map[string]any{"method": "POST", "path": "/**/provision", "body": map[string]any{"/offering_id": "acmedb/redis"}}, "count": 2}); st != 200 || b["matched"] != float64(2) {
		t.Errorf("verify count 2: %d %v", st, b)
	}
	st, _, b := j.Call("POST", "/verify", "", map[string]any{"match": map[string]any{"method": "POST", "path": "/**/provision", "body": map[string]any{"/offering_id": "acmedb/postgres"}}, "at_least": 1})
	details, _ := b["error"].(map[string]any)["details"].(map[string]any)
	near, _ := details["near_misses"].([]any)
	if st != 409 || errCode(b) != "conflict" || details["matched"] != float64(0) || len(near) != 3 {
		t.Fatalf("verify that does not hold: %d %v", st, b)
	}
	diff := near[0].(map[string]any)["differences"].([]any)
	if len(diff) != 1 || !strings.Contains(diff[0].(string), `/offering_id: "acmedb/redis", wanted "acmedb/postgres"`) {
		t.Errorf("the closest miss says what differed: %v", diff)
	}
	if st, _, b := j.Call("POST", "/verify", "", map[string]any{"match": map[string]any{"path": "no-slash"}}); st != 400 || errCode(b) != "invalid_request" {
		t.Errorf("a bad glob: %d %v", st, b)
	}
	if st, _, _ := j.Call("DELETE", "", "", nil); st != 200 {
		t.Errorf("clear: %d", st)
	}
	if _, _, list := j.Call("GET", "?protocol=osp", "", nil); len(list["requests"].([]any)) != 0 {
		t.Errorf("after clearing: %v", list)
	}
	// The default namespace's journal has its own request, not the namespace's.
	_, _, dl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/requests"}.Call("GET", "?protocol=osp&method=POST", "", nil)
	if n := len(dl["requests"].([]any)); n != 1 {
		t.Errorf("the default namespace's journal: %d requests", n)
	}
}
