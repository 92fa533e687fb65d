package oap_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

func TestOAPSimulationEndToEnd(t *testing.T) {
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL + "/oap"}
	_, _, list := a.Call("GET", "/agents", "", nil)
	agents, _ := list["agents"].([]any)
	if len(agents) != 1 || agents[0].(map[string]any)["id"] != "triage" || agents[0].(map[string]any)["status"] != "running" {
		t.Fatalf("registry: %v", list)
	}
	st, _, acc := a.Call("POST", "/events", "", map[string]any{"type": "TicketOpened", "data": map[string]any{"ticket": 1}, "metadata": map[string]any{}})
	if st != 202 || acc["eventId"] != "evt-000001" || len(acc["traceIds"].([]any)) != 1 {
		t.Fatalf("event: %d %v", st, acc)
	}
	_, _, cmds := a.Call("GET", "/commands", "", nil)
	c := cmds["commands"].([]any)[0].(map[string]any)
	data, meta := c["data"].(map[string]any), c["metadata"].(map[string]any)
	if c["type"] != "LabelTicket" || data["label"] != "needs-triage" || data["ticket"] != float64(1) || meta["agentId"] != "triage" || meta["correlationId"] != "evt-000001" {
		t.Errorf("command from the rules file: %v", c)
	}
	_, _, mem := a.Call("GET", "/agents/triage/memory", "", nil)
	state := mem["state"].(map[string]any)
	if state["eventsProcessed"] != float64(1) || state["commandsProduced"] != float64(1) || state["eventCounts"].(map[string]any)["TicketOpened"] != float64(1) {
		t.Errorf("memory: %v", mem)
	}
	_, _, latest := a.Call("GET", "/agents/triage/traces/latest", "", nil)
	if latest["traceId"] != "trace-000001" || latest["succeeded"] != true || len(latest["steps"].([]any)) != 3 {
		t.Errorf("latest trace: %v", latest)
	}

	// A paused agent gets nothing, and nothing is kept for later.
	if st, _, _ := a.Call("POST", "/agents/triage/pause", "", nil); st != 204 {
		t.Errorf("pause: %d", st)
	}
	_, _, acc = a.Call("POST", "/events", "", map[string]any{"type": "TicketOpened", "data": map[string]any{}, "metadata": map[string]any{}})
	if len(acc["traceIds"].([]any)) != 0 {
		t.Errorf("a paused agent processed: %v", acc)
	}
	a.Call("POST", "/agents/triage/resume", "", nil)
	_, _, mem = a.Call("GET", "/agents/triage/memory", "", nil)
	if mem["state"].(map[string]any)["eventsProcessed"] != float64(1) {
		t.Errorf("memory changed while paused: %v", mem)
	}

	// A registered agent starts stopped; resumed, it produces its declared commands.
	st, _, reg := a.Call("POST", "/agents", "", map[string]any{"id": "echo", "name": "Echo", "accepts": []string{"Ping"}, "produces": []string{"Pong", "Logged"}})
	if st != 201 || reg["status"] != "stopped" {
		t.Fatalf("register: %d %v", st, reg)
	}
	if st, _, b := a.Call("POST", "/agents", "", map[string]any{"id": "echo", "name": "Echo", "accepts": []string{}, "produces": []string{}}); st != 409 || agenttest.ErrCode(b) != "AGENT_ALREADY_EXISTS" {
		t.Errorf("duplicate: %d %v", st, b)
	}
	if st, _, b := a.Call("POST", "/agents/echo/pause", "", nil); st != 422 || agenttest.ErrCode(b) != "INVALID_STATE" {
		t.Errorf("pause a stopped agent: %d %v", st, b)
	}
	_, _, acc = a.Call("POST", "/events", "", map[string]any{"type": "Ping", "data": map[string]any{}, "metadata": map[string]any{}})
	if len(acc["traceIds"].([]any)) != 0 {
		t.Errorf("a stopped agent processed: %v", acc)
	}
	a.Call("POST", "/agents/echo/resume", "", nil)
	a.Call("POST", "/events", "", map[string]any{"type": "Ping", "data": map[string]any{"n": "x"}, "metadata": map[string]any{"correlationId": "c-1"}})
	_, _, cmds = a.Call("GET", "/commands?agentId=echo", "", nil)
	if got := cmds["commands"].([]any); len(got) != 2 || got[0].(map[string]any)["type"] != "Pong" || got[1].(map[string]any)["metadata"].(map[string]any)["correlationId"] != "c-1" {
		t.Errorf("echo's commands: %v", cmds)
	}
	// Injected failure.
	_, _, acc = a.Call("POST", "/events", "", map[string]any{"type": "Ping", "data": map[string]any{}, "metadata": map[string]any{"x-ospbox-fail": "boom"}})
	traceID := acc["traceIds"].([]any)[0].(string)
	_, _, tr := a.Call("GET", "/traces/"+traceID, "", nil)
	if tr["succeeded"] != false || tr["error"] != "boom" || len(tr["outputCommands"].([]any)) != 0 {
		t.Errorf("failed trace: %v", tr)
	}

	// Errors.
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/events", "{", 400, "INVALID_JSON"},
		{"POST", "/events", map[string]any{"type": "X", "data": 1, "metadata": map[string]any{"a": 2}}, 400, "INVALID_REQUEST"},
		{"POST", "/agents", map[string]any{"id": "z", "name": "Z", "accepts": []string{}, "produces": []string{}, "status": "running"}, 400, "INVALID_REQUEST"},
		{"GET", "/agents/nobody", nil, 404, "AGENT_NOT_FOUND"},
		{"GET", "/agents/nobody/memory", nil, 404, "AGENT_NOT_FOUND"},
		{"GET", "/traces/trace-999999", nil, 404, "TRACE_NOT_FOUND"},
		{"DELETE", "/events", nil, 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/nothing", nil, 404, "NOT_FOUND"},
	} {
		if st, _, b := a.Call(c.method, c.path, "", c.body); st != c.status || agenttest.ErrCode(b) != c.code {
			t.Errorf("%s %s: %d %v, want %d %s", c.method, c.path, st, b, c.status, c.code)
		}
	}

	// Discovery shows the live registry.
	d := agenttest.Agent{T: t, Base: f.URL}
	_, _, disc := d.Call("GET", "/.well-known/oap", "", nil)
	listed := disc["oap"].(map[string]any)["agents"].([]any)
	if len(listed) != 2 || listed[1].(map[string]any)["id"] != "echo" || listed[1].(map[string]any)["status"] != "running" {
		t.Errorf("discovery agents: %v", listed)
	}

	// Deleting a declared agent removes it; its traces stay.
	if st, _, _ := a.Call("DELETE", "/agents/triage", "", nil); st != 204 {
		t.Errorf("delete: %d", st)
	}
	if st, _, _ := a.Call("GET", "/agents/triage", "", nil); st != 404 {
		t.Errorf("deleted agent: %d", st)
	}
	if _, _, all := a.Call("GET", "/traces?agentId=triage", "", nil); len(all["traces"].([]any)) != 1 {
		t.Errorf("traces after delete: %v", all)
	}
	if v := f.OAP().State(); len(v.Agents) != 1 || v.Agents[0].ID != "echo" || len(v.Agents[0].Traces) != 2 {
		t.Errorf("UI view: %+v", v)
	}
}

