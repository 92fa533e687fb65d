package orchestrator

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// OAuth consent, the orchestrator's side (spec/orchestrator.md §3). A provider that links accounts
// by consent answers the account request with 401 and a resource_metadata URL; the orchestrator
// reads that Protected Resource Metadata (RFC 9728) and its authorization server's metadata
// (RFC 8414), and starts an authorization-code flow with PKCE S256 as the OAuth client
// (golang.org/x/oauth2). The user answers on the provider's consent page (in the ospbox UI), or a
// script answers for them (approve); the answer comes back to /orchestrator/v1/oauth/callback,
// where the code is exchanged. The orchestrator then holds the tokens, sealed like the vault, and
// hands the agent a live access token on request, refreshing it when it has expired on the
// workspace clock. Revoking the project revokes the grant at the provider (RFC 7009).

// consentDesk is the engine's OAuth client side: consents, their tokens and the callback.
type consentDesk struct{ *Engine }

// ClientID is the orchestrator's OAuth client id: the one client workspace providers' servers
// know.
const ClientID = authserver.ClientID

// CallbackPath is where authorization servers send the user's answer.
const CallbackPath = authserver.CallbackPath

// consentLife is how long a consent waits for its answer.
const consentLife = 15 * time.Minute

// partyClient makes the orchestrator's calls to other parties (providers and their authorization
// servers). It hands redirects back instead of following them: in the OAuth flow the orchestrator
// reads where each step sends the browser, and a provider's API answers where it is asked.
var partyClient = &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// sendForm makes one request, with form as its urlencoded body when it is not nil.
func sendForm(ctx context.Context, method, u string, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return partyClient.Do(req)
}

// ConsentJSON is a consent as the API answers it.
func ConsentJSON(c storage.Consent) map[string]any {
	out := map[string]any{"consent_id": c.ID, "project_id": c.ProjectID, "provider_id": c.ProviderID, "provider_url": c.ProviderURL,
		"authorization_server": c.Issuer, "scopes": strings.Fields(c.Scopes), "status": c.Status,
		"created_at": c.CreatedAt.UTC().Format(time.RFC3339), "expires_at": c.ExpiresAt.UTC().Format(time.RFC3339)}
	if c.Status == "pending" {
		out["authorization_url"] = c.AuthorizeURL
	}
	if c.Error != "" {
		out["error"] = c.Error
	}
	if c.GrantedScopes != "" || c.Status == "approved" {
		out["granted_scopes"] = strings.Fields(c.GrantedScopes)
	}
	if c.DecidedAt != nil {
		out["decided_at"] = c.DecidedAt.UTC().Format(time.RFC3339)
	}
	if c.TokenExpiresAt != nil {
		out["token_expires_at"] = c.TokenExpiresAt.UTC().Format(time.RFC3339)
	}
	return out
}

// asMetadata is what the orchestrator reads of an authorization server's RFC 8414 document.
type asMetadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// ServerMetadata reads an issuer's RFC 8414 metadata: the RFC's own address (the well-known name
// inserted before the issuer's path) first, then the name appended, then OpenID discovery.
func ServerMetadata(ctx context.Context, issuer string) (asMetadata, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return asMetadata{}, fmt.Errorf("the authorization server %q is not a URL", issuer)
	}
	var errs []string
	for _, candidate := range []string{
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.Path, "/"),
		strings.TrimSuffix(issuer, "/") + "/.well-known/oauth-authorization-server",
		strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration",
	} {
		var md asMetadata
		err := kernel.GetJSON(ctx, partyClient, candidate, &md)
		if err == nil && md.Issuer != issuer {
			err = fmt.Errorf("%s names issuer %q, not %q", candidate, md.Issuer, issuer)
		}
		if err == nil {
			return md, nil
		}
		errs = append(errs, err.Error())
	}
	return asMetadata{}, errors.New(strings.Join(errs, "; "))
}

func unreachable(what string, err error) *Error {
	return &Error{Status: http.StatusBadGateway, Code: "provider_unreachable", Message: what + ": " + err.Error()}
}

