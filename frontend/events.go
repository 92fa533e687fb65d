package frontend

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/oap"
	"github.com/ospbox/ospbox/storage"
)

// eventsPageSize is how many events one page of the event log shows.
const eventsPageSize = 100

// eventsView is the Events page: a page of the event log, the filters, recent deliveries.
type eventsView struct {
	Now        time.Time // the workspace clock
	Filter     storage.EventFilter
	Query      string // the filters as a query string, for the live refresh
	Providers  []string
	Types      []string
	Events     []storage.Event
	Deliveries []storage.Delivery
	OAPEvents  []oap.EventView
	BSPEvents  []storage.BSPEvent
	// MirroredOSP counts the BSP events that repeat an OSP event on the stream
	// (OspResourceProvisioned …): they are left out of the BSP list, being in the log above.
	MirroredOSP int
}

// olderQuery is the query string of the next page of older events.
func (v eventsView) olderQuery() string {
	q := url.Values{"before": {strconv.FormatInt(v.Events[len(v.Events)-1].Seq, 10)}}
	for k, val := range map[string]string{"provider": v.Filter.Provider, "type": v.Filter.Type, "resource": v.Filter.ResourceID} {
		if val != "" {
			q.Set(k, val)
		}
	}
	return q.Encode()
}

func (u *UI) eventsViewOf(r *http.Request) (eventsView, error) {
	q := r.URL.Query()
	f := storage.EventFilter{Provider: q.Get("provider"), Type: q.Get("type"), ResourceID: strings.TrimSpace(q.Get("resource"))}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	keep := url.Values{}
	if q.Get("before") != "" {
		keep.Set("before", q.Get("before"))
	}
	v := eventsView{Now: u.Sandbox.Clock().Now, Filter: f, Query: keep.Encode(), Providers: u.providerSlugs()}
	var err error
	if v.Types, err = u.DB.EventTypes(r.Context()); err != nil {
		return v, err
	}
	if v.Events, err = u.DB.FilterEvents(r.Context(), f, eventsPageSize); err != nil {
		return v, err
	}
	v.Deliveries, err = u.DB.RecentDeliveries(r.Context(), 50)
	v.OAPEvents = u.Sandbox.OAP().Events(50)
	for _, e := range u.Sandbox.BSP().Events(r.Context(), 50) {
		if strings.HasPrefix(e.Type, "Osp") {
			v.MirroredOSP++
			continue
		}
		v.BSPEvents = append(v.BSPEvents, e)
	}
	return v, err
}

func (u *UI) eventLog(w http.ResponseWriter, r *http.Request) {
	v, err := u.eventsViewOf(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, eventsPage(u.meta("Events", "events"), v))
}

func (u *UI) eventLogFragment(w http.ResponseWriter, r *http.Request) {
	v, err := u.eventsViewOf(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, eventsLive(v))
}

// eventClass colours an event type by what it means for an agent.
func eventClass(typ string) string {
	switch {
	case strings.Contains(typ, "failed"), strings.Contains(typ, "exceeded"), strings.HasSuffix(typ, "expired"), strings.Contains(typ, "deprovisioned"):
		return "err"
	case strings.Contains(typ, "expiring"), strings.Contains(typ, "threshold"), strings.Contains(typ, "rotated"):
		return "warn"
	case strings.Contains(typ, "provisioned"), strings.Contains(typ, "promoted"):
		return "ok"
	}
	return "accent"
}

// eventSummary is a one-line digest of an event's data: its first few scalar members.
func eventSummary(e storage.Event) string {
	var body map[string]any
	json.Unmarshal(e.Data, &body)
	data, _ := body["data"].(map[string]any)
	if data == nil {
		data = body
	}
	var keys []string
	for k, v := range data {
		switch v.(type) {
		case string, float64, bool:
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "details"
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys[:min(3, len(keys))] {
		parts = append(parts, k+"="+str(data[k]))
	}
	return strings.Join(parts, " · ")
}

func deliveryClass(status string) string {
	switch status {
	case "delivered":
		return "ok"
	case "failed":
		return "err"
	}
	return "warn"
}

// deliveryAnswer says how the receiver answered the last attempt.
func deliveryAnswer(d storage.Delivery) string {
	switch {
	case d.LastError != "":
		return d.LastError
	case d.LastStatus != 0:
		return "HTTP " + strconv.Itoa(d.LastStatus)
	}
	return "—"
}

// bspWhere names the service an event was published on, with its tenant.
func bspWhere(e storage.BSPEvent) string {
	if e.Scope != "" {
		return e.Scope + " / " + e.Service
	}
	return e.Service
}
