package mock

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// oidcFixture is a workspace whose acmedb manifest advertises two issuers, one of them
// configured with an RSA, an EC and an Ed25519 key.
type oidcFixture struct {
	*fixture
	keys map[jose.SignatureAlgorithm]any
}

const (
	trustedIssuer   = "https://login.example.test"
	keylessIssuer   = "https://keyless.example.test"
	untrustedIssuer = "https://elsewhere.example.test"
)

func newOIDCFixture(t testing.TB) *oidcFixture {
	f := newFixture(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rsaKey.PublicKey, KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		{Key: &ecKey.PublicKey, KeyID: "ec", Algorithm: "ES256", Use: "sig"},
		{Key: edKey.Public(), KeyID: "ed", Algorithm: "EdDSA", Use: "sig"},
	}}
	jwks, _ := json.Marshal(set)
	os.WriteFile(filepath.Join(f.dir, "issuer-keys.json"), jwks, 0o644)
	cfg := `{"name": "sample", "osp": {"default_provider": "acmedb"},
		"identity": {"oidc": [{"issuer": "` + trustedIssuer + `", "jwks_file": "issuer-keys.json", "trust_tier": 2}]}}`
	os.WriteFile(filepath.Join(f.dir, "ospbox.json"), []byte(cfg), 0o644)
	manifestPath := filepath.Join(f.dir, "providers", "acmedb", "osp.json")
	var m map[string]any
	raw, _ := os.ReadFile(manifestPath)
	json.Unmarshal(raw, &m)
	m["extensions"] = map[string]any{"osp_identity_federation": []any{trustedIssuer, map[string]any{"issuer": keylessIssuer}}}
	raw, _ = json.MarshalIndent(m, "", "  ")
	os.WriteFile(manifestPath, raw, 0o644)
	f.sb.ReloadPaths(context.Background(), []string{"ospbox.json", "providers/acmedb/osp.json"})
	if p := f.sb.Snapshot().Provider("acmedb"); p == nil || p.Serving == nil || len(p.Report.Errors) > 0 {
		t.Fatalf("acmedb with federation: %+v", p.Report.Errors)
	}
	return &oidcFixture{fixture: f, keys: map[jose.SignatureAlgorithm]any{jose.RS256: rsaKey, jose.ES256: ecKey, jose.EdDSA: edKey}}
}

// token signs claims with the fixture's key for alg (kid set) or with key when given.
func (f *oidcFixture) token(t testing.TB, alg jose.SignatureAlgorithm, claims jwt.Claims, key ...any) string {
	k := f.keys[alg]
	if len(key) > 0 {
		k = key[0]
	}
	kid := map[jose.SignatureAlgorithm]string{jose.RS256: "rsa", jose.ES256: "ec", jose.EdDSA: "ed"}[alg]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims(iss string) jwt.Claims {
	now := time.Now()
	return jwt.Claims{Issuer: iss, Subject: "agent-7", Audience: jwt.Audience{"acmedb.example"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
}

func TestOIDCTokensFromATrustedIssuer(t *testing.T) {
	f := newOIDCFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		tok := f.token(t, alg, validClaims(trustedIssuer))
		st, _, res := a.Call("POST", "/provision", tok, map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
		if st != 201 {
			t.Fatalf("%s bearer: %d %v", alg, st, res)
		}
		// The token's subject owns the resource: the same identity reads it without the access token.
		if st, _, body := a.Call("GET", "/resources/"+res["resource_id"].(string), tok, nil); st != 200 {
			t.Errorf("%s owner reads its resource: %d %v", alg, st, body)
		}
		// Another subject of the same issuer is not the owner.
		other := validClaims(trustedIssuer)
		other.Subject = "agent-8"
		if st, _, body := a.Call("GET", "/resources/"+res["resource_id"].(string), f.token(t, alg, other), nil); st != 403 || errCode(body) != "forbidden" {
			t.Errorf("%s other subject: %d %v", alg, st, body)
		}
	}
	// Dialect C's carrier, with members that agree with the token.
	tok := f.token(t, jose.ES256, validClaims(trustedIssuer))
	st, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free",
		"authentication": map[string]any{"method": "oidc", "token": tok, "issuer": trustedIssuer, "audience": "acmedb.example", "subject": "agent-7"}})
	if st != 201 {
		t.Errorf("C carrier: %d %v", st, res)
	}
	// Dialect B's carrier.
	st, _, res = a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free",
		"agent_identity": map[string]any{"method": "oauth2_client", "credential": tok}})
	if st != 201 {
		t.Errorf("B carrier: %d %v", st, res)
	}
}

