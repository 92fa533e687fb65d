package oap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// State is a copy of the registry and the newest traces, for the UI.
type State struct {
	Present bool
	Agents  []AgentView
}

// AgentView is an agent with its memory and recent traces.
type AgentView struct {
	Agent
	Memory map[string]any
	Traces []*Trace // newest first, at most 10
}

// State returns the registry as it stands (after syncing with the served manifest), for the
// UI; Present is false when no OAP manifest is served.
func (s *Engine) State() State {
	cur := s.surface()
	if cur.Serving == nil {
		return State{}
	}
	e := &s.reg
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sync(cur.Serving.Surface.Doc.Root, s.dir)
	st := State{Present: true}
	for _, a := range e.agents {
		v := AgentView{Agent: *a, Memory: deepCopy(a.memory).(map[string]any)}
		for i := len(e.traces) - 1; i >= 0 && len(v.Traces) < 10; i-- {
			if e.traces[i].AgentID == a.ID {
				v.Traces = append(v.Traces, e.traces[i])
			}
		}
		st.Agents = append(st.Agents, v)
	}
	return st
}

// SetAgentState pauses or resumes an agent (op "pause" or "resume") by the lifecycle routes'
// rules, for the UI. It returns the status the route would answer and, on failure, its error
// code (MANIFEST_UNAVAILABLE, AGENT_NOT_FOUND, INVALID_STATE, NOT_FOUND).
func (s *Engine) SetAgentState(id, op string) (int, string) {
	cur := s.surface()
	if cur.Serving == nil {
		return http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE"
	}
	e := &s.reg
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sync(cur.Serving.Surface.Doc.Root, s.dir)
	a := e.agent(id)
	if a == nil {
		return http.StatusNotFound, "AGENT_NOT_FOUND"
	}
	switch op {
	case "pause":
		if a.Status == "stopped" || a.Status == "error" {
			return http.StatusUnprocessableEntity, "INVALID_STATE"
		}
		a.Status = "paused"
	case "resume":
		a.Status = "running"
	default:
		return http.StatusNotFound, "NOT_FOUND"
	}
	e.persist(nil)
	return http.StatusNoContent, ""
}

// Reload makes the next call read the simulation's state again from the database: the host
// calls it after an import or a reset.
func (s *Engine) Reload() {
	e := &s.reg
	e.mu.Lock()
	defer e.mu.Unlock()
	e.loaded = false
}

var (
	oapAgentPath = regexp.MustCompile(`^/oap/agents/([^/]+)(/pause|/resume|/memory|/traces|/traces/latest)?$`)
	oapTracePath = regexp.MustCompile(`^/oap/traces/([^/]+)$`)
)

// oapCapability is the capability a route needs (spec/oap.md §4).
func oapCapability(path string) string {
	switch {
	case strings.HasSuffix(path, "/pause") || strings.HasSuffix(path, "/resume"):
		return "io.oap.agents.lifecycle"
	case strings.HasSuffix(path, "/memory"):
		return "io.oap.agents.memory"
	case strings.HasPrefix(path, "/oap/traces") || strings.Contains(path, "/traces"):
		return "io.oap.observability.tracing"
	case path == "/oap/events":
		return "io.oap.agents.events"
	case path == "/oap/commands":
		return "io.oap.agents.commands"
	case path == "/oap/agents" || oapAgentPath.MatchString(path):
		return "io.oap.agents.registry"
	}
	return ""
}

// oapActive reports whether the manifest declares a capability as active (or without a status).
func oapActive(doc *jsondoc.Node, name string) bool {
	for _, c := range doc.Members[0].Value.Get("capabilities").List() {
		if c.Str("name") == name {
			st := c.Str("status")
			return st == "" || st == "active"
		}
	}
	return false
}

