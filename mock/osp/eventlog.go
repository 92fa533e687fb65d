package osp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
)

// eventSynonyms maps the event type names other OSP sources use to ospbox's (spec/osp.md §18.2).
var eventSynonyms = map[string]string{
	"provision.completed": "resource.provisioned", "resource.suspended": "resource.status_changed",
	"resource.resumed": "resource.status_changed", "deprovision.completed": "resource.deprovisioned",
	"usage.threshold": "usage.threshold_reached", "budget.alert": "budget.threshold_reached",
}

// serveEventLog is GET /osp/v1/events/{resource_id} (spec/osp.md §18.6).
func (s *Engine) serveEventLog(w http.ResponseWriter, r *http.Request, p *ProviderState, id string) {
	if !Allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	res, ok := s.authorizedResource(w, r, p, id, "events")
	if !ok {
		return
	}
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			WriteError(w, InvalidRequest("limit is an integer from 1 to 200"))
			return
		}
		limit = n
	}
	var since, until time.Time
	for name, dst := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				WriteError(w, InvalidRequest(name+" must be an RFC 3339 time"))
				return
			}
			*dst = t
		}
	}
	typ := q.Get("event_type")
	if canonical, ok := eventSynonyms[typ]; ok {
		typ = canonical
	}
	after := q.Get("starting_after")
	events, err := s.db.EventsOf(r.Context(), res.ID)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	out := []map[string]any{}
	passed := after == ""
	more := false
	cursor := ""
	for _, e := range events {
		if !passed {
			passed = e.ID == after
			continue
		}
		if (typ != "" && e.Type != typ) || (!since.IsZero() && e.At.Before(since)) || (!until.IsZero() && e.At.After(until)) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		var body struct {
			Data map[string]any `json:"data"`
		}
		json.Unmarshal(e.Data, &body)
		out = append(out, map[string]any{"event_id": e.ID, "event_type": e.Type, "timestamp": rfc3339(e.At), "details": body.Data})
		cursor = e.ID
	}
	var c any
	if cursor != "" {
		c = cursor
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"resource_id": res.ID, "events": out, "has_more": more, "cursor": c})
}
