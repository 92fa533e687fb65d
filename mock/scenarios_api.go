package mock

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/mock/scenario"
)

// serve answers /ospbox/v1/scenarios[/{rule}[/enable|/disable]] (spec/control.md §4).
func (sc scenarios) serve(w http.ResponseWriter, r *http.Request) {
	set := sc.s.scenarioRules
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/ospbox/v1/scenarios"), "/")
	id, action, _ := strings.Cut(rest, "/")
	changes := r.Method != http.MethodGet && r.Method != http.MethodHead
	if changes && osp.RefuseBrowser(w, r) {
		return
	}
	switch {
	case id == "":
		if !osp.Allow(w, r, http.MethodGet, http.MethodHead, http.MethodPost) {
			return
		}
		if r.Method != http.MethodPost {
			kernel.WriteJSON(w, http.StatusOK, map[string]any{"scenarios": set.List()})
			return
		}
		rule, ok := decodeRule(w, r)
		if !ok {
			return
		}
		created, err := set.Create(r.Context(), rule, "api")
		if errors.Is(err, scenario.ErrTooMany) {
			osp.WriteError(w, &osp.Error{Status: http.StatusTooManyRequests, Code: "quota_exceeded", Message: err.Error() + "; delete some first"})
			return
		}
		if errors.Is(err, scenario.ErrExists) {
			osp.WriteError(w, &osp.Error{Status: http.StatusConflict, Code: "conflict", Message: "a scenario rule " + rule.ID + " exists; PUT /ospbox/v1/scenarios/" + rule.ID + " replaces it"})
			return
		}
		sc.answer(w, http.StatusCreated, created, err)
	case action == "enable" || action == "disable":
		if !osp.Allow(w, r, http.MethodPost) {
			return
		}
		rule, err := set.SetEnabled(r.Context(), id, action == "enable")
		sc.answer(w, http.StatusOK, rule, err)
	case action != "":
		osp.WriteError(w, osp.NewError("not_found", "no scenario API at "+r.URL.Path+" (enable and disable are the rule's actions)"))
	default:
		if !osp.Allow(w, r, http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete) {
			return
		}
		switch r.Method {
		case http.MethodPut:
			rule, ok := decodeRule(w, r)
			if !ok {
				return
			}
			if rule.ID != "" && rule.ID != id {
				osp.WriteError(w, osp.InvalidRequest("the rule's id is "+rule.ID+" but the URL names "+id, map[string]any{"pointer": "/id", "message": "must be " + id + " or absent"}))
				return
			}
			replaced, err := set.Replace(r.Context(), id, rule)
			sc.answer(w, http.StatusOK, replaced, err)
		case http.MethodDelete:
			err := set.Delete(r.Context(), id)
			sc.answer(w, http.StatusOK, scenario.Rule{ID: id}, err)
		default:
			rule, err := set.Get(id)
			sc.answer(w, http.StatusOK, rule, err)
		}
	}
}

func (sc scenarios) answer(w http.ResponseWriter, status int, rule scenario.Rule, err error) {
	switch {
	case errors.Is(err, scenario.ErrNotFound):
		var ids []string
		for _, r := range sc.s.scenarioRules.List() {
			ids = append(ids, r.ID)
		}
		osp.WriteError(w, &osp.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no scenario rule " + rule.ID + " in this namespace",
			Details: map[string]any{"rules": ids}})
	case err != nil:
		osp.WriteError(w, osp.NewError("provider_error", err.Error()))
	default:
		kernel.WriteJSON(w, status, rule)
	}
}

// decodeRule reads a rule from the request body; a bad one is answered 400 with the pointer of
// the member at fault.
func decodeRule(w http.ResponseWriter, r *http.Request) (scenario.Rule, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		osp.WriteError(w, osp.InvalidRequest("the rule could not be read: "+err.Error()))
		return scenario.Rule{}, false
	}
	rule, err := scenario.Decode(body, manifests.KnownErrorCode)
	var p *scenario.Problem
	if errors.As(err, &p) {
		osp.WriteError(w, osp.InvalidRequest("bad scenario rule: "+p.Error(), map[string]any{"pointer": p.Pointer, "message": p.Message}))
		return scenario.Rule{}, false
	}
	return rule, err == nil
}
