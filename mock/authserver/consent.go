package authserver

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// serveConsent is POST <issuer>/consent: the user's answer to a pending request, from the
// consent page's form (request, decision approve|deny, and the scope boxes ticked, with choose=1)
// or from a script that approves everything asked (no choose). Like the orchestrator's API it
// belongs to the local user: the host serves loopback only, and a cross-site browser request is
// refused. Approving links the user's account at the provider and sends the browser on to op's
// callback, which gives the code; denying sends it back to the client with access_denied
// (RFC 6749 §4.1.2.1).
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request, p Provider) {
	if !kernel.MethodIn(w, r, http.MethodPost) {
		consentError(w, http.StatusMethodNotAllowed, "method_not_allowed", "the consent is answered with POST")
		return
	}
	origin := r.Header.Get("Origin")
	foreign := origin != "" && origin != "null" && strings.TrimPrefix(strings.TrimPrefix(origin, "http://"), "https://") != r.Host
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" || foreign {
		consentError(w, http.StatusForbidden, "forbidden", "a consent is answered from this ospbox's own page, not from another site")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, kernel.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		consentError(w, http.StatusBadRequest, "invalid_request", "the answer must be a form: request, decision, scope")
		return
	}
	ctx := r.Context()
	id, decision := r.PostForm.Get("request"), r.PostForm.Get("decision")
	if decision != "approve" && decision != "deny" {
		consentError(w, http.StatusBadRequest, "invalid_request", `decision must be "approve" or "deny"`)
		return
	}
	a, err := s.db.OAuthRequest(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && a.Provider != p.Slug):
		consentError(w, http.StatusNotFound, "not_found", "no authorization request "+id+" at "+p.Slug)
		return
	case err != nil:
		consentError(w, http.StatusInternalServerError, "internal_error", err.Error())
		return
	case a.Status != "pending":
		consentError(w, http.StatusConflict, "already_answered", "this request was already "+a.Status)
		return
	}
	now := s.clock.Now()
	if now.After(a.CreatedAt.Add(requestLife)) {
		consentError(w, http.StatusGone, "expired", "this request expired; start again")
		return
	}
	if decision == "deny" {
		err := s.db.Update(ctx, func(tx *storage.Tx) error {
			if _, err := tx.DecideOAuthRequest(ctx, id, "denied", "", "", now); err != nil {
				return err
			}
			return tx.DeleteOAuthRequest(ctx, id)
		})
		if err != nil {
			consentError(w, http.StatusInternalServerError, "internal_error", err.Error())
			return
		}
		back, _ := url.Parse(a.RedirectURI)
		q := back.Query()
		q.Set("error", "access_denied")
		q.Set("error_description", "the user denied "+p.DisplayName+" access")
		q.Set("state", a.State)
		q.Set("iss", p.Issuer())
		back.RawQuery = q.Encode()
		http.Redirect(w, r, back.String(), http.StatusSeeOther)
		return
	}
	granted := grantedScopes(strings.Fields(a.Scopes), r.PostForm["scope"], r.PostForm.Get("choose") != "")
	var answered bool
	err = s.db.Update(ctx, func(tx *storage.Tx) error {
		acct, _, err := tx.LinkAccount(ctx, storage.ProviderAccount{Provider: p.Slug, Issuer: p.UserIssuer, Subject: p.UserSubject,
			ID: kernel.NewID("acct_", now), Email: p.UserEmail, Scopes: strings.Join(providerScopes(granted), " "), CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return err
		}
		answered, err = tx.DecideOAuthRequest(ctx, id, "approved", acct.ID, strings.Join(granted, " "), now)
		return err
	})
	switch {
	case err != nil:
		consentError(w, http.StatusInternalServerError, "internal_error", err.Error())
	case !answered:
		consentError(w, http.StatusConflict, "already_answered", "this request was answered meanwhile")
	default:
		http.Redirect(w, r, p.Issuer()+"/authorize/callback?id="+url.QueryEscape(id), http.StatusSeeOther)
	}
}

// grantedScopes are the asked scopes the user ticked (all of them when they did not choose);
// offline_access, asked, is kept: it is how the client stays connected, not a permission.
func grantedScopes(asked, ticked []string, chose bool) []string {
	var out []string
	for _, s := range asked {
		if !chose || slices.Contains(ticked, s) || s == oidc.ScopeOfflineAccess {
			out = append(out, s)
		}
	}
	return out
}

func consentError(w http.ResponseWriter, status int, code, message string) {
	kernel.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message, "retryable": false}})
}