func TestOAPRoutesOfUndeclaredCapabilities(t *testing.T) {
	f := mocktest.New(t)
	path := filepath.Join(f.Dir, "oap", "manifest.json")
	raw, _ := os.ReadFile(path)
	text := string(raw)
	start := strings.Index(text, `,
      {"name": "io.oap.observability.tracing"`)
	end := strings.Index(text[start+1:], "}") + start + 2
	os.WriteFile(path, []byte(text[:start]+text[end:]), 0o644)
	f.ReloadPaths(t.Context(), []string{"oap/manifest.json"})
	a := agenttest.Agent{T: t, Base: f.URL + "/oap"}
	if st, _, b := a.Call("GET", "/traces", "", nil); st != 422 || agenttest.ErrCode(b) != "CAPABILITY_NOT_SUPPORTED" {
		t.Errorf("traces without tracing: %d %v", st, b)
	}
	if st, _, _ := a.Call("GET", "/agents", "", nil); st != 200 {
		t.Errorf("registry still served: %d", st)
	}
}

func TestOAPStateSurvivesARestart(t *testing.T) {
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL + "/oap"}
	a.Call("POST", "/events", "", map[string]any{"type": "TicketOpened", "data": map[string]any{}, "metadata": map[string]any{}})
	a.Call("POST", "/agents", "", map[string]any{"id": "echo", "name": "Echo", "accepts": []string{"Ping"}, "produces": []string{"Pong"}})
	a.Call("POST", "/agents/triage/pause", "", nil)

	// A second sandbox on the same state, as after a restart.
	ws, _ := manifests.OpenWorkspace(f.Dir)
	again, err := mock.New(t.Context(), ws, f.DB, mock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	srv := httptest.NewServer(again)
	defer srv.Close()
	b := agenttest.Agent{T: t, Base: srv.URL + "/oap"}
	_, _, list := b.Call("GET", "/agents", "", nil)
	agents := list["agents"].([]any)
	if len(agents) != 2 || agents[0].(map[string]any)["status"] != "paused" || agents[1].(map[string]any)["id"] != "echo" {
		t.Errorf("registry after restart: %v", list)
	}
	_, _, mem := b.Call("GET", "/agents/triage/memory", "", nil)
	if mem["state"].(map[string]any)["eventsProcessed"] != float64(1) {
		t.Errorf("memory after restart: %v", mem)
	}
	if _, _, tr := b.Call("GET", "/traces", "", nil); len(tr["traces"].([]any)) != 1 {
		t.Errorf("traces after restart: %v", tr)
	}
	b.Call("POST", "/agents/triage/resume", "", nil)
	if _, _, acc := b.Call("POST", "/events", "", map[string]any{"type": "TicketOpened", "data": map[string]any{}, "metadata": map[string]any{}}); acc["eventId"] != "evt-000002" || acc["traceIds"].([]any)[0] != "trace-000002" {
		t.Errorf("counters after restart: %v", acc)
	}
}

// FuzzOAPBodies sends arbitrary bodies to the OAP routes that read one: every answer is a 2xx or
// a 4xx in the error body, never a 5xx, and the simulation keeps running.
func FuzzOAPBodies(f *testing.F) {
	fx := mocktest.New(f)
	for _, s := range []string{`{"type":"TicketOpened","data":{},"metadata":{}}`, `{"type":"X","data":{"a":[1,{"b":null}]},"metadata":{"x-ospbox-fail":"y"}}`,
		`{"id":"a","name":"A","accepts":["T"],"produces":[]}`, `{`, `[]`, `null`, `{"metadata":{"k":1}}`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, event bool) {
		path := "/oap/agents"
		if event {
			path = "/oap/events"
		}
		req := httptest.NewRequest("POST", "http://127.0.0.1:7410"+path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		fx.ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`)) {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