// StartConsent begins the flow for project p at the provider whose 401 named resourceMetadata,
// asking for scopes (nil: every scope the resource offers).
func (e consentDesk) StartConsent(ctx context.Context, p storage.Project, resourceMetadata, providerID string, scopes []string, origin string) (storage.Consent, error) {
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	if err := kernel.GetJSON(ctx, partyClient, resourceMetadata, &prm); err != nil {
		return storage.Consent{}, unreachable("the protected resource metadata could not be read", err)
	}
	if prm.Resource == "" || len(prm.AuthorizationServers) == 0 {
		return storage.Consent{}, badRequest("%s is not protected resource metadata (RFC 9728): it needs resource and authorization_servers", resourceMetadata)
	}
	md, err := ServerMetadata(ctx, prm.AuthorizationServers[0])
	if err != nil {
		return storage.Consent{}, unreachable("the authorization server's metadata could not be read", err)
	}
	if !slices.Contains(md.CodeChallengeMethods, "S256") || md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" {
		return storage.Consent{}, &Error{Status: http.StatusBadGateway, Code: "provider_unsupported",
			Message: md.Issuer + " does not offer the authorization code flow with PKCE S256, which the orchestrator requires"}
	}
	if len(scopes) == 0 {
		scopes = prm.ScopesSupported
	}
	for _, s := range scopes {
		if len(prm.ScopesSupported) > 0 && !slices.Contains(prm.ScopesSupported, s) {
			return storage.Consent{}, badRequest("the provider offers the scopes %s, not %q", strings.Join(prm.ScopesSupported, ", "), s)
		}
	}
	scopes = append(slices.Clone(scopes), "offline_access")
	now := e.clock.Now()
	c := storage.Consent{ID: kernel.NewID("cns_", now), ProjectID: p.ID, ProviderID: providerID, ProviderURL: prm.Resource, Issuer: md.Issuer,
		TokenURL: md.TokenEndpoint, RevocationURL: md.RevocationEndpoint, Scopes: strings.Join(scopes, " "), State: randomState(),
		Verifier: oauth2.GenerateVerifier(), Status: "pending", CreatedAt: now, ExpiresAt: now.Add(consentLife)}
	conf := oauthConfig(c, md.AuthorizationEndpoint, origin)
	c.AuthorizeURL = conf.AuthCodeURL(c.State, oauth2.S256ChallengeOption(c.Verifier), oauth2.SetAuthURLParam("resource", prm.Resource))
	return c, e.db.Update(ctx, func(tx *storage.Tx) error { return tx.InsertConsent(ctx, c) })
}

