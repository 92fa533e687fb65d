package mock_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/osp"
)

// TestQuotaUsageMatchesTheRefusals: the use QuotaUsage reports (what the Resources page shows)
// is the count the provisioning check refuses at — full exactly when the next one gets a 429.
func TestQuotaUsageMatchesTheRefusals(t *testing.T) {
	f := mocktest.NewWith(t, workspaceWith(t, "osp.quotas", map[string]any{"acmedb/redis": 2, "*": 10}, nil))
	usage := func() map[string]osp.QuotaUse {
		qs, err := f.Sandbox.OSP().QuotaUsage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]osp.QuotaUse{}
		for _, q := range qs {
			out[q.Kind+" "+q.Provider+" "+q.Scope] = q
		}
		return out
	}
	for i := range 2 {
		if got := provision(t, f, with(free, "nonce", fmt.Sprint("r", i)), ""); got != "201 " {
			t.Fatalf("redis %d: %s", i, got)
		}
	}
	u := usage()
	if q := u["live_resources acmedb acmedb/redis"]; q.Used != 2 || q.Limit != 2 || !q.Full() || q.Setting != `osp.quotas["acmedb/redis"]` {
		t.Errorf("the redis quota: %+v", q)
	}
	if q := u["live_resources acmedb *"]; q.Used != 2 || q.Limit != 10 || q.Full() {
		t.Errorf("the provider-wide quota: %+v", q)
	}
	if got := provision(t, f, with(free, "nonce", "r3"), ""); got != "429 quota_exceeded" {
		t.Errorf("a full quota did not refuse: %s", got)
	}

	a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	for i := range 6 {
		full := false // what the page shows before the agent tries
		for k, q := range usage() {
			if q.Kind == "live_sandboxes" {
				full = q.Full()
				if q.Used != i || q.Limit != 5 {
					t.Errorf("before sandbox %d, %s: %+v", i, k, q)
				}
			}
		}
		st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "free", "sandbox": map[string]any{"enabled": true}, "nonce": fmt.Sprint("s", i)})
		if refused := st == 429; refused != full || refused && b["error"].(map[string]any)["details"].(map[string]any)["limit"] != float64(5) {
			t.Errorf("sandbox %d: status %d, but the quota said full=%v", i, st, full)
		}
	}
}
