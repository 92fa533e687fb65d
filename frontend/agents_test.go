package frontend

import (
	"html"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestAgentsPageShowsTheOAPRegistryAndDrivesIt(t *testing.T) {
	f := newFixture(t)
	_, page := f.get(t, "/ui/agents", authed())
	if !strings.Contains(page, `data-agent="triage"`) || !strings.Contains(page, ">running<") || !strings.Contains(page, "fulfilment") {
		t.Fatalf("agents page: %.600s", page)
	}
	st, frag := f.postForm(t, "/ui/agents/event", url.Values{"type": {"TicketOpened"}, "data": {`{"ticket": 7}`}})
	if st != 200 || !strings.Contains(frag, "evt-000001 accepted: 1 trace") || !strings.Contains(frag, `data-trace="trace-000001"`) || !strings.Contains(html.UnescapeString(frag), `"eventsProcessed": 1`) {
		t.Errorf("send event: %d %.1500s", st, frag)
	}
	if _, frag := f.postForm(t, "/ui/agents/event", url.Values{"type": {"TicketOpened"}, "data": {`[1]`}}); !strings.Contains(frag, "not a JSON object") {
		t.Errorf("bad data: %.300s", frag)
	}
	if _, frag := f.postForm(t, "/ui/agents/triage/lifecycle", url.Values{"op": {"pause"}}); !strings.Contains(frag, ">paused<") {
		t.Errorf("pause: %.500s", frag)
	}
	// The API sees the page's pause.
	_, agent := f.api(t, "GET", "/oap/agents/triage", "")
	if agent["status"] != "paused" {
		t.Errorf("API after pause: %v", agent)
	}
	if _, frag := f.postForm(t, "/ui/agents/nobody/lifecycle", url.Values{"op": {"pause"}}); !strings.Contains(frag, "AGENT_NOT_FOUND") {
		t.Errorf("unknown agent: %.300s", frag)
	}
}

func TestBSPActivityShowsOnTheEventsAndAgentsPages(t *testing.T) {
	f := newFixture(t)
	token := f.sb.Snapshot().Config.BSP.Credentials[0].Token
	body := `{"specversion": "1.0", "id": "cmd-ui-1", "source": "agent://t", "type": "PlaceOrder", "datacontenttype": "application/json",
		"dataschema": "place-order/1.0", "time": "2026-04-10T09:20:00Z", "data": {"orderId": "o-1", "items": [{"sku": "a", "quantity": 1}]}}`
	req := httptest.NewRequest("POST", "http://127.0.0.1:7410/bsp/io.bsp.agents/commands", strings.NewReader(body))
	req.Header.Set("X-Api-Key", token)
	if st, out := f.sb.Do(req); st != 201 {
		t.Fatalf("command: %d %s", st, out)
	}
	_, page := f.get(t, "/ui/event-log", authed())
	if !strings.Contains(page, `data-bsp-event="OrderPlaced"`) || !strings.Contains(page, "cmd-ui-1") {
		t.Errorf("events page lacks the BSP event: %.2000s", page)
	}
	_, page = f.get(t, "/ui/agents", authed())
	if !strings.Contains(page, `data-bsp-agent="fulfilment"`) || !strings.Contains(page, token[len(token)-4:]) || !strings.Contains(page, "data-bsp-token") {
		t.Errorf("agents page lacks the live BSP agent or the credential: %.2000s", page)
	}
}
