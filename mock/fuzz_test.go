package mock

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzProvisionRequest sends arbitrary bodies to the provisioning endpoint: it must answer in the
// error envelope or succeed, never with a 500, never by panicking.
func FuzzProvisionRequest(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{
		`{"offering_id":"acmedb/redis","tier_id":"free"}`,
		`{"offering_id":"acmedb/redis","tier_id":"free","sandbox":{"enabled":true,"ttl_hours":3},"metadata":{"a":"b"}}`,
		`{"offering_id":"acmedb/postgres","tier_id":"pro","payment_context":{"method":"stripe","token":"x"},"config":{"a":1}}`,
		`{"offering_id":"acmedb/redis","tier_id":"free","agent_public_key":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		`[]`, `{"metadata":1}`, `{"sandbox":[]}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "http://127.0.0.1:7410/providers/acmedb/osp/v1/provision", strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		fx.sb.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`) {
			t.Fatalf("error without the envelope: %s", rec.Body)
		}
	})
}

// FuzzControlAPI sends arbitrary bodies and query strings to the test-fixture API
// (namespaces, snapshots, the journal): each answer is a success or an error in the envelope,
// never a 500, never a panic, and the default namespace keeps answering.
func FuzzControlAPI(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{
		`{"id":"ns-1","from":"empty","ttl_seconds":60,"labels":{"a":"b"}}`, `{"from":"snapshot:x"}`, `{"id":"UPPER"}`,
		`{"match":{"method":"POST","path":"/**/provision","body":{"/a/0":1}},"count":1}`, `{"match":{"path":"/a/*/b"},"at_most":0}`,
		`{"to":"seed"}`, `[]`, `{"ttl_seconds":-1}`, `SQLite format 3`, ``,
	} {
		f.Add(s, "limit=5&path=/osp/**&status=201")
	}
	paths := []string{"/ospbox/v1/namespaces", "/ospbox/v1/requests/verify", "/ospbox/v1/namespaces/default/reset", "/ospbox/v1/snapshots", "/ospbox/v1/namespaces/default/snapshots"}
	f.Fuzz(func(t *testing.T, body, query string) {
		for _, p := range paths {
			req := httptest.NewRequest("POST", "http://127.0.0.1:7410"+p, strings.NewReader(body))
			rec := httptest.NewRecorder()
			fx.sb.ServeHTTP(rec, req)
			if rec.Code >= 500 || rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`) {
				t.Fatalf("POST %s %q: %d %s", p, body, rec.Code, rec.Body)
			}
		}
		req := httptest.NewRequest("GET", "http://127.0.0.1:7410/ospbox/v1/requests", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		fx.sb.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("GET requests?%s: %d %s", query, rec.Code, rec.Body)
		}
	})
}

// FuzzOrchestratorAPI sends arbitrary bodies to the orchestrator's endpoints and to attested
// account creation: each answer is a success or an error in the envelope, never a 500, never a
// panic.
func FuzzOrchestratorAPI(f *testing.F) {
	fx := newFixture(f)
	issue := httptest.NewRequest("POST", "http://127.0.0.1:7410/orchestrator/v1/payment_tokens",
		strings.NewReader(`{"provider_id":"acmedb.example","max_amount":{"amount":"5.00","currency":"USD"},"expires_in_seconds":86400}`))
	rec := httptest.NewRecorder()
	fx.sb.ServeHTTP(rec, issue)
	var tok struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &tok)
	key, err := fx.sb.Orchestrator().RedemptionKey("acmedb.example")
	if tok.ID == "" || err != nil {
		f.Fatalf("setup: %s %v", rec.Body, err)
	}
	for _, s := range []string{
		`{"provider_id":"acmedb.example","max_amount":{"amount":"1.00","currency":"USD"}}`, `{"audience":"acmedb.example","nonce":"n"}`,
		`{"name":"shop"}`, `{"amount":"1.00","currency":"USD","resource_id":"r"}`, `{"attestation":"a.b.c"}`,
		`{"attestation":"eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjc0MTAifQ.AAAA"}`, `[]`, `{"max_amount":[]}`, `1e999`, ``,
	} {
		f.Add(s)
	}
	paths := []string{"/orchestrator/v1/payment_tokens", "/orchestrator/v1/id_token", "/orchestrator/v1/projects",
		"/orchestrator/v1/payment_tokens/" + tok.ID + "/redeem", "/providers/acmedb/osp/v1/accounts"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			req := httptest.NewRequest("POST", "http://127.0.0.1:7410"+p, strings.NewReader(body))
			req.Header.Set("X-Provider-Id", "acmedb.example")
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			fx.sb.ServeHTTP(rec, req)
			if rec.Code >= 500 || rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`) {
				t.Fatalf("POST %s %q: %d %s", p, body, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzOAuthServer sends arbitrary queries and form bodies to a consent provider's authorization
// server (authorize, token, revoke, the consent answer) and to the orchestrator's callback and
// consent API: each answers in its protocol's error form (RFC 6749's for the server), never a
// 500, never a panic.
func FuzzOAuthServer(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{
		"client_id=ospbox-orchestrator&response_type=code&scope=provision&redirect_uri=http%3A%2F%2F127.0.0.1%3A7410%2Forchestrator%2Fv1%2Foauth%2Fcallback&code_challenge=x&code_challenge_method=S256",
		"grant_type=authorization_code&code=abc&client_id=ospbox-orchestrator&code_verifier=v", "grant_type=refresh_token&refresh_token=osp_oauth_rt_x&client_id=ospbox-orchestrator",
		"token=x&token_type_hint=refresh_token&client_id=ospbox-orchestrator", "request=oar_x&decision=approve&choose=1&scope=provision",
		"code=x&state=y", "error=access_denied&state=y", "%zz", "", `{"resource_metadata":"http://127.0.0.1:1/x"}`,
	} {
		f.Add(s)
	}
	base := "http://127.0.0.1:7410/providers/skyhost/oauth"
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range []*http.Request{
			withQuery(httptest.NewRequest("GET", base+"/authorize", nil), s),
			httptest.NewRequest("POST", base+"/token", strings.NewReader(s)),
			httptest.NewRequest("POST", base+"/revoke", strings.NewReader(s)),
			httptest.NewRequest("POST", base+"/consent", strings.NewReader(s)),
			withQuery(httptest.NewRequest("GET", "http://127.0.0.1:7410/orchestrator/v1/oauth/callback", nil), s),
			httptest.NewRequest("GET", "http://127.0.0.1:7410/.well-known/oauth-authorization-server/"+url.PathEscape(s), nil),
		} {
			if r.Method == "POST" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			fx.sb.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", r.Method, r.URL.Path, s, rec.Code, rec.Body)
			}
		}
	})
}

// withQuery gives r the raw query q, whatever its bytes (as a client on the wire may send).
func withQuery(r *http.Request, q string) *http.Request {
	r.URL.RawQuery = q
	return r
}