func randomState() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func oauthConfig(c storage.Consent, authorize, origin string) *oauth2.Config {
	return &oauth2.Config{ClientID: ClientID, Scopes: strings.Fields(c.Scopes), RedirectURL: origin + CallbackPath,
		Endpoint: oauth2.Endpoint{AuthURL: authorize, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
}

// heldTokens are a consent's tokens as the orchestrator keeps them, sealed.
type heldTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (e consentDesk) sealTokens(c storage.Consent, t heldTokens) ([]byte, error) {
	return e.seal(c.ProjectID, "consent/"+c.ID, map[string]string{"access_token": t.AccessToken, "refresh_token": t.RefreshToken})
}

func (e consentDesk) openTokens(c storage.Consent) (heldTokens, error) {
	m, err := e.open(storage.VaultItem{ProjectID: c.ProjectID, ResourceID: "consent/" + c.ID, Sealed: c.SealedTokens})
	return heldTokens{AccessToken: m["access_token"], RefreshToken: m["refresh_token"]}, err
}

// settle writes c if its stored status is still from; otherwise another answer came first, and
// that is the error.
func (e consentDesk) settle(ctx context.Context, c storage.Consent, from string) error {
	var done bool
	err := e.db.Update(ctx, func(tx *storage.Tx) (err error) {
		done, err = tx.UpdateConsent(ctx, c, from)
		return err
	})
	if err == nil && !done {
		err = &Error{Status: http.StatusConflict, Code: "consent_answered", Message: "consent " + c.ID + " was answered or revoked meanwhile"}
	}
	return err
}

// hold stores tokens a token endpoint answered, with their expiry on the workspace clock, on a
// consent whose stored status is from.
func (e consentDesk) hold(ctx context.Context, c *storage.Consent, tok *oauth2.Token, from string) error {
	sealed, err := e.sealTokens(*c, heldTokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken})
	if err != nil {
		return err
	}
	now := e.clock.Now()
	c.SealedTokens = sealed
	if !tok.Expiry.IsZero() {
		exp := now.Add(time.Until(tok.Expiry)).Truncate(time.Second)
		c.TokenExpiresAt = &exp
	}
	if s, ok := tok.Extra("scope").(string); ok {
		c.GrantedScopes = s
	}
	return e.settle(ctx, *c, from)
}

// finish records the authorization server's answer that came back with state: a code to exchange,
// or an error (access_denied when the user denied).
func (e consentDesk) finish(ctx context.Context, q url.Values, origin string) (storage.Consent, error) {
	c, err := e.db.ConsentByState(ctx, q.Get("state"))
	if errors.Is(err, storage.ErrNotFound) {
		return c, &Error{Status: http.StatusBadRequest, Code: "unknown_state", Message: "this answer's state belongs to no consent the orchestrator asked for"}
	}
	if err != nil {
		return c, err
	}
	if c.Status != "pending" {
		return c, &Error{Status: http.StatusConflict, Code: "consent_answered", Message: "consent " + c.ID + " is already " + c.Status}
	}
	now := e.clock.Now()
	c.DecidedAt = &now
	if iss := q.Get("iss"); iss != "" && iss != c.Issuer { // RFC 9207: the answer must come from the server asked
		c.Status, c.Error = "failed", "the answer names issuer "+iss+", not "+c.Issuer
		return c, e.settle(ctx, c, "pending")
	}
	if code := q.Get("error"); code != "" {
		c.Status, c.Error = "failed", code+": "+q.Get("error_description")
		if code == "access_denied" {
			c.Status = "denied"
		}
		return c, e.settle(ctx, c, "pending")
	}
	tok, err := oauthConfig(c, "", origin).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(c.Verifier))
	if err != nil {
		c.Status, c.Error = "failed", "the code exchange failed: "+err.Error()
		return c, e.settle(ctx, c, "pending")
	}
	c.Status = "approved"
	if err := e.hold(ctx, &c, tok, "pending"); err != nil {
		revokeAt(ctx, c.RevocationURL, tok.RefreshToken) // another answer won: this grant goes unused
		return c, err
	}
	return c, nil
}

// Approve answers a pending consent for the user without a browser (projects add --approve, the
// Orchestrator page's buttons, the desktop window): it walks the flow the browser would — the
// authorization request, the provider's consent form with the given scopes (nil: every one
// asked), the callback — and takes the code at the end. It works with providers
// whose consent page is ospbox's; another provider's answers 409 approve_in_browser.
func (e consentDesk) Approve(ctx context.Context, c storage.Consent, decision string, scopes []string, origin string) (storage.Consent, error) {
	if c.Status != "pending" {
		return c, &Error{Status: http.StatusConflict, Code: "consent_answered", Message: "consent " + c.ID + " is already " + c.Status}
	}
	login, err := location(ctx, http.MethodGet, c.AuthorizeURL, nil)
	if err != nil {
		return c, unreachable("the authorization request failed", err)
	}
	if login.Query().Get("error") != "" && login.Query().Get("state") == c.State {
		return e.finish(ctx, login.Query(), origin)
	}
	request := login.Query().Get("request")
	if request == "" || !strings.HasSuffix(login.Path, "/ui/consent") {
		return c, &Error{Status: http.StatusConflict, Code: "approve_in_browser",
			Message: c.Issuer + " asks the user on its own page; open the authorization URL in a browser", Details: map[string]any{"authorization_url": c.AuthorizeURL}}
	}
	answer := url.Values{"request": {request}, "decision": {decision}}
	if scopes != nil {
		answer["choose"], answer["scope"] = []string{"1"}, scopes
	}
	next, err := location(ctx, http.MethodPost, c.Issuer+"/consent", answer)
	if err != nil {
		return c, unreachable("the consent answer failed", err)
	}
	for i := 0; i < 3 && next.Query().Get("state") != c.State; i++ { // the server's own callback, then back to us
		if next, err = location(ctx, http.MethodGet, next.String(), nil); err != nil {
			return c, unreachable("the authorization callback failed", err)
		}
	}
	return e.finish(ctx, next.Query(), origin)
}

