package orchestrator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// TestIDTokensVerifyWithGoOIDC: a real OIDC client (coreos/go-oidc) discovers ospbox as the
// user's OpenID Provider — at the root and inside a namespace, each its own issuer — fetches the
// JWKS and verifies an ID token for a provider's audience.
func TestIDTokensVerifyWithGoOIDC(t *testing.T) {
	f := mocktest.New(t)
	ctl := agenttest.Agent{T: t, Base: f.URL}
	if st, _, _ := ctl.Call("POST", "/ospbox/v1/namespaces", "", map[string]any{"id": "ci-1"}); st != 201 {
		t.Fatalf("namespace: %d", st)
	}
	for _, issuer := range []string{f.URL, f.URL + "/ns/ci-1"} {
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, issuer)
		if err != nil {
			t.Fatalf("discovery at %s: %v", issuer, err)
		}
		a := agenttest.Agent{T: t, Base: issuer}
		st, _, body := a.Call("POST", "/orchestrator/v1/id_token", "", map[string]any{"audience": "acmedb.example", "nonce": "n-1"})
		if st != 201 {
			t.Fatalf("id_token: %d %v", st, body)
		}
		tok, err := provider.Verifier(&oidc.Config{ClientID: "acmedb.example"}).Verify(ctx, body["id_token"].(string))
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		var claims struct {
			Email    string `json:"email"`
			Verified bool   `json:"email_verified"`
			Nonce    string `json:"nonce"`
			JTI      string `json:"jti"`
		}
		tok.Claims(&claims)
		if tok.Issuer != issuer || tok.Subject != "usr_dev" || claims.Email != "dev@example.test" || !claims.Verified || claims.Nonce != "n-1" || claims.JTI == "" {
			t.Errorf("token %+v claims %+v", tok, claims)
		}
		// Another audience's verifier refuses it.
		if _, err := provider.Verifier(&oidc.Config{ClientID: "skyhost.example"}).Verify(ctx, body["id_token"].(string)); err == nil {
			t.Error("a token for acmedb verified for skyhost")
		}
	}
	a := agenttest.Agent{T: t, Base: f.URL}
	for _, bad := range []string{`{}`, `{"audience": "x", "expires_in_seconds": 301}`, `{"audience": "x", "extra": 1}`, `not json`} {
		if st, _, body := a.Call("POST", "/orchestrator/v1/id_token", "", bad); st != 400 || agenttest.ErrCode(body) != "invalid_request" {
			t.Errorf("%s: %d %v", bad, st, body)
		}
	}
}

// call sends a JSON request without the testing helpers, for use from many goroutines.
func call(method, url string, body any, hdr ...string) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out, nil
}

const tightCaps = `{"name": "caps", "orchestrator": {"caps": {"per_provider": {"amount": "100.00", "currency": "USD"}, "user": {"amount": "250.00", "currency": "USD"}}}}`

