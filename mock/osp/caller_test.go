package osp_test

import (
	"fmt"
	"testing"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

const twoAgents = `{"name": "t", "osp": {"default_provider": "acmedb"%s},
  "identity": {"api_keys": [{"key": "osp_ak_alice", "subject": "alice"}, {"key": "osp_ak_bob", "subject": "bob"}]}}`

// TestCostRoutesAskWhoIsCalling: the cost summary, project cost and budgets verify the caller
// like every other route (spec/osp.md §19.5), and the cost summary shows an authenticated caller
// its own resources only (§14.4).
func TestCostRoutesAskWhoIsCalling(t *testing.T) {
	f := mocktest.NewWith(t, map[string]string{"ospbox.json": fmt.Sprintf(twoAgents, "")})
	a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	paid := map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "project_name": "shop", "payment_method": "x402", "payment_proof": "p"}
	st, _, alice := a.Call("POST", "/provision", "osp_ak_alice", paid)
	if st != 201 {
		t.Fatalf("alice provisions: %d %v", st, alice)
	}
	if st, _, b := a.Call("POST", "/provision", "osp_ak_bob", paid); st != 201 {
		t.Fatalf("bob provisions: %d %v", st, b)
	}
	aliceID := alice["resource_id"].(string)
	token := alice["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)

	resourcesOf := func(bearer string) []string {
		t.Helper()
		st, _, sum := a.Call("GET", "/cost-summary", bearer, nil)
		if st != 200 {
			t.Fatalf("cost summary as %q: %d %v", bearer, st, sum)
		}
		var ids []string
		for _, r := range sum["resources"].([]any) {
			ids = append(ids, r.(map[string]any)["resource_id"].(string))
		}
		return ids
	}
	if ids := resourcesOf(""); len(ids) != 2 {
		t.Errorf("anonymous (osp.auth.strict off) sees the provider's resources: %v", ids)
	}
	for _, bearer := range []string{"osp_ak_alice", token} {
		if ids := resourcesOf(bearer); len(ids) != 1 || ids[0] != aliceID {
			t.Errorf("as %s: %v, want alice's %s only", bearer, ids, aliceID)
		}
	}
	for _, path := range []string{"/cost-summary", "/projects/proj_shop/cost", "/budgets"} {
		for bearer, want := range map[string]struct {
			status int
			code   string
		}{
			"not-a-credential":                {401, "unauthorized"},
			"osp_rat_unknown":                 {401, "unauthorized"},
			"osp_ak_nobody":                   {403, "identity_verification_failed"},
			"eyJhbGciOiJub25lIn0.e30.invalid": {403, "identity_verification_failed"},
		} {
			if st, _, body := a.Call("GET", path, bearer, nil); st != want.status || agenttest.ErrCode(body) != want.code {
				t.Errorf("GET %s as %q: %d %s, want %d %s", path, bearer, st, agenttest.ErrCode(body), want.status, want.code)
			}
		}
	}

	strict := mocktest.NewWith(t, map[string]string{"ospbox.json": fmt.Sprintf(twoAgents, `, "auth": {"strict": true}`)})
	s := agenttest.Agent{T: t, Base: strict.URL + "/providers/acmedb/osp/v1"}
	for _, path := range []string{"/cost-summary", "/projects/proj_shop/cost", "/budgets"} {
		if st, hdr, body := s.Call("GET", path, "", nil); st != 401 || agenttest.ErrCode(body) != "unauthorized" || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("osp.auth.strict, anonymous GET %s: %d %v", path, st, body)
		}
	}
	if st, _, body := s.Call("GET", "/cost-summary", "osp_ak_bob", nil); st != 200 {
		t.Errorf("osp.auth.strict with an identity: %d %v", st, body)
	}
}
