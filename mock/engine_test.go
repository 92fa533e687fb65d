package mock

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/osp"
)

// agent is a minimal OSP client, as an agent developer would write one: plain HTTP, no access
// to the engine.
// agent is an agent's HTTP calls; errCode and agentSeed are agenttest's.
type agent = agenttest.Agent

var (
	errCode   = agenttest.ErrCode
	agentSeed = agenttest.Seed
)

func TestAgentFlowAgainstTheMock(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	seed := agentSeed()
	pub := manifests.B64(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))

	// Provision a sandbox (synchronous offering) with an encrypted bundle.
	st, _, res := a.Call("POST", "/provision", "", map[string]any{
		"offering_id": "acmedb/redis", "tier_id": "free", "agent_public_key": pub,
		"sandbox": map[string]any{"enabled": true, "ttl_hours": 2}, "project_name": "my-app"})
	if st != 201 || res["status"] != "provisioned" || res["sandbox"] != true || res["project_id"] != "proj_my-app" {
		t.Fatalf("provision: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	bundle := res["credentials_bundle"].(map[string]any)
	if bundle["format"] != "encrypted" || res["credentials"] == nil {
		t.Fatalf("bundle must be encrypted with an A mirror: %v", bundle)
	}
	ecRaw, _ := json.Marshal(bundle["encrypted_credentials"])
	var ec osp.EncryptedCredentials
	json.Unmarshal(ecRaw, &ec)
	plain, err := osp.DecryptCredentials(seed, ec)
	if err != nil {
		t.Fatal(err)
	}
	var creds map[string]any
	json.Unmarshal(plain, &creds)
	if u, _ := creds["redis_url"].(string); !strings.HasPrefix(u, "redis://default:") {
		t.Errorf("decrypted credentials %v", creds)
	}
	token := bundle["metadata"].(map[string]any)["resource_access_token"].(string)

	// Status and credentials with the token; credentials without it are refused.
	if st, _, body := a.Call("GET", "/resources/"+id, token, nil); st != 200 || body["status"] != "provisioned" || body["health"] != "healthy" {
		t.Errorf("status: %d %v", st, body)
	}
	for _, alias := range []string{"/resources/" + id + "/status", "/status/" + id} {
		if st, _, _ := a.Call("GET", alias, token, nil); st != 200 {
			t.Errorf("alias %s: %d", alias, st)
		}
	}
	if st, h, body := a.Call("GET", "/resources/"+id+"/credentials", "", nil); st != 401 || errCode(body) != "unauthorized" || h.Get("WWW-Authenticate") == "" {
		t.Errorf("credentials without token: %d %v", st, body)
	}
	if st, _, body := a.Call("GET", "/credentials/"+id, token, nil); st != 200 || body["credentials_bundle"].(map[string]any)["format"] != "encrypted" {
		t.Errorf("credentials with token: %d %v", st, body)
	}

	// Rotate with a 60-second grace: the old token works until the clock passes it.
	st, _, rot := a.Call("POST", "/resources/"+id+"/credentials", token, map[string]any{"invalidate_previous_after_seconds": 60})
	if st != 200 || rot["old_credentials_valid_until"] == nil {
		t.Fatalf("rotate: %d %v", st, rot)
	}
	newToken := rot["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
	if newToken == token || rot["credentials_bundle"].(map[string]any)["version"] != float64(2) {
		t.Errorf("rotation must issue version 2 with a new token")
	}
	if st, _, _ := a.Call("GET", "/resources/"+id, token, nil); st != 200 {
		t.Errorf("old token within grace: %d", st)
	}
	clock := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	if st, _, body := clock.Call("POST", "/advance", "", map[string]any{"seconds": 61}); st != 200 || body["now"] == nil {
		t.Fatalf("advance: %d %v", st, body)
	}
	if st, h, body := a.Call("GET", "/resources/"+id, token, nil); st != 401 || errCode(body) != "credentials_rotated" || h.Get("X-OSP-Credentials-Rotated") != "true" {
		t.Errorf("old token after grace: %d %v", st, body)
	}
	if st, _, _ := a.Call("GET", "/resources/"+id, newToken, nil); st != 200 {
		t.Errorf("new token: %d", st)
	}

	// A second resource's token does not open this one.
	_, _, other := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	otherToken := other["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
	if other["credentials_bundle"].(map[string]any)["format"] != "plaintext" {
		t.Errorf("no agent key: the bundle is plaintext")
	}
	if st, _, body := a.Call("GET", "/resources/"+id, otherToken, nil); st != 403 || errCode(body) != "forbidden" {
		t.Errorf("foreign token: %d %v", st, body)
	}

	// The sandbox expires two hours after provisioning and is removed (auto_destroy).
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 7200})
	if st, _, body := a.Call("GET", "/resources/"+id, newToken, nil); st != 404 || errCode(body) != "resource_not_found" {
		t.Errorf("expired sandbox: %d %v", st, body)
	}

	// Deprovision the other resource; again is a conflict; its credentials are gone.
	oid := other["resource_id"].(string)
	if st, _, body := a.Call("DELETE", "/resources/"+oid, otherToken, map[string]any{"reason": "done"}); st != 200 || body["status"] != "deprovisioned" {
		t.Errorf("deprovision: %d %v", st, body)
	}
	if st, _, body := a.Call("DELETE", "/deprovision/"+oid, otherToken, nil); st != 409 || errCode(body) != "conflict" {
		t.Errorf("deprovision twice: %d %v", st, body)
	}
	if st, _, _ := a.Call("GET", "/resources/"+oid+"/credentials", otherToken, nil); st != 404 {
		t.Errorf("credentials after deprovision: %d", st)
	}
	if st, _, body := a.Call("GET", "/resources/"+oid, otherToken, nil); st != 200 || body["status"] != "deprovisioned" || body["deprovisioned_at"] == nil {
		t.Errorf("status after deprovision: %d %v", st, body)
	}
	events, _ := f.db.EventsOf(t.Context(), oid)
	if len(events) != 2 || events[0].Type != "resource.provisioned" || events[1].Type != "resource.deprovisioned" {
		t.Errorf("events %+v", events)
	}
}

func TestAsynchronousProvisioning(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/osp/v1"} // acmedb is the default provider
	st, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "free"})
	if st != 202 || res["status"] != "provisioning" || res["estimated_ready_seconds"] != float64(20) || res["poll_url"] == nil || res["credentials"] != nil {
		t.Fatalf("async provision: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	if st, _, body := a.Call("GET", "/resources/"+id, "", nil); st != 200 || body["status"] != "provisioning" || body["credentials_bundle"] != nil {
		t.Errorf("status while provisioning: %d %v", st, body)
	}
	clock := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 20})
	st, _, body := a.Call("GET", "/resources/"+id, "", nil)
	if st != 200 || body["status"] != "provisioned" || body["credentials_bundle"] == nil {
		t.Fatalf("first status after completion must carry the bundle: %d %v", st, body)
	}
	creds := body["credentials_bundle"].(map[string]any)["credentials"].(map[string]any)
	if u, _ := creds["connection_uri"].(string); !strings.HasPrefix(u, "postgresql://") || !strings.Contains(u, creds["password"].(string)) {
		t.Errorf("generated credentials %v", creds)
	}
	if _, _, again := a.Call("GET", "/resources/"+id, "", nil); again["credentials_bundle"] != nil {
		t.Error("the bundle is delivered once")
	}
}

