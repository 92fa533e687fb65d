package mock

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
)

// The namespaces API (spec/control.md §1) under /ospbox/v1/namespaces, in OSP's error envelope.

// namespaceError answers a registry error.
func namespaceError(w http.ResponseWriter, id string, ids []string, err error) {
	var e *osp.Error
	var bad *NamespaceRequestError
	switch {
	case errors.Is(err, ErrNamespaceNotFound):
		e = &osp.Error{Status: 404, Code: "not_found", Message: "no namespace " + id, Details: map[string]any{"namespaces": ids}}
	case errors.Is(err, ErrNamespaceExists):
		e = osp.NewError("conflict", err.Error())
	case errors.Is(err, ErrTooManyNamespaces):
		e = &osp.Error{Status: 429, Code: "quota_exceeded", Message: err.Error(), Details: map[string]any{"quota_type": "namespaces"}}
	case errors.As(err, &bad):
		e = osp.InvalidRequest(bad.Message, map[string]any{"pointer": bad.Pointer, "message": bad.Message})
	default:
		e = osp.NewError("provider_error", err.Error())
	}
	osp.WriteError(w, e)
}

// view is a namespace as the API shows it.
func (n *Namespaces) view(r *http.Request, origin string, ni NamespaceInfo) (map[string]any, error) {
	s, err := n.summary(r.Context(), ni)
	if err != nil {
		return nil, err
	}
	return summaryJSON(origin, s), nil
}

// summaryJSON is a namespace's summary in the API's shape.
func summaryJSON(origin string, s NamespaceSummary) map[string]any {
	ni, c, counts := s.NamespaceInfo, s.Clock, s.Counts
	labels := ni.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	base := origin
	if ni.ID != "default" {
		base = origin + "/ns/" + ni.ID
	}
	var created any
	if !ni.CreatedAt.IsZero() {
		created = ni.CreatedAt.Format(time.RFC3339)
	}
	var expires any
	if ni.ExpiresAt != nil {
		expires = ni.ExpiresAt.Format(time.RFC3339)
	}
	return map[string]any{"id": ni.ID, "base_url": base, "created_at": created, "expires_at": expires, "labels": labels,
		"clock":  map[string]any{"now": c.Now.UTC().Format(time.RFC3339), "offset_seconds": int64(c.Offset / time.Second), "frozen": c.Frozen},
		"counts": map[string]any{"resources": counts.Resources, "requests": counts.Requests, "events": counts.Events}}
}

// serve answers /ospbox/v1/namespaces[/{id}[/reset]]; n is nil inside a namespace, whose
// own API has no namespaces.
func (n *Namespaces) serve(w http.ResponseWriter, r *http.Request, origin string) {
	if n == nil {
		osp.WriteError(w, osp.NewError("not_found", "namespaces are managed at the sandbox host's root, not inside a namespace"))
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/ospbox/v1/namespaces"), "/")
	id, action, _ := strings.Cut(rest, "/")
	view := func(status int, ni NamespaceInfo, extra map[string]any) {
		v, err := n.view(r, origin, ni)
		if err != nil {
			namespaceError(w, ni.ID, n.IDs(), err)
			return
		}
		for k, x := range extra {
			v[k] = x
		}
		kernel.WriteJSON(w, status, v)
	}
	info := func(id string) (NamespaceInfo, bool) {
		if id == "default" {
			return NamespaceInfo{ID: "default"}, true
		}
		ni, ok := n.infoOf(id)
		if !ok {
			namespaceError(w, id, n.IDs(), ErrNamespaceNotFound)
		}
		return ni, ok
	}
	switch {
	case id == "":
		if !osp.Allow(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodGet {
			var list []map[string]any
			for _, sum := range n.Summaries(r.Context()) {
				list = append(list, summaryJSON(origin, sum))
			}
			kernel.WriteJSON(w, http.StatusOK, map[string]any{"namespaces": list})
			return
		}
		if osp.RefuseBrowser(w, r) {
			return
		}
		var body struct {
			ID         string            `json:"id"`
			From       string            `json:"from"`
			TTLSeconds *int64            `json:"ttl_seconds"`
			Labels     map[string]string `json:"labels"`
		}
		if !decodeStrict(w, r, &body) {
			return
		}
		var ttl time.Duration
		if body.TTLSeconds != nil {
			if *body.TTLSeconds < 1 {
				osp.WriteError(w, osp.InvalidRequest("ttl_seconds is a whole number of seconds, at least 1", map[string]any{"pointer": "/ttl_seconds", "message": "less than 1"}))
				return
			}
			ttl = time.Duration(*body.TTLSeconds) * time.Second
		}
		ni, err := n.create(r.Context(), body.ID, body.From, ttl, body.Labels)
		if err != nil {
			namespaceError(w, body.ID, n.IDs(), err)
			return
		}
		view(http.StatusCreated, ni, nil)
	case action == "":
		if !osp.Allow(w, r, http.MethodGet, http.MethodHead, http.MethodDelete) {
			return
		}
		if r.Method == http.MethodDelete {
			if osp.RefuseBrowser(w, r) {
				return
			}
			ni, ok := info(id)
			if !ok {
				return
			}
			v, err := n.view(r, origin, ni)
			if err == nil {
				_, err = n.remove(id)
			}
			if err != nil {
				namespaceError(w, id, n.IDs(), err)
				return
			}
			v["deleted"] = true
			kernel.WriteJSON(w, http.StatusOK, v)
			return
		}
		if ni, ok := info(id); ok {
			view(http.StatusOK, ni, nil)
		}
	case action == "reset":
		if !osp.Allow(w, r, http.MethodPost) || osp.RefuseBrowser(w, r) {
			return
		}
		var body struct {
			To string `json:"to"`
		}
		if !decodeStrict(w, r, &body) {
			return
		}
		ni, ok := info(id)
		if !ok {
			return
		}
		if _, err := n.reset(r.Context(), id, body.To); err != nil {
			namespaceError(w, id, n.IDs(), err)
			return
		}
		view(http.StatusOK, ni, nil)
	case action == "snapshots":
		if !osp.Allow(w, r, http.MethodPost) || osp.RefuseBrowser(w, r) {
			return
		}
		var body struct {
			Name string `json:"name"`
		}
		if !decodeStrict(w, r, &body) {
			return
		}
		if _, ok := info(id); !ok {
			return
		}
		si, err := n.snapshot(r.Context(), id, body.Name)
		if err != nil {
			namespaceError(w, id, n.IDs(), err)
			return
		}
		kernel.WriteJSON(w, http.StatusCreated, si)
	default:
		osp.WriteError(w, osp.NewError("not_found", "no namespaces API at "+r.URL.Path))
	}
}

// decodeStrict reads an optional JSON object body with no unknown members; when it answers
// false it has written the 400.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	raw := kernel.ReadBody(r)
	if len(strings.TrimSpace(string(raw))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		osp.WriteError(w, osp.InvalidRequest("the body is not valid here: "+err.Error(), map[string]any{"pointer": "", "message": err.Error()}))
		return false
	}
	return true
}
