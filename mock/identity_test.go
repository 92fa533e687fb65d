package mock

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/osp"
)

const specTAP = "eyJhbGciOiJFZERTQSIsImtpZCI6ImRpZDprZXk6ejZNa3R3dXBkbUxYVlZxVHpDdzRpNDZyNHVHeW9zR1hSblIzWGpONFpxN29NTXN3IiwidHlwIjoiSldUIn0.eyJhdWQiOiJhY21lZGIuZXhhbXBsZSIsImV4cCI6MTc3NTgxNTIwMCwiaWF0IjoxNzc1ODExMzAwLCJpc3MiOiJkaWQ6a2V5Ono2TWt0d3VwZG1MWFZWcVR6Q3c0aTQ2cjR1R3lvc0dYUm5SM1hqTjRacTdvTU1zdyIsInN1YiI6ImRpZDprZXk6ejZNa3R3dXBkbUxYVlZxVHpDdzRpNDZyNHVHeW9zR1hSblIzWGpONFpxN29NTXN3IiwidHJ1c3RfdGllciI6MX0.tfqIKzkUbfbUzaBGhLBN_nDbn77lEW1HrJm4rlf-EF1n8l0wDj-u87KHHGBesYjpGe2NnYnHPp8p47OHiqYLBQ"

var defaultTAP = osp.TAPPolicy{MaxLifetime: 24 * time.Hour, MaxTrustTier: 3}

func TestTAPSpecVector(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(agentSeed()).Public().(ed25519.PublicKey)
	if osp.DIDKey(pub) != "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw" {
		t.Fatalf("did:key %s", osp.DIDKey(pub))
	}
	at := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	id, err := osp.VerifyTAP(specTAP, "acmedb.example", at, defaultTAP)
	if err != nil || id.TrustTier != 1 || id.Subject != osp.DIDKey(pub) {
		t.Fatalf("vector: %+v %v", id, err)
	}
	for _, tc := range []struct {
		name, token, aud string
		at               time.Time
		policy           osp.TAPPolicy
		reason, code     string
	}{
		{"expired", specTAP, "acmedb.example", at.Add(2 * time.Hour), defaultTAP, "expired", ""},
		{"early", specTAP, "acmedb.example", at.Add(-time.Hour), defaultTAP, "not_yet_valid", ""},
		{"audience", specTAP, "skyhost.example", at, defaultTAP, "audience_mismatch", ""},
		{"lifetime", specTAP, "acmedb.example", at, osp.TAPPolicy{MaxLifetime: time.Minute, MaxTrustTier: 3}, "lifetime_too_long", ""},
		{"tier ceiling", specTAP, "acmedb.example", at, osp.TAPPolicy{MaxLifetime: 24 * time.Hour, MaxTrustTier: 0}, "invalid_trust_tier", ""},
		{"revoked", specTAP, "acmedb.example", at, osp.TAPPolicy{MaxLifetime: 24 * time.Hour, MaxTrustTier: 3, Revoked: []string{"did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"}}, "", "attestation_revoked"},
		{"tampered", specTAP[:len(specTAP)-4] + "AAAA", "acmedb.example", at, defaultTAP, "bad_signature", ""},
		{"malformed", "not.a.token!", "acmedb.example", at, defaultTAP, "malformed", ""},
	} {
		_, err := osp.VerifyTAP(tc.token, tc.aud, tc.at, tc.policy)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if tc.code != "" && err.Code != tc.code || tc.reason != "" && err.Details["reason"] != tc.reason {
			t.Errorf("%s: %s %v", tc.name, err.Code, err.Details)
		}
	}
}

// MakeTAP signs a TAP attestation as an agent would (tests and the demo use it).
func makeTAP(seed []byte, aud string, iat time.Time, lifetime time.Duration, tier int) string {
	priv := ed25519.NewKeyFromSeed(seed)
	return agenttest.TAP(priv, osp.DIDKey(priv.Public().(ed25519.PublicKey)), aud, iat, lifetime, tier)
}

func TestIdentityOnTheWire(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	now := f.sb.clock.Now()
	tier1 := makeTAP(agentSeed(), "acmedb.example", now, time.Hour, 1)
	tier2 := makeTAP(agentSeed(), "acmedb.example", now, time.Hour, 2)
	other := makeTAP(make([]byte, 32), "acmedb.example", now, time.Hour, 2)
	enterprise := map[string]any{"offering_id": "acmedb/search", "tier_id": "enterprise", "payment_method": "stripe_spt", "payment_proof": "tok"}
	if st, h, b := a.Call("POST", "/provision", "", enterprise); st != 401 || errCode(b) != "unauthorized" || h.Get("WWW-Authenticate") == "" {
		t.Errorf("no identity: %d %v", st, b)
	}
	st, _, b := a.Call("POST", "/provision", tier1, enterprise)
	d, _ := b["error"].(map[string]any)["details"].(map[string]any)
	if st != 403 || errCode(b) != "trust_tier_insufficient" || d["required_tier"] != float64(2) || d["agent_tier"] != float64(1) {
		t.Errorf("tier 1: %d %v", st, b)
	}
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/caps"}.Call("PUT", "/providers/acmedb.example", "", map[string]any{"monthly_limit": map[string]any{"amount": "1000.00", "currency": "USD"}})
	st, _, res := a.Call("POST", "/provision", tier2, enterprise)
	if st != 201 {
		t.Fatalf("tier 2: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	// The owner reaches the resource with its attestation; no token is not enough; another agent is refused.
	if st, _, _ := a.Call("GET", "/resources/"+id, tier1, nil); st != 200 {
		t.Errorf("owner: %d", st)
	}
	if st, _, _ := a.Call("GET", "/resources/"+id, "", nil); st != 401 {
		t.Errorf("anonymous on an owned resource: %d", st)
	}
	if st, _, b := a.Call("GET", "/resources/"+id, other, nil); st != 403 || errCode(b) != "forbidden" {
		t.Errorf("another agent: %d %v", st, b)
	}
	// Wrong audience, an unknown API key, and an OIDC token nobody trusts.
	wrongAud := makeTAP(agentSeed(), "skyhost.example", now, time.Hour, 1)
	if st, _, b := a.Call("POST", "/provision", wrongAud, map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}); st != 403 || b["error"].(map[string]any)["details"].(map[string]any)["reason"] != "audience_mismatch" {
		t.Errorf("audience: %d %v", st, b)
	}
	if st, _, b := a.Call("POST", "/provision", "osp_ak_nope", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}); st != 403 || errCode(b) != "identity_verification_failed" {
		t.Errorf("api key: %d %v", st, b)
	}
	if st, _, b := a.Call("POST", "/provision", "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}); st != 403 || errCode(b) != "identity_issuer_unknown" {
		t.Errorf("oidc: %d %v", st, b)
	}
	// An attestation and a different agent_public_key disagree.
	pub2 := "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	if st, _, b := a.Call("POST", "/provision", other, map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "agent_public_key": pub2}); st != 403 || b["error"].(map[string]any)["details"].(map[string]any)["reason"] != "key_mismatch" {
		t.Errorf("key mismatch: %d %v", st, b)
	}
}
