package frontend

import (
	"html"
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