// Serve answers the OAP service routes under /oap/ for the surface st. The host routes here
// with the request logged and its body bounded; every failure is answered in OAP's envelope.
func (s *Engine) Serve(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	path := strings.TrimSuffix(r.URL.Path, "/")
	if st.Serving == nil {
		w.Header().Set("Retry-After", "5")
		WriteError(w, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet")
		return
	}
	capability := oapCapability(path)
	if capability == "" {
		WriteError(w, http.StatusNotFound, "NOT_FOUND", "no OAP route at "+r.URL.Path)
		return
	}
	doc := st.Serving.Surface.Doc.Root
	if !oapActive(doc, capability) {
		WriteError(w, http.StatusUnprocessableEntity, "CAPABILITY_NOT_SUPPORTED", "this manifest does not declare "+capability+" as active")
		return
	}
	e := &s.reg
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sync(doc, s.dir)
	methods := func(allowed ...string) bool {
		if slices.Contains(allowed, r.Method) || (r.Method == http.MethodHead && slices.Contains(allowed, http.MethodGet)) {
			return true
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path)
		return false
	}
	q := r.URL.Query()
	switch {
	case path == "/oap/agents":
		if !methods(http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodPost {
			s.registerOAPAgent(w, r, e)
			return
		}
		list := []Agent{}
		for _, a := range e.agents {
			list = append(list, *a)
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"agents": list})
	case path == "/oap/events":
		if !methods(http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodPost {
			event, ok := decodeOAPMessage(w, r)
			if !ok {
				return
			}
			id, traces := e.accept(event, s.clock.Now(), s.dir, s.logSize())
			if traces == nil {
				traces = []string{}
			}
			kernel.WriteJSON(w, http.StatusAccepted, map[string]any{"eventId": id, "traceIds": traces})
			return
		}
		out := []map[string]any{}
		for _, ev := range e.events {
			if t := q.Get("type"); t == "" || ev["type"] == t {
				out = append(out, ev)
			}
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"events": out})
	case path == "/oap/commands":
		if !methods(http.MethodGet) {
			return
		}
		out := []map[string]any{}
		for _, c := range e.commands {
			meta, _ := c["metadata"].(map[string]any)
			if (q.Get("type") == "" || c["type"] == q.Get("type")) && (q.Get("agentId") == "" || meta["agentId"] == q.Get("agentId")) {
				out = append(out, c)
			}
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"commands": out})
	case path == "/oap/traces":
		if !methods(http.MethodGet) {
			return
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"traces": e.tracesOf(q.Get("agentId"))})
	case oapTracePath.MatchString(path):
		if !methods(http.MethodGet) {
			return
		}
		id := oapTracePath.FindStringSubmatch(path)[1]
		for _, t := range e.traces {
			if t.TraceID == id {
				kernel.WriteJSON(w, http.StatusOK, t)
				return
			}
		}
		WriteError(w, http.StatusNotFound, "TRACE_NOT_FOUND", "no trace "+id+" (the log keeps the newest 1000)")
	default:
		m := oapAgentPath.FindStringSubmatch(path)
		a := e.agent(m[1])
		sub := m[2]
		allowed := map[string][]string{"": {http.MethodGet, http.MethodDelete}, "/pause": {http.MethodPost}, "/resume": {http.MethodPost},
			"/memory": {http.MethodGet}, "/traces": {http.MethodGet}, "/traces/latest": {http.MethodGet}}[sub]
		if !methods(allowed...) {
			return
		}
		if a == nil {
			WriteError(w, http.StatusNotFound, "AGENT_NOT_FOUND", "no agent "+m[1]+" in the registry")
			return
		}
		switch sub {
		case "":
			if r.Method == http.MethodDelete {
				if a.declared {
					for _, n := range doc.Members[0].Value.Get("agents").List() {
						if n.Str("id") == a.ID {
							e.removed[a.ID] = string(jsondoc.Canonical(n))
						}
					}
				}
				e.agents = slices.DeleteFunc(e.agents, func(x *Agent) bool { return x == a })
				e.persist(nil)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			kernel.WriteJSON(w, http.StatusOK, a)
		case "/pause", "/resume":
			if sub == "/pause" && (a.Status == "stopped" || a.Status == "error") {
				WriteError(w, http.StatusUnprocessableEntity, "INVALID_STATE", "a "+a.Status+" agent cannot be paused; resume starts it")
				return
			}
			if sub == "/pause" {
				a.Status = "paused"
			} else {
				a.Status = "running"
			}
			e.persist(nil)
			w.WriteHeader(http.StatusNoContent)
		case "/memory":
			kernel.WriteJSON(w, http.StatusOK, map[string]any{"agentId": a.ID, "state": a.memory})
		case "/traces":
			kernel.WriteJSON(w, http.StatusOK, map[string]any{"traces": e.tracesOf(a.ID)})
		case "/traces/latest":
			list := e.tracesOf(a.ID)
			if len(list) == 0 {
				WriteError(w, http.StatusNotFound, "TRACE_NOT_FOUND", a.ID+" has no trace yet")
				return
			}
			kernel.WriteJSON(w, http.StatusOK, list[len(list)-1])
		}
	}
}

func (e *registry) tracesOf(agentID string) []*Trace {
	out := []*Trace{}
	for _, t := range e.traces {
		if agentID == "" || t.AgentID == agentID {
			out = append(out, t)
		}
	}
	return out
}