// TestConcurrentIssuesNeverReservePastACap: 500 token issues at once across three providers
// never reserve more than a provider's cap or the user's; every refusal is 402 budget_exceeded,
// and what /spend reports is exactly what was issued.
func TestConcurrentIssuesNeverReservePastACap(t *testing.T) {
	f := mocktest.NewWith(t, map[string]string{"ospbox.json": tightCaps})
	providers := []string{"acmedb.example", "skyhost.example", "third.example"}
	var mu sync.Mutex
	issued := map[string]int64{}
	var wg sync.WaitGroup
	errs := make(chan string, 500)
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			provider := providers[i%3]
			c := int64(100 + (i*37)%900) // 1.00 … 9.99
			st, body, err := call("POST", f.URL+"/orchestrator/v1/payment_tokens", map[string]any{"provider_id": provider,
				"max_amount": map[string]string{"amount": fmt.Sprintf("%d.%02d", c/100, c%100), "currency": "USD"}})
			switch {
			case err != nil:
				errs <- err.Error()
			case st == 201:
				mu.Lock()
				issued[provider] += c
				mu.Unlock()
			case st != 402 || agenttest.ErrCode(body) != "budget_exceeded":
				errs <- fmt.Sprintf("%d %v", st, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var total int64
	for p, c := range issued {
		total += c
		if c > 10000 {
			t.Errorf("%s: %d cents reserved past its 100.00 cap", p, c)
		}
	}
	if total > 25000 {
		t.Errorf("%d cents reserved past the user's 250.00 cap", total)
	}
	if total < 24000 {
		t.Errorf("only %d cents issued: the caps refused tokens that fit", total)
	}
	_, _, spend := agenttest.Agent{T: t, Base: f.URL}.Call("GET", "/orchestrator/v1/spend", "", nil)
	if got := spend["user"].(map[string]any)["reserved"].(map[string]any)["amount"]; got != fmt.Sprintf("%d.%02d", total/100, total%100) {
		t.Errorf("spend says %v reserved, the issues add up to %d cents", got, total)
	}
}

// TestRedemption: the provider redeems with its key, at most the token's maximum, once, before
// expiry; everything else gets its documented error, and an expired token's reservation is
// released so the cap has room again.
func TestRedemption(t *testing.T) {
	f := mocktest.NewWith(t, map[string]string{"ospbox.json": tightCaps})
	a := agenttest.Agent{T: t, Base: f.URL}
	_, _, key := a.Call("GET", "/orchestrator/v1/providers/acmedb.example/redemption_key", "", nil)
	_, _, other := a.Call("GET", "/orchestrator/v1/providers/skyhost.example/redemption_key", "", nil)
	acmeKey, skyKey := key["redemption_key"].(string), other["redemption_key"].(string)
	if !strings.HasPrefix(acmeKey, "orp_") || acmeKey == skyKey {
		t.Fatalf("keys %q %q", acmeKey, skyKey)
	}
	st, _, tok := a.Call("POST", "/orchestrator/v1/payment_tokens", "", map[string]any{"provider_id": "acmedb.example", "max_amount": map[string]string{"amount": "25.00", "currency": "USD"}})
	if st != 201 || tok["status"] != "issued" || !strings.HasPrefix(tok["id"].(string), "spt_") {
		t.Fatalf("issue: %d %v", st, tok)
	}
	redeem := "/orchestrator/v1/payment_tokens/" + tok["id"].(string) + "/redeem"
	charge := map[string]any{"amount": "20.00", "currency": "USD", "resource_id": "res_1"}
	for _, c := range []struct {
		why, provider, key string
		body               any
		status             int
		code               string
	}{
		{"no credential", "", "", charge, 401, "unauthorized"},
		{"a wrong key", "acmedb.example", skyKey, charge, 401, "unauthorized"},
		{"another provider", "skyhost.example", skyKey, charge, 403, "payment_token_not_yours"},
		{"over the maximum", "acmedb.example", acmeKey, map[string]any{"amount": "25.01", "currency": "USD"}, 402, "amount_exceeds_token"},
		{"another currency", "acmedb.example", acmeKey, map[string]any{"amount": "5.00", "currency": "EUR"}, 400, "invalid_request"},
		{"an unknown member", "acmedb.example", acmeKey, `{"amount": "5.00", "currency": "USD", "tip": "1"}`, 400, "invalid_request"},
		{"the redemption", "acmedb.example", acmeKey, charge, 200, ""},
		{"a second redemption", "acmedb.example", acmeKey, charge, 409, "payment_token_redeemed"},
	} {
		st, _, body := a.Call("POST", redeem, c.key, c.body, "X-Provider-Id", c.provider)
		if st != c.status || agenttest.ErrCode(body) != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.why, st, body, c.status, c.code)
		}
		if c.status == 200 && (body["status"] != "redeemed" || body["released"].(map[string]any)["amount"] != "5.00") {
			t.Errorf("redeemed: %v", body)
		}
	}
	if st, _, body := a.Call("POST", "/orchestrator/v1/payment_tokens/spt_nope/redeem", acmeKey, charge, "X-Provider-Id", "acmedb.example"); st != 404 {
		t.Errorf("unknown token: %d %v", st, body)
	}
	// Fill acmedb's cap: 20.00 spent, 80.00 reserved; the next token does not fit.
	a.Call("POST", "/ospbox/v1/clock/freeze", "", nil)
	st, _, big := a.Call("POST", "/orchestrator/v1/payment_tokens", "", map[string]any{"provider_id": "acmedb.example", "expires_in_seconds": 60, "max_amount": map[string]string{"amount": "80.00", "currency": "USD"}})
	if st != 201 {
		t.Fatalf("80.00: %d %v", st, big)
	}
	if st, _, body := a.Call("POST", "/orchestrator/v1/payment_tokens", "", map[string]any{"provider_id": "acmedb.example", "max_amount": map[string]string{"amount": "0.01", "currency": "USD"}}); st != 402 || body["error"].(map[string]any)["details"].(map[string]any)["scope"] != "provider" {
		t.Fatalf("past the cap: %d %v", st, body)
	}
	// Its expiry releases the reservation: the cap has room again, and redeeming it is too late.
	a.Call("POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 61})
	if st, _, body := a.Call("POST", "/orchestrator/v1/payment_tokens", "", map[string]any{"provider_id": "acmedb.example", "max_amount": map[string]string{"amount": "80.00", "currency": "USD"}}); st != 201 {
		t.Errorf("after the expiry: %d %v", st, body)
	}
	if st, _, body := a.Call("POST", "/orchestrator/v1/payment_tokens/"+big["id"].(string)+"/redeem", acmeKey, charge, "X-Provider-Id", "acmedb.example"); st != 402 || agenttest.ErrCode(body) != "payment_token_expired" {
		t.Errorf("expired: %d %v", st, body)
	}
	_, _, got := a.Call("GET", "/orchestrator/v1/payment_tokens/"+big["id"].(string), "", nil)
	if got["status"] != "released" {
		t.Errorf("the expired token is %v", got["status"])
	}
	// The request log keeps neither the keys nor the ID token.
	_, _, idt := a.Call("POST", "/orchestrator/v1/id_token", "", map[string]any{"audience": "acmedb.example"})
	_, _, log := a.Call("GET", "/ospbox/v1/requests?limit=200", "", nil)
	raw, _ := json.Marshal(log)
	for _, secret := range []string{acmeKey, skyKey, idt["id_token"].(string)} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the request log holds a secret: %.20s…", secret)
		}
	}
}