func TestProvisioningErrors(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	sky := agent{T: t, Base: f.srv.URL + "/providers/skyhost/osp/v1"}
	tests := []struct {
		name   string
		a      agent
		body   any
		status int
		code   string
	}{
		{"syntax", a, "{\n  \"offering_id\": \"acmedb/redis\",,\n}", 400, "invalid_request"},
		{"shape", a, map[string]any{"offering_id": "acmedb/redis"}, 400, "invalid_request"},
		{"unknown offering", a, map[string]any{"offering_id": "acmedb/mysql", "tier_id": "free"}, 400, "invalid_offering"},
		{"unknown tier", a, map[string]any{"offering_id": "acmedb/redis", "tier_id": "ultra"}, 400, "invalid_tier"},
		{"region", a, map[string]any{"offering_id": "acmedb/postgres", "tier_id": "free", "region": "mars-1"}, 400, "invalid_region"},
		{"no sandbox", a, map[string]any{"offering_id": "acmedb/search", "tier_id": "starter", "mode": "sandbox"}, 400, "sandbox_not_available"},
		{"trust tier", a, map[string]any{"offering_id": "acmedb/search", "tier_id": "enterprise", "payment_method": "stripe_spt", "payment_proof": "tok"}, 401, "unauthorized"},
		{"payment required", sky, map[string]any{"offering_id": "skyhost/object-storage", "tier_id": "standard"}, 402, "payment_required"},
		{"method not accepted", sky, map[string]any{"offering_id": "skyhost/object-storage", "tier_id": "standard", "payment_method": "x402", "payment_proof": "p"}, 402, "payment_required"},
		{"declined", sky, map[string]any{"offering_id": "skyhost/object-storage", "tier_id": "standard", "payment_context": map[string]any{"method": "stripe", "token": "tok_decline"}}, 402, "payment_declined"},
		{"bad agent key", a, map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "agent_public_key": "short"}, 400, "invalid_request"},
		{"ttl conflict", a, map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "sandbox": map[string]any{"enabled": true, "ttl_hours": 1}, "ttl_seconds": 60}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		st, _, body := tt.a.Call("POST", "/provision", "", tt.body)
		if st != tt.status || errCode(body) != tt.code {
			t.Errorf("%s: %d %s, want %d %s: %v", tt.name, st, errCode(body), tt.status, tt.code, body)
		}
	}
	_, _, body := a.Call("POST", "/provision", "", "{\n  \"offering_id\": \"acmedb/redis\",,\n}")
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "line 2, column") {
		t.Errorf("syntax errors carry the position: %s", msg)
	}
	// A paid tier with accepted payment succeeds.
	if st, _, body := sky.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/object-storage", "tier_id": "standard", "payment_method": "stripe_spt", "payment_proof": "tok_ok"}); st != 202 {
		t.Errorf("paid provision: %d %v", st, body)
	}
	if st, h, _ := a.Call("PUT", "/resources/res_x", "", nil); st != 405 || !strings.Contains(h.Get("Allow"), "DELETE") {
		t.Errorf("PUT on a resource: %d %s", st, h.Get("Allow"))
	}
	if st, _, body := a.Call("GET", "/resources/res_unknown", "", nil); st != 404 || errCode(body) != "resource_not_found" {
		t.Errorf("unknown resource: %d %v", st, body)
	}
}

