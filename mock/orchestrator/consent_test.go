package orchestrator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

const oauthWorkspace = `{"name": "consent", "orchestrator": {"providers": {"skyhost": {"account_creation": "oauth"}}}}`

// noFollow hands back each redirect, the way a test walks the browser's steps.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func redirect(t *testing.T, method, u string, form url.Values) *url.URL {
	t.Helper()
	var resp *http.Response
	var err error
	if form != nil {
		resp, err = noFollow.PostForm(u, form)
	} else {
		resp, err = noFollow.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("%s %s: %d, not a redirect", method, u, resp.StatusCode)
	}
	next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// TestOAuthFlowWithGoOAuth2: golang.org/x/oauth2 as the client of a workspace provider's
// authorization server, found the way the profile says — the 401's resource_metadata, the RFC
// 9728 document, the RFC 8414 document at its inserted address — then authorization code with
// PKCE S256, the user's answer on the consent form (one scope left unticked), the exchange, the
// provider enforcing exactly the granted scopes, expiry on the workspace clock, refresh with
// rotation, replay of a rotated refresh token ending the grant, and revocation.
func TestOAuthFlowWithGoOAuth2(t *testing.T) {
	f := mocktest.NewWith(t, map[string]string{"ospbox.json": oauthWorkspace})
	ctx := context.Background()
	sky := agenttest.Agent{T: t, Base: f.URL + "/providers/skyhost/osp/v1"}
	st, hdr, _ := sky.Call("POST", "/accounts", "", map[string]any{})
	challenge := hdr.Get("WWW-Authenticate")
	prmURL, _, _ := strings.Cut(strings.TrimPrefix(challenge, `Bearer resource_metadata="`), `"`)
	if st != 401 || prmURL != f.URL+"/providers/skyhost/.well-known/oauth-protected-resource" {
		t.Fatalf("account request: %d %q", st, challenge)
	}
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		Scopes               []string `json:"scopes_supported"`
	}
	getJSON(t, f.URL+"/.well-known/oauth-protected-resource/providers/skyhost", &prm) // RFC 9728 §3.1's address
	if prm.Resource != f.URL+"/providers/skyhost" || len(prm.AuthorizationServers) != 1 || len(prm.Scopes) != 3 {
		t.Fatalf("protected resource metadata: %+v", prm)
	}
	var md struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		Methods               []string `json:"code_challenge_methods_supported"`
	}
	getJSON(t, f.URL+"/.well-known/oauth-authorization-server/providers/skyhost/oauth", &md) // RFC 8414 §3.1's
	if md.Issuer != prm.AuthorizationServers[0] || !slices.Contains(md.Methods, "S256") || md.TokenEndpoint == "" {
		t.Fatalf("authorization server metadata: %+v", md)
	}

	conf := &oauth2.Config{ClientID: "ospbox-orchestrator", RedirectURL: f.URL + "/orchestrator/v1/oauth/callback",
		Scopes: []string{"provision", "resources:read", "offline_access"}, Endpoint: oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint,
			TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}}
	// Without PKCE the server refuses at once.
	if u := redirect(t, "GET", conf.AuthCodeURL("s0"), nil); u.Query().Get("error") != "invalid_request" {
		t.Errorf("no PKCE: %s", u)
	}
	verifier := oauth2.GenerateVerifier()
	login := redirect(t, "GET", conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)), nil)
	request := login.Query().Get("request")
	if login.Path != "/ui/consent" || request == "" {
		t.Fatalf("the authorization request sent the browser to %s", login)
	}
	// The user ticks provision only: resources:read is asked but not granted.
	callback := redirect(t, "POST", md.Issuer+"/consent", url.Values{"request": {request}, "decision": {"approve"}, "choose": {"1"}, "scope": {"provision"}})
	back := redirect(t, "GET", callback.String(), nil)
	if back.Query().Get("state") != "s1" || back.Query().Get("code") == "" {
		t.Fatalf("the callback sent the browser to %s", back)
	}
	if _, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption("wrong-"+verifier)); err == nil {
		t.Error("a wrong PKCE verifier was accepted")
	}
	// The failed attempt used the code up (RFC 6749 §4.1.2): walk the flow again.
	login = redirect(t, "GET", conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)), nil)
	callback = redirect(t, "POST", md.Issuer+"/consent", url.Values{"request": {login.Query().Get("request")}, "decision": {"approve"}, "choose": {"1"}, "scope": {"provision"}})
	back = redirect(t, "GET", callback.String(), nil)
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.Expiry.IsZero() || !strings.Contains(tok.Extra("scope").(string), "provision") || strings.Contains(tok.Extra("scope").(string), "resources:read") {
		t.Fatalf("token: %+v scope %v", tok, tok.Extra("scope"))
	}

	// The provider allows exactly what was granted.
	st, _, res := sky.Call("POST", "/provision", tok.AccessToken, map[string]any{"offering_id": "skyhost/static-site", "tier_id": "hobby"})
	if st != 201 && st != 202 {
		t.Fatalf("provision with the grant: %d %v", st, res)
	}
	st, hdr, body := sky.Call("GET", "/resources/"+res["resource_id"].(string), tok.AccessToken, nil)
	if st != 403 || agenttest.ErrCode(body) != "insufficient_scope" || !strings.Contains(hdr.Get("WWW-Authenticate"), `scope="resources:read"`) {
		t.Errorf("a read without resources:read: %d %v %s", st, body, hdr.Get("WWW-Authenticate"))
	}
	if st, _, body := sky.Call("POST", "/accounts", tok.AccessToken, nil); st != 200 || body["method"] != "oauth" {
		t.Errorf("the account with the grant: %d %v", st, body)
	}

	// An hour on the workspace clock expires the access token; the refresh token renews it
	// and rotates.
	ctl := agenttest.Agent{T: t, Base: f.URL}
	ctl.Call("POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 3601})
	if st, _, body := sky.Call("POST", "/provision", tok.AccessToken, map[string]any{"offering_id": "skyhost/static-site", "tier_id": "hobby"}); st != 401 || agenttest.ErrCode(body) != "token_expired" {
		t.Errorf("an expired access token: %d %v", st, body)
	}
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v %+v", err, fresh)
	}
	if st, _, body := sky.Call("POST", "/provision", fresh.AccessToken, map[string]any{"offering_id": "skyhost/static-site", "tier_id": "hobby"}); st != 201 && st != 202 {
		t.Errorf("provision after the refresh: %d %v", st, body)
	}
	// The rotated-out refresh token, replayed, is refused and ends the grant.
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("a rotated refresh token was accepted again")
	}
	if st, _, body := sky.Call("POST", "/provision", fresh.AccessToken, map[string]any{"offering_id": "skyhost/static-site", "tier_id": "hobby"}); st != 401 || agenttest.ErrCode(body) != "invalid_token" {
		t.Errorf("after a replayed refresh token: %d %v", st, body)
	}

	// Deny: the client gets access_denied with its state.
	login = redirect(t, "GET", conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(verifier)), nil)
	denied := redirect(t, "POST", md.Issuer+"/consent", url.Values{"request": {login.Query().Get("request")}, "decision": {"deny"}})
	if denied.Query().Get("error") != "access_denied" || denied.Query().Get("state") != "s3" || denied.Query().Get("iss") != md.Issuer {
		t.Errorf("deny: %s", denied)
	}
	// The same request cannot be answered twice, and a foreign site cannot answer one.
	resp, _ := noFollow.PostForm(md.Issuer+"/consent", url.Values{"request": {login.Query().Get("request")}, "decision": {"approve"}})
	if resp.StatusCode != 404 && resp.StatusCode != 409 {
		t.Errorf("a second answer: %d", resp.StatusCode)
	}
	login = redirect(t, "GET", conf.AuthCodeURL("s4", oauth2.S256ChallengeOption(verifier)), nil)
	req, _ := http.NewRequest("POST", md.Issuer+"/consent", strings.NewReader(url.Values{"request": {login.Query().Get("request")}, "decision": {"approve"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := noFollow.Do(req); resp.StatusCode != 403 {
		t.Errorf("a cross-site answer: %d", resp.StatusCode)
	}
	// A provider that creates accounts from attestations has no authorization server.
	if st, _, _ := ctl.Call("GET", "/providers/acmedb/.well-known/oauth-protected-resource", "", nil); st != 404 {
		t.Errorf("acmedb's metadata: %d", st)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", u, err, resp)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestConsentAnsweredOnce: eight answers to one consent at once (a script and a person, say):
// one approves it, the others get 409, and the consent stays approved with its tokens.
func TestConsentAnsweredOnce(t *testing.T) {
	f := mocktest.NewWith(t, map[string]string{"ospbox.json": oauthWorkspace})
	a := agenttest.Agent{T: t, Base: f.URL}
	_, _, p := a.Call("POST", "/orchestrator/v1/projects", "", map[string]any{"name": "race"})
	token := p["token"].(string)
	st, _, c := a.Call("POST", "/orchestrator/v1/projects/"+p["id"].(string)+"/consents", token,
		map[string]any{"provider_id": "skyhost.example", "resource_metadata": f.URL + "/providers/skyhost/.well-known/oauth-protected-resource"})
	if st != 201 {
		t.Fatalf("consent: %d %v", st, c)
	}
	id := c["consent_id"].(string)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = call("POST", f.URL+"/orchestrator/v1/consents/"+id+"/approve", map[string]any{}, "Authorization", "Bearer "+token)
		}()
	}
	wg.Wait()
	ok := 0
	for _, code := range codes {
		switch code {
		case 200:
			ok++
		case 409:
		default:
			t.Errorf("an answer got %d", code)
		}
	}
	if ok != 1 {
		t.Errorf("%d answers approved it, want 1: %v", ok, codes)
	}
	if st, _, got := a.Call("GET", "/orchestrator/v1/consents/"+id, token, nil); st != 200 || got["status"] != "approved" {
		t.Errorf("after the race: %d %v", st, got)
	}
	if st, _, tok := a.Call("POST", "/orchestrator/v1/consents/"+id+"/token", token, map[string]any{}); st != 200 || tok["access_token"] == "" {
		t.Errorf("token: %d %v", st, tok)
	}
}