func TestOIDCFailures(t *testing.T) {
	f := newOIDCFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	expired := validClaims(trustedIssuer)
	expired.IssuedAt, expired.Expiry = jwt.NewNumericDate(time.Now().Add(-2*time.Hour)), jwt.NewNumericDate(time.Now().Add(-time.Hour))
	early := validClaims(trustedIssuer)
	early.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
	wrongAud := validClaims(trustedIssuer)
	wrongAud.Audience = jwt.Audience{"someone-else"}
	noSub := validClaims(trustedIssuer)
	noSub.Subject = ""
	cases := []struct {
		name, token, code, reason string
		carrier                   map[string]any
	}{
		{"issuer not advertised", f.token(t, jose.ES256, validClaims(untrustedIssuer)), "identity_issuer_unknown", "", nil},
		{"advertised issuer without keys", f.token(t, jose.ES256, validClaims(keylessIssuer)), "identity_verification_failed", "issuer_keys_unavailable", nil},
		{"signed by another key", f.token(t, jose.EdDSA, validClaims(trustedIssuer), stranger), "identity_verification_failed", "bad_signature", nil},
		{"expired", f.token(t, jose.RS256, expired), "identity_verification_failed", "expired", nil},
		{"not yet valid", f.token(t, jose.RS256, early), "identity_verification_failed", "not_yet_valid", nil},
		{"audience", f.token(t, jose.ES256, wrongAud), "identity_verification_failed", "audience_mismatch", nil},
		{"no subject", f.token(t, jose.ES256, noSub), "identity_verification_failed", "missing_claim", nil},
		{"HS256", "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUudGVzdCJ9.c2ln", "identity_verification_failed", "unsupported_alg", nil},
		{"carrier subject differs", f.token(t, jose.ES256, validClaims(trustedIssuer)), "identity_verification_failed", "sub_mismatch",
			map[string]any{"method": "oidc", "subject": "agent-9"}},
		{"carrier issuer differs", f.token(t, jose.ES256, validClaims(trustedIssuer)), "identity_verification_failed", "issuer_mismatch",
			map[string]any{"method": "oidc", "issuer": keylessIssuer}},
	}
	for _, c := range cases {
		body := map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}
		bearer := c.token
		if c.carrier != nil {
			c.carrier["token"], bearer = c.token, ""
			body["authentication"] = c.carrier
		}
		st, _, res := a.Call("POST", "/provision", bearer, body)
		reason, _ := func() (any, bool) {
			d, ok := res["error"].(map[string]any)["details"].(map[string]any)
			if !ok {
				return nil, false
			}
			return d["reason"], true
		}()
		if st != 403 || errCode(res) != c.code || (c.reason != "" && reason != c.reason) {
			t.Errorf("%s: %d %v, want 403 %s %s", c.name, st, res, c.code, c.reason)
		}
	}
}

// FuzzOIDCBearer sends arbitrary bearer JWTs to a provider that trusts an issuer: every answer
// is a 2xx or a 4xx in the error envelope, never a 5xx.
func FuzzOIDCBearer(f *testing.F) {
	fx := newOIDCFixture(f)
	f.Add(fx.token(f, jose.ES256, validClaims(trustedIssuer)))
	f.Add(fx.token(f, jose.RS256, validClaims(untrustedIssuer)))
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		req := httptest.NewRequest("POST", "http://127.0.0.1:7410/providers/acmedb/osp/v1/provision", strings.NewReader(`{"offering_id":"acmedb/redis","tier_id":"free"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		fx.sb.ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`)) {
			t.Fatalf("status %d for %q: %s", rec.Code, token, rec.Body)
		}
	})
}
