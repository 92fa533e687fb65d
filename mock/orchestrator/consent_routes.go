package orchestrator

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// serveProjectConsents is /orchestrator/v1/projects/{id}/consents: POST
// {"resource_metadata", "provider_id", "scopes"?} starts one (201, with the authorization URL
// the user opens), GET lists the project's. Both need the project's token.
func (e consentDesk) serveProjectConsents(w http.ResponseWriter, r *http.Request, id, origin string) {
	if !allow(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	p, err := e.authorizedProject(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	if r.Method == http.MethodGet {
		list, err := e.db.Consents(r.Context(), p.ID, "")
		if err != nil {
			writeError(w, err)
			return
		}
		out := []map[string]any{}
		for _, c := range list {
			out = append(out, ConsentJSON(e.expire(r, c)))
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"consents": out})
		return
	}
	var req struct {
		ResourceMetadata string   `json:"resource_metadata"`
		ProviderID       string   `json:"provider_id"`
		Scopes           []string `json:"scopes"`
	}
	if err := decodeStrict(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if !strings.HasPrefix(req.ResourceMetadata, "http://") && !strings.HasPrefix(req.ResourceMetadata, "https://") {
		writeError(w, badRequest("resource_metadata must be the URL a provider's 401 named in WWW-Authenticate"))
		return
	}
	c, err := e.StartConsent(r.Context(), p, req.ResourceMetadata, req.ProviderID, req.Scopes, origin)
	if err != nil {
		writeError(w, err)
		return
	}
	body := ConsentJSON(c)
	body["consent_url"] = kernel.UIPage(origin, "orchestrator", nil)
	kernel.WriteJSON(w, http.StatusCreated, body)
}

// expire marks a pending consent past its time as expired.
func (e consentDesk) expire(r *http.Request, c storage.Consent) storage.Consent {
	if c.Status == "pending" && e.clock.Now().After(c.ExpiresAt) {
		c.Status, c.Error = "expired", "nobody answered within "+consentLife.String()
		e.settle(r.Context(), c, "pending")
	}
	return c
}

// serveConsent is /orchestrator/v1/consents/{id}[/approve|/deny|/token], with the project's token:
// GET reads it (a client waits on its status); approve and deny answer it for the user (scripts);
// token hands out a live access token, refreshed when needed.
func (e consentDesk) serveConsent(w http.ResponseWriter, r *http.Request, rest, origin string) {
	id, action, _ := strings.Cut(rest, "/")
	c, err := e.db.Consent(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no consent " + id}
	}
	if err == nil {
		_, err = e.authorizedProject(r, c.ProjectID)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	c = e.expire(r, c)
	switch action {
	case "":
		if allow(w, r, http.MethodGet) {
			kernel.WriteJSON(w, http.StatusOK, ConsentJSON(c))
		}
	case "approve", "deny":
		if !allow(w, r, http.MethodPost) {
			return
		}
		c, err := e.Approve(r.Context(), c, action, nil, origin)
		if err != nil {
			writeError(w, err)
			return
		}
		kernel.WriteJSON(w, http.StatusOK, ConsentJSON(c))
	case "token":
		if !allow(w, r, http.MethodPost) {
			return
		}
		token, c, refreshed, err := e.AccessToken(r.Context(), c, origin)
		if err != nil {
			writeError(w, err)
			return
		}
		body := map[string]any{"access_token": token, "token_type": "Bearer", "scopes": strings.Fields(c.GrantedScopes), "refreshed": refreshed}
		if c.TokenExpiresAt != nil {
			body["expires_at"] = c.TokenExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		kernel.WriteJSON(w, http.StatusOK, body)
	default:
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no orchestrator API at " + r.URL.Path})
	}
}

// serveCallback is where an authorization server sends the user's browser back. A browser is
// then shown the Orchestrator page; any other client gets the consent.
func (e consentDesk) serveCallback(w http.ResponseWriter, r *http.Request, origin string) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	c, err := e.finish(r.Context(), r.URL.Query(), origin)
	if err != nil {
		writeError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, kernel.UIPage(origin, "orchestrator", url.Values{"consent": {c.ID}}), http.StatusSeeOther)
		return
	}
	kernel.WriteJSON(w, http.StatusOK, ConsentJSON(c))
}
