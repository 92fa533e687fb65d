package osp

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/kernel"
)

// OAuth consent at a provider set to orchestrator.providers.<slug>.account_creation "oauth"
// (spec/orchestrator.md §3): its Protected Resource Metadata (RFC 9728) at
// <mount>/.well-known/oauth-protected-resource, its authorization server under <mount>/oauth, a
// 401 with WWW-Authenticate resource_metadata for an account request without a grant, and the
// granted scopes enforced on its routes.

// oauthProvider is provider p as its authorization server sees it, when p takes OAuth consent.
func (s *core) oauthProvider(p *ProviderState, mount string) (authserver.Provider, bool) {
	cfg := s.view().Config
	pc, ok := cfg.Orchestrator.Providers[p.Slug]
	if !ok || pc.AccountCreation != "oauth" || s.auth == nil || p.Serving == nil {
		return authserver.Provider{}, false
	}
	scopes := pc.Scopes
	if len(scopes) == 0 {
		scopes = authserver.DefaultScopes
	}
	origin := strings.TrimSuffix(mount, "/providers/"+p.Slug)
	m := p.Serving.Manifest
	name := m.ProviderName
	if name == "" {
		name = p.Slug
	}
	return authserver.Provider{Slug: p.Slug, ProviderID: m.ProviderID, DisplayName: name, Mount: mount, Origin: origin, Scopes: scopes,
		UserIssuer: origin, UserSubject: cfg.Orchestrator.User.UserID, UserEmail: cfg.Orchestrator.User.Email}, true
}

// IsOAuthPath reports whether path (relative to a provider's mount) is one of its OAuth routes.
func IsOAuthPath(path string) bool {
	return path == "/.well-known/oauth-protected-resource" || path == "/oauth" || strings.HasPrefix(path, "/oauth/")
}

// serveOAuth answers the provider's OAuth routes.
func (s *core) serveOAuth(w http.ResponseWriter, r *http.Request, p *ProviderState, mount, path string) {
	ap, ok := s.oauthProvider(p, mount)
	if !ok {
		WriteError(w, NewError("not_found", p.Slug+" creates accounts from an attestation and has no OAuth authorization server; "+
			"set orchestrator.providers."+p.Slug+".account_creation to \"oauth\" in ospbox.json for one"))
		return
	}
	if path == "/.well-known/oauth-protected-resource" {
		if Allow(w, r, http.MethodGet, http.MethodHead) {
			kernel.WriteJSON(w, http.StatusOK, ap.ResourceMetadata())
		}
		return
	}
	s.auth.Serve(w, r, ap, strings.TrimPrefix(path, "/oauth"))
}

// consentRequired is the 401 an account request without a grant gets from a provider that takes
// OAuth consent: where its metadata is, in the header and the body.
func consentRequired(w http.ResponseWriter, ap authserver.Provider) {
	w.Header().Set("WWW-Authenticate", ap.Challenge())
	WriteError(w, &Error{Status: http.StatusUnauthorized, Code: "consent_required",
		Message: ap.DisplayName + " links accounts by OAuth consent, not attestation: its Protected Resource Metadata is at " + ap.ResourceMetadataURL(),
		Details: map[string]any{"resource_metadata": ap.ResourceMetadataURL(), "authorization_servers": []string{ap.Issuer()}, "scopes": ap.Scopes}})
}

// oauthIdentity verifies a bearer value as one of the provider's OAuth access tokens; ok is false
// when it is no such token at all (another kind of credential), and then nothing is written.
func (s *core) oauthIdentity(r *http.Request, slug, token string) (id Identity, ok bool, e *Error) {
	if s.auth == nil {
		return Identity{}, false, nil
	}
	g, err := s.auth.Verify(r.Context(), slug, token)
	switch {
	case errors.Is(err, authserver.ErrNotAccessToken):
		return Identity{}, false, nil
	case errors.Is(err, authserver.ErrExpiredToken):
		return Identity{}, true, &Error{Status: 401, Code: "token_expired", Message: "this access token expired; refresh it at the authorization server"}
	case errors.Is(err, authserver.ErrInvalidToken):
		return Identity{}, true, &Error{Status: 401, Code: "invalid_token", Message: "this access token is not a live one of " + slug + " (revoked, or issued elsewhere)"}
	case err != nil:
		return Identity{}, true, asError(err)
	}
	return Identity{Subject: g.Subject, TrustTier: 1, Scopes: g.Scopes, OAuth: true}, true, nil
}

// needScope refuses an OAuth identity without scope (403 insufficient_scope, RFC 6750 §3.1); any
// other identity passes. When it answers false it has written the error.
func needScope(w http.ResponseWriter, id *Identity, scope string) bool {
	if id == nil || !id.OAuth || id.has(scope) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
	WriteError(w, &Error{Status: http.StatusForbidden, Code: "insufficient_scope",
		Message: "the access token was not granted " + scope + "; ask the user to consent to it",
		Details: map[string]any{"required_scope": scope, "granted_scopes": id.Scopes}})
	return false
}

// scopeFor is the scope a resource route's operation needs.
func scopeFor(op string) string {
	switch op {
	case "deprovision":
		return authserver.ScopeDelete
	case "rotate", "upgrade":
		return authserver.ScopeProvision
	}
	return authserver.ScopeRead
}
