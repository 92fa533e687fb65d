package osp

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// caller is who asks a provider-wide route (budgets, project cost, cost summary): nobody in
// particular (anonymous, or the sandbox's operator), an agent identity, or a resource by its
// access token.
type caller struct {
	subject    string // the verified agent's subject
	resourceID string // the resource whose access token was sent
}

// anyone reports whether the caller is not narrowed to its own resources.
func (c caller) anyone() bool { return c.subject == "" && c.resourceID == "" }

// owns reports whether res is the caller's own: the resource itself for its access token, the
// resources an identity owns for that identity (spec/osp.md §19.6).
func (c caller) owns(res storage.Resource) bool {
	if c.resourceID != "" {
		return res.ID == c.resourceID
	}
	return c.subject != "" && res.Owner == c.subject
}

// callerOf verifies whoever a provider-wide route is asked by (spec/osp.md §19.5): without a
// bearer the route is open unless osp.auth.strict; a bearer must verify — an unknown access
// token or an unrecognised value is 401, an unknown API key 403 — like on every other route.
// When it answers false it has written the error.
func (s *core) callerOf(w http.ResponseWriter, r *http.Request, p *ProviderState) (caller, bool) {
	if kernel.IsOperator(r) {
		return caller{}, true
	}
	token, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !hasBearer || token == "" {
		if s.view().Config.OSP.Auth.Strict {
			w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
			WriteError(w, &Error{Status: 401, Code: "unauthorized", Message: "osp.auth.strict is set: send an agent identity or a resource access token"})
			return caller{}, false
		}
		return caller{}, true
	}
	if strings.HasPrefix(token, "osp_rat_") {
		resID, until, err := s.db.AccessToken(r.Context(), tokenHash(token))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
			WriteError(w, &Error{Status: 401, Code: "unauthorized", Message: "unknown access token"})
			return caller{}, false
		case err != nil:
			WriteError(w, asError(err))
			return caller{}, false
		case until != nil && !s.clock.Now().Before(*until):
			w.Header().Set("X-OSP-Credentials-Rotated", "true")
			WriteError(w, &Error{Status: 401, Code: "credentials_rotated", Message: "these credentials were rotated; use the new access token from the latest bundle"})
			return caller{}, false
		}
		if _, err := s.db.Resource(r.Context(), p.Slug, resID); err != nil {
			WriteError(w, &Error{Status: 403, Code: "forbidden", Message: "this access token belongs to a resource of another provider"})
			return caller{}, false
		}
		return caller{resourceID: resID}, true
	}
	id, ierr := s.identify(r, nil, p.Slug, p.Serving.Manifest)
	if ierr == nil && id == nil {
		ierr = &Error{Status: 401, Code: "unauthorized", Message: "unrecognised bearer value"}
	}
	if ierr != nil {
		if ierr.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
		}
		WriteError(w, ierr)
		return caller{}, false
	}
	if !needScope(w, id, authserver.ScopeRead) {
		return caller{}, false
	}
	return caller{subject: id.Subject}, true
}