// location makes one request of the flow and returns where its redirect points.
func location(ctx context.Context, method, u string, form url.Values) (*url.URL, error) {
	resp, err := sendForm(ctx, method, u, form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil, fmt.Errorf("%s %s answered %d, not a redirect: %.300s", method, u, resp.StatusCode, raw)
	}
	return resp.Request.URL.Parse(resp.Header.Get("Location"))
}

// AccessToken is a live access token of an approved consent: the held one, or a new one from the
// refresh token when it has expired on the workspace clock (or will within a minute).
func (e consentDesk) AccessToken(ctx context.Context, c storage.Consent, origin string) (string, storage.Consent, bool, error) {
	if c.Status != "approved" {
		return "", c, false, &Error{Status: http.StatusConflict, Code: "consent_not_approved", Message: "consent " + c.ID + " is " + c.Status}
	}
	held, err := e.openTokens(c)
	if err != nil {
		return "", c, false, err
	}
	if c.TokenExpiresAt == nil || e.clock.Now().Add(time.Minute).Before(*c.TokenExpiresAt) {
		return held.AccessToken, c, false, nil
	}
	if held.RefreshToken == "" {
		return "", c, false, &Error{Status: http.StatusConflict, Code: "consent_expired", Message: "the access token expired and the grant has no refresh token: ask for consent again"}
	}
	tok, err := oauthConfig(c, "", origin).TokenSource(ctx, &oauth2.Token{RefreshToken: held.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		c.Status, c.Error = "revoked", "the refresh failed: "+err.Error()
		if uerr := e.settle(ctx, c, "approved"); uerr != nil {
			return "", c, false, uerr
		}
		return "", c, false, &Error{Status: http.StatusUnauthorized, Code: "grant_revoked", Message: "the provider refused the refresh: ask for consent again (" + err.Error() + ")"}
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = held.RefreshToken
	}
	return tok.AccessToken, c, true, e.hold(ctx, &c, tok, "approved")
}

// revokeGrants revokes every approved grant of a project at its authorization server (RFC 7009,
// the refresh token, which ends the whole grant).
func (e consentDesk) revokeGrants(ctx context.Context, projectID string) {
	list, err := e.db.Consents(ctx, projectID, "approved")
	if err != nil {
		return
	}
	for _, c := range list {
		if held, err := e.openTokens(c); err == nil {
			revokeAt(ctx, c.RevocationURL, held.RefreshToken)
		}
		c.Status = "revoked"
		e.settle(ctx, c, "approved")
	}
}

// AnswerConsent is the user's answer to consent id, from the UI (approve or deny; scopes nil
// grants every scope asked); origin is the namespace's.
func (e *Engine) AnswerConsent(ctx context.Context, id, decision string, scopes []string, origin string) (storage.Consent, error) {
	c, err := e.db.Consent(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return c, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no consent " + id}
	}
	if err != nil {
		return c, err
	}
	return consentDesk{e}.Approve(ctx, c, decision, scopes, origin)
}

// revokeAt revokes a refresh token, and so its whole grant, at an RFC 7009 endpoint (best effort:
// revocation is what the orchestrator can ask, not what it can force).
func revokeAt(ctx context.Context, endpoint, refreshToken string) {
	if endpoint == "" || refreshToken == "" {
		return
	}
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {ClientID}}
	if resp, err := sendForm(ctx, http.MethodPost, endpoint, form); err == nil {
		resp.Body.Close()
	}
}