func TestBadIssuesAndMethods(t *testing.T) {
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL}
	for _, bad := range []any{
		`{"max_amount": {"amount": "1.00", "currency": "USD"}}`,
		`{"provider_id": "acmedb.example"}`,
		`{"provider_id": "acmedb.example", "max_amount": {"amount": "1.001", "currency": "USD"}}`,
		`{"provider_id": "acmedb.example", "max_amount": {"amount": "0", "currency": "USD"}}`,
		`{"provider_id": "acmedb.example", "max_amount": {"amount": "1.00", "currency": "EUR"}}`,
		`{"provider_id": "acmedb.example", "max_amount": {"amount": "1.00", "currency": "USD"}, "expires_in_seconds": 86401}`,
		`{"provider_id": "a b", "max_amount": {"amount": "1.00", "currency": "USD"}}`,
		`{"provider_id": 7}`, `[]`, ``,
		`{"provider_id": "acmedb.example", "max_amount": {"amount": "1.00", "currency": "USD"}, "project_id": "prj_nope"}`,
	} {
		if st, _, body := a.Call("POST", "/orchestrator/v1/payment_tokens", "", bad); st != 400 || agenttest.ErrCode(body) != "invalid_request" {
			t.Errorf("%s: %d %v", bad, st, body)
		}
	}
	if st, h, _ := a.Call("DELETE", "/orchestrator/v1/payment_tokens", "", nil); st != 405 || h.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE: %d %v", st, h)
	}
	if st, _, body := a.Call("GET", "/orchestrator/v1/nothing", "", nil); st != 404 || agenttest.ErrCode(body) != "not_found" {
		t.Errorf("unknown: %d %v", st, body)
	}
	if st, _, _ := a.Call("GET", "/orchestrator/v1/spend", "", nil, "Sec-Fetch-Site", "cross-site"); st != 403 {
		t.Errorf("a cross-site request: %d", st)
	}
}

