package ospboxtest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ospbox/ospbox/ospboxtest"
)

// provision is what an agent under test would do: ask the provider for a sandbox.
func provision(t *testing.T, base string) string {
	body, _ := json.Marshal(map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "sandbox": map[string]any{"enabled": true, "ttl_hours": 1}})
	resp, err := http.Post(base+"/osp/v1/provision", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		ResourceID string `json:"resource_id"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	return res.ResourceID
}

// TestAnAgentsSandboxExpires is the example: start ospbox, let the agent provision, move the
// clock past the sandbox's TTL, and assert on what the agent sent.
func TestAnAgentsSandboxExpires(t *testing.T) {
	sb := ospboxtest.Start(t)
	id := provision(t, sb.URL)
	before := sb.Now()
	sb.Advance(61 * time.Minute)
	if !sb.Now().After(before.Add(time.Hour)) {
		t.Errorf("the clock did not move: %v then %v", before, sb.Now())
	}
	resp, _ := http.Get(sb.URL + "/osp/v1/resources/" + id)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the sandbox outlived its TTL: %d", resp.StatusCode)
	}
	sb.Verify(ospboxtest.Match{Method: "POST", Path: "/osp/v1/provision", Body: map[string]any{"/offering_id": "acmedb/redis"}}, 1)
	if n := len(sb.Requests("/osp/v1/**")); n != 2 {
		t.Errorf("journal: %d OSP requests, want the provision and the status read", n)
	}
	sb.Reset()
	if !sb.Now().Before(before.Add(time.Minute)) {
		t.Errorf("after Reset the clock is not back to wall-clock time: %v", sb.Now())
	}
}

// TestAVerifyThatDoesNotHoldFails shows Verify failing the test with the near misses.
func TestAVerifyThatDoesNotHoldFails(t *testing.T) {
	sb := ospboxtest.Start(t, ospboxtest.Workspace("../manifests/samples"))
	provision(t, sb.URL)
	ft := &fakeT{TB: t}
	(&ospboxtest.Sandbox{URL: sb.URL}).WithT(ft).Verify(ospboxtest.Match{Method: "POST", Body: map[string]any{"/tier_id": "pro"}}, 1)
	if !ft.failed {
		t.Error("Verify of a request the agent never sent did not fail")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Helper()               {}