func TestIdempotencyAndNonces(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	body := map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "idempotency_key": "k-1", "nonce": "n-1"}
	st, _, first := a.Call("POST", "/provision", "", body)
	if st != 201 {
		t.Fatalf("first: %d %v", st, first)
	}
	body["nonce"] = "n-2"
	st, h, replay := a.Call("POST", "/provision", "", body)
	if st != 201 || h.Get("Idempotent-Replayed") != "true" || replay["resource_id"] != first["resource_id"] || replay["created_at"] != first["created_at"] {
		t.Errorf("replay: %d %v", st, replay)
	}
	body["nonce"] = "n-3"
	body["tier_id"] = "pay-as-you-go"
	if st, _, b := a.Call("POST", "/provision", "", body); st != 409 || errCode(b) != "conflict" {
		t.Errorf("same key, other body: %d %v", st, b)
	}
	if st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "nonce": "n-1"}); st != 409 || errCode(b) != "nonce_reused" {
		t.Errorf("reused nonce: %d %v", st, b)
	}
	if st, _, _ := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}, "Idempotency-Key", "k-2"); st != 201 {
		t.Errorf("header key: %d", st)
	}
}

func TestClockAPI(t *testing.T) {
	f := newFixture(t)
	c := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	_, _, before := c.Call("GET", "", "", nil)
	_, _, frozen := c.Call("POST", "/freeze", "", nil)
	if frozen["frozen"] != true {
		t.Errorf("freeze: %v", frozen)
	}
	_, _, adv := c.Call("POST", "/advance", "", map[string]any{"seconds": 3600})
	if adv["now"] == before["now"] {
		t.Errorf("advance did not move the clock: %v -> %v", before, adv)
	}
	if st, _, body := c.Call("POST", "/advance", "", map[string]any{"seconds": 0}); st != 400 || errCode(body) != "invalid_request" {
		t.Errorf("zero seconds: %d", st)
	}
	if st, _, _ := c.Call("POST", "/advance", "", map[string]any{"seconds": 5}, "Origin", "http://evil.example"); st != 403 {
		t.Errorf("a cross-origin browser must not move the clock: %d", st)
	}
	if _, _, resumed := c.Call("POST", "/resume", "", nil); resumed["frozen"] != false {
		t.Errorf("resume: %v", resumed)
	}
}