// TestProvisioningRedeemsAToken: a workspace provider's paid provisioning takes
// payment_method orchestrator_token, redeems the token for the charge in the same transaction,
// and refuses a spent, too small or foreign token without making a resource.
func TestProvisioningRedeemsAToken(t *testing.T) {
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL}
	acme := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	issue := func(provider, amount string) string {
		t.Helper()
		st, _, tok := a.Call("POST", "/orchestrator/v1/payment_tokens", "", map[string]any{"provider_id": provider, "max_amount": map[string]string{"amount": amount, "currency": "USD"}})
		if st != 201 {
			t.Fatalf("issue: %d %v", st, tok)
		}
		return tok["id"].(string)
	}
	provision := func(token any) (int, map[string]any) {
		st, _, body := acme.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "pro", "payment_method": "orchestrator_token", "payment_proof": token})
		return st, body
	}
	tok := issue("acmedb.example", "30.00")
	st, res := provision(tok)
	if st != 201 && st != 202 {
		t.Fatalf("provision: %d %v", st, res)
	}
	_, _, got := a.Call("GET", "/orchestrator/v1/payment_tokens/"+tok, "", nil)
	// The ledger's charge for the resource is what the token paid.
	charges, err := f.DB.ResourceCharges(context.Background(), res["resource_id"].(string), time.Time{}, time.Now().AddDate(1, 0, 0))
	if err != nil || len(charges) != 1 {
		t.Fatalf("charges %v %v", charges, err)
	}
	redeemed, _ := got["redeemed"].(map[string]any)
	if got["status"] != "redeemed" || got["resource_id"] != res["resource_id"] || redeemed["amount"] != charges[0].Amount || charges[0].PaymentToken != tok {
		t.Errorf("token %v, the resource's charge %+v", got, charges[0])
	}
	before, _ := f.DB.Counts(context.Background())
	for _, c := range []struct {
		why    string
		token  any
		status int
		code   string
	}{
		{"a spent token", tok, 409, "payment_token_redeemed"},
		{"a token below the price", map[string]any{"token": issue("acmedb.example", "10.00")}, 402, "amount_exceeds_token"},
		{"another provider's token", issue("skyhost.example", "30.00"), 403, "payment_token_not_yours"},
		{"no token", "", 402, "payment_required"},
	} {
		if st, body := provision(c.token); st != c.status || agenttest.ErrCode(body) != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.why, st, body, c.status, c.code)
		}
	}
	if after, _ := f.DB.Counts(context.Background()); after.Resources != before.Resources {
		t.Errorf("a refused token made a resource: %d → %d", before.Resources, after.Resources)
	}
}

