package frontend

import (
	"strings"
	"testing"
	"time"
)

func TestEventsPageListsFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	_, empty := f.get(t, "/ui/event-log", authed())
	if !strings.Contains(empty, "No events yet") {
		t.Errorf("empty event log: %.300s", empty)
	}
	var ids []string
	for range 3 {
		_, res := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/redis","tier_id":"free"}`)
		ids = append(ids, res["resource_id"].(string))
	}
	f.api(t, "DELETE", "/providers/acmedb/osp/v1/resources/"+ids[0], "")
	_, page := f.get(t, "/ui/event-log", authed())
	if strings.Count(page, `data-event="resource.provisioned"`) != 3 || !strings.Contains(page, `data-event="resource.deprovisioned"`) {
		t.Errorf("event log: %.600s", page)
	}
	if strings.Index(page, `data-event="resource.deprovisioned"`) > strings.Index(page, `data-event="resource.provisioned"`) {
		t.Error("the newest event is not first")
	}
	_, byType := f.get(t, "/ui/event-log/live?type=resource.deprovisioned", authed())
	if strings.Contains(byType, `data-event="resource.provisioned"`) || !strings.Contains(byType, ids[0]) {
		t.Errorf("type filter: %.400s", byType)
	}
	_, byResource := f.get(t, "/ui/event-log/live?resource="+ids[1], authed())
	if strings.Count(byResource, `data-event=`) != 1 || !strings.Contains(byResource, ids[1]) {
		t.Errorf("resource filter: %.400s", byResource)
	}
	_, byPrefix := f.get(t, "/ui/event-log/live?type=resource.", authed())
	if strings.Count(byPrefix, `data-event=`) != 4 {
		t.Errorf("prefix filter found %d events", strings.Count(byPrefix, `data-event=`))
	}
	_, other := f.get(t, "/ui/event-log/live?provider=skyhost", authed())
	if strings.Contains(other, `data-event=`) {
		t.Error("provider filter lets acmedb's events through")
	}

	// OAP events are listed with the traces they caused.
	f.api(t, "POST", "/oap/events", `{"type":"TicketOpened","data":{},"metadata":{}}`)
	_, live := f.get(t, "/ui/event-log/live", authed())
	if !strings.Contains(live, `data-oap-event="TicketOpened"`) || !strings.Contains(live, "trace-000001 (triage)") {
		t.Errorf("OAP events: %.300s", live[strings.Index(live, "OAP events"):])
	}

	// A webhook whose target cannot be reached: the delivery shows with its attempt and error.
	if st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/webhooks/"+ids[1], `{"webhook_url":"https://hooks.invalid/x"}`); st != 200 {
		t.Fatalf("register webhook: %d %v", st, b)
	}
	f.api(t, "POST", "/providers/acmedb/osp/v1/resources/"+ids[1]+"/credentials", `{}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, live := f.get(t, "/ui/event-log/live", authed())
		if strings.Contains(live, "hooks.invalid") && strings.Contains(live, `data-delivery="pending"`) && !strings.Contains(live, "<td class=\"small\">—</td>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery attempt listed: %.2000s", live[strings.Index(live, "Webhook deliveries"):])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