// decodeOAPMessage reads an event body (spec/oap.md §5: type, data, metadata of strings; closed).
func decodeOAPMessage(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	raw := kernel.ReadBody(r)
	var msg map[string]any
	if err := json.Unmarshal(raw, &msg); err != nil {
		WriteError(w, http.StatusBadRequest, "INVALID_JSON", "the body is not JSON: "+err.Error())
		return nil, false
	}
	var errs []map[string]any
	bad := func(ptr, text string) { errs = append(errs, map[string]any{"pointer": ptr, "message": text}) }
	if t, ok := msg["type"].(string); !ok || t == "" {
		bad("/type", "type is a non-empty string")
	}
	if _, ok := msg["data"].(map[string]any); !ok {
		bad("/data", "data is an object")
	}
	meta, ok := msg["metadata"].(map[string]any)
	if !ok {
		bad("/metadata", "metadata is an object of strings")
	}
	for k, v := range meta {
		if _, isString := v.(string); !isString {
			bad("/metadata/"+k, "metadata values are strings")
		}
	}
	for k := range msg {
		if k != "type" && k != "data" && k != "metadata" {
			bad("/"+k, "unknown member (an event has type, data and metadata)")
		}
	}
	if len(errs) > 0 {
		kernel.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "INVALID_REQUEST", "message": "the event is not valid", "details": map[string]any{"errors": errs}}})
		return nil, false
	}
	return msg, true
}

// registerOAPAgent is POST /agents (spec/oap.md §6.1).
func (s *Engine) registerOAPAgent(w http.ResponseWriter, r *http.Request, e *registry) {
	raw := kernel.ReadBody(r)
	var reg map[string]any
	if err := json.Unmarshal(raw, &reg); err != nil {
		WriteError(w, http.StatusBadRequest, "INVALID_JSON", "the body is not JSON: "+err.Error())
		return
	}
	var errs []map[string]any
	bad := func(ptr, text string) { errs = append(errs, map[string]any{"pointer": ptr, "message": text}) }
	str := func(k string, required bool) string {
		v, ok := reg[k].(string)
		if (required && (!ok || v == "")) || (!required && reg[k] != nil && !ok) {
			bad("/"+k, k+" is a string")
		}
		return v
	}
	list := func(k string) []string {
		arr, ok := reg[k].([]any)
		if !ok {
			bad("/"+k, k+" is an array of type names")
			return nil
		}
		out := []string{}
		for i, it := range arr {
			t, ok := it.(string)
			if !ok || t == "" {
				bad(fmt.Sprintf("/%s/%d", k, i), "type names are non-empty strings")
			}
			out = append(out, t)
		}
		return out
	}
	a := &Agent{ID: str("id", true), Name: str("name", true), Description: str("description", false), Type: str("type", false),
		Accepts: list("accepts"), Produces: list("produces"), Status: "stopped"}
	for k := range reg {
		if !slices.Contains([]string{"id", "name", "description", "type", "accepts", "produces"}, k) {
			bad("/"+k, "not allowed in a registration")
		}
	}
	if len(errs) > 0 {
		kernel.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "INVALID_REQUEST", "message": "the registration is not valid", "details": map[string]any{"errors": errs}}})
		return
	}
	if e.agent(a.ID) != nil {
		WriteError(w, http.StatusConflict, "AGENT_ALREADY_EXISTS", "an agent "+a.ID+" is in the registry")
		return
	}
	a.memory = initialMemory(s.dir, a.ID)
	e.agents = append(e.agents, a)
	e.persist(nil)
	kernel.WriteJSON(w, http.StatusCreated, a)
}

// Events returns up to limit of the newest OAP events, newest first, with the ids of the
// traces each caused.
func (s *Engine) Events(limit int) []EventView {
	e := &s.reg
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		e.load()
	}
	var out []EventView
	for i := len(e.events) - 1; i >= 0 && len(out) < limit; i-- {
		ev := e.events[i]
		meta, _ := ev["metadata"].(map[string]any)
		v := EventView{Type: fmt.Sprint(ev["type"]), EventID: fmt.Sprint(meta["eventId"]), ReceivedAt: fmt.Sprint(meta["receivedAt"])}
		for _, t := range e.traces {
			if tm, _ := t.InputEvent["metadata"].(map[string]any); tm["eventId"] == meta["eventId"] {
				v.Traces = append(v.Traces, t.TraceID+" ("+t.AgentID+")")
			}
		}
		out = append(out, v)
	}
	return out
}

// EventView is an OAP event for the UI.
type EventView struct {
	Type, EventID, ReceivedAt string
	Traces                    []string
}

// Discovery is the served OAP manifest with its agents replaced by the live registry, in
// registry order with their current status (spec/oap.md §3). It changes as the registry does,
// so it is built per request.
func (s *Engine) Discovery(sv *kernel.ServedSurface, origin string) *kernel.Document {
	root := sv.Rewritten(origin)
	e := &s.reg
	e.mu.Lock()
	e.sync(sv.Surface.Doc.Root, s.dir)
	raw, _ := json.Marshal(e.agents)
	e.mu.Unlock()
	if doc, err := jsondoc.Parse(raw); err == nil {
		root.Members[0].Value.Set("agents", doc.Root)
	}
	body := jsondoc.Indent(root)
	sum := sha256.Sum256(body)
	return kernel.NewDocument(body, `"`+hex.EncodeToString(sum[:])[:16]+`"`)
}