// TestAttestedAccountCreation: a provider makes an account from the user's ID token verified
// against the orchestrator's JWKS over HTTP, keyed by issuer and subject; a replayed, foreign,
// forged, misaddressed or expired attestation is refused; the account's key authenticates its
// provisioning.
func TestAttestedAccountCreation(t *testing.T) {
	f := mocktest.NewWith(t, map[string]string{"ospbox.json": `{"name": "accounts", "orchestrator": {"providers": {"skyhost": {"account_creation": "oauth"}}}}`})
	a := agenttest.Agent{T: t, Base: f.URL}
	acme := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	idToken := func(base, audience string) string {
		t.Helper()
		st, _, body := agenttest.Agent{T: t, Base: base}.Call("POST", "/orchestrator/v1/id_token", "", map[string]any{"audience": audience})
		if st != 201 {
			t.Fatalf("id_token: %d %v", st, body)
		}
		return body["id_token"].(string)
	}
	att := idToken(f.URL, "acmedb.example")
	st, _, acct := acme.Call("POST", "/accounts", "", map[string]any{"attestation": att})
	if st != 201 || acct["created"] != true || acct["email"] != "dev@example.test" || !strings.HasPrefix(acct["api_key"].(string), "osp_ak_acct_") {
		t.Fatalf("account: %d %v", st, acct)
	}
	firstKey := acct["api_key"].(string)
	reason := func(body map[string]any) string {
		d, _ := body["error"].(map[string]any)["details"].(map[string]any)
		r, _ := d["reason"].(string)
		return r
	}
	if st, _, body := acme.Call("POST", "/accounts", "", map[string]any{"attestation": att}); st != 401 || reason(body) != "replayed" {
		t.Errorf("a replayed attestation: %d %v", st, body)
	}
	st, _, again := acme.Call("POST", "/accounts", "", map[string]any{"attestation": idToken(f.URL, "acmedb.example")})
	if st != 200 || again["created"] != false || again["account_id"] != acct["account_id"] || again["api_key"] == firstKey {
		t.Errorf("the same user again: %d %v", st, again)
	}
	// Both keys provision as the account: a second attestation does not take the first key away
	// from a client still using it.
	st, _, res := acme.Call("POST", "/provision", again["api_key"].(string), map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	if st != 201 {
		t.Fatalf("provision with the account key: %d %v", st, res)
	}
	if stored, _ := f.DB.ResourceByID(context.Background(), res["resource_id"].(string)); stored.Owner != acct["account_id"] {
		t.Errorf("the resource's owner is %q, want the account %v", stored.Owner, acct["account_id"])
	}
	if st, _, body := acme.Call("POST", "/provision", firstKey, map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}); st != 201 {
		t.Errorf("the first key: %d %v", st, body)
	}
	if st, _, body := acme.Call("POST", "/provision", "osp_ak_acct_not-a-key", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}); st != 403 || agenttest.ErrCode(body) != "identity_verification_failed" {
		t.Errorf("an unknown account key: %d %v", st, body)
	}
	// Misaddressed, from another namespace's orchestrator, and expired attestations.
	if st, _, body := acme.Call("POST", "/accounts", "", map[string]any{"attestation": idToken(f.URL, "skyhost.example")}); st != 401 || reason(body) != "audience_mismatch" {
		t.Errorf("another audience: %d %v", st, body)
	}
	a.Call("POST", "/ospbox/v1/namespaces", "", map[string]any{"id": "other"})
	if st, _, body := acme.Call("POST", "/accounts", "", map[string]any{"attestation": idToken(f.URL+"/ns/other", "acmedb.example")}); st != 403 || agenttest.ErrCode(body) != "identity_issuer_unknown" {
		t.Errorf("another namespace's issuer: %d %v", st, body)
	}
	late := idToken(f.URL, "acmedb.example")
	a.Call("POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 360})
	if st, _, body := acme.Call("POST", "/accounts", "", map[string]any{"attestation": late}); st != 401 || reason(body) != "expired" {
		t.Errorf("an expired attestation: %d %v", st, body)
	}
	// A token whose signature was tampered with.
	parts := strings.Split(idToken(f.URL, "acmedb.example"), ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if st, _, body := acme.Call("POST", "/accounts", "", map[string]any{"attestation": forged}); st != 401 || reason(body) != "bad_signature" {
		t.Errorf("a forged attestation: %d %v", st, body)
	}
	for _, bad := range []string{`{}`, `{"attestation": 1}`, `{"attestation": "x", "more": 1}`, `nope`} {
		if st, _, body := acme.Call("POST", "/accounts", "", bad); st != 400 && st != 401 {
			t.Errorf("%s: %d %v", bad, st, body)
		}
	}
	// A provider that wants OAuth consent does not create accounts from an attestation: it
	// answers 401 with where its Protected Resource Metadata is (RFC 9728 §5.1).
	sky := agenttest.Agent{T: t, Base: f.URL + "/providers/skyhost/osp/v1"}
	st, hdr, body := sky.Call("POST", "/accounts", "", map[string]any{"attestation": idToken(f.URL, "skyhost.example")})
	want := `Bearer resource_metadata="` + f.URL + `/providers/skyhost/.well-known/oauth-protected-resource"`
	if st != 401 || agenttest.ErrCode(body) != "consent_required" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), want) {
		t.Errorf("an OAuth provider: %d %s %v", st, hdr.Get("WWW-Authenticate"), body)
	}
}
