package mock

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/osp"
)

// TestSeedFlow is the agent journey, through HTTP only: discover → provision a sandbox
// with an encrypted bundle → decrypt → status → usage after advancing the clock → rotate → old
// token refused after the grace → promote and upgrade → cost → budget block → deprovision.
func TestSeedFlow(t *testing.T) {
	f := newFixture(t)
	root := agent{T: t, Base: f.srv.URL}
	clock := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/resources"}
	clock.Call("POST", "/freeze", "", nil)

	// Discover.
	st, _, manifest := root.Call("GET", "/providers/acmedb/.well-known/osp.json", "", nil)
	if st != 200 {
		t.Fatalf("discover: %d", st)
	}
	a := agent{T: t, Base: strings.TrimSuffix(manifest["osp_base_url"].(string), "/")}
	seed := agentSeed()
	pub := manifests.B64(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))

	// Provision a sandbox of the metered tier with an encrypted bundle; decrypt it.
	st, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go",
		"project_name": "journey", "agent_public_key": pub, "sandbox": map[string]any{"enabled": true, "ttl_hours": 24}})
	if st != 201 {
		t.Fatalf("provision: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	ecRaw, _ := json.Marshal(res["credentials_bundle"].(map[string]any)["encrypted_credentials"])
	var ec osp.EncryptedCredentials
	json.Unmarshal(ecRaw, &ec)
	if _, err := osp.DecryptCredentials(seed, ec); err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	token := res["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)

	// Status; usage after the clock moves.
	if st, _, s := a.Call("GET", "/resources/"+id, token, nil); st != 200 || s["sandbox"] != true {
		t.Fatalf("status: %d %v", st, s)
	}
	ctl.Call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 25}})
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 7200})
	_, _, u := a.Call("GET", "/resources/"+id+"/usage", token, nil)
	hours := u["dimensions"].([]any)[0].(map[string]any)["quantity"]
	if hours != "2.00" || u["overage_cost"].(map[string]any)["amount"] != "0.00" {
		t.Errorf("sandbox usage after two hours (no charges for sandboxes): %v", u)
	}

	// Rotate; the old token works during the grace and not after it.
	_, _, rot := a.Call("POST", "/resources/"+id+"/credentials", token, map[string]any{"invalidate_previous_after_seconds": 30})
	newToken := rot["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 31})
	if st, _, b := a.Call("GET", "/resources/"+id, token, nil); st != 401 || errCode(b) != "credentials_rotated" {
		t.Errorf("old token: %d %v", st, b)
	}

	// Promote (paid: USD 5.00) and upgrade is not possible past the last tier; downgrade to free.
	if st, _, b := a.Call("POST", "/promote/"+id, newToken, map[string]any{"payment_method": "x402", "payment_proof": "p"}); st != 200 {
		t.Fatalf("promote: %d %v", st, b)
	}
	if st, _, b := a.Call("POST", "/resources/"+id+"/upgrade", newToken, map[string]any{"tier_id": "free"}); st != 200 || b["proration"].(map[string]any)["mode"] != "immediate" {
		t.Fatalf("downgrade: %d %v", st, b)
	}

	// Cost for the project: the promotion charge and the (negative) proration.
	_, _, cost := a.Call("GET", "/projects/journey/cost", "", nil)
	if cost["total_count"] != float64(1) || cost["total"].(map[string]any)["amount"] == "0.00" {
		t.Errorf("cost: %v", cost)
	}

	// A hard-block budget of USD 1.00 stops the next paid step.
	a.Call("POST", "/budgets", "", map[string]any{"scope": "project", "scope_id": "journey", "limit": map[string]any{"amount": "1.00", "currency": "USD"}, "enforcement": "hard_block", "period": "monthly"})
	if st, _, b := a.Call("POST", "/resources/"+id+"/upgrade", newToken, map[string]any{"tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p", "proration": "none"}); st != 403 || errCode(b) != "budget_exceeded" {
		t.Errorf("budget block: %d %v", st, b)
	}

	// Deprovision.
	if st, _, b := a.Call("DELETE", "/resources/"+id, newToken, nil); st != 200 || b["status"] != "deprovisioned" {
		t.Errorf("deprovision: %d %v", st, b)
	}
}
