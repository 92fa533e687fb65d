package mock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// OAP 2025-07-01 simulation (spec/oap.md §6–§9): the agent registry with lifecycle, each agent's
// memory, and the event, command and trace logs, kept in memory (a restart, a state import or a
// reset starts again from the manifest). Routes live under /oap/.

// oapLogSize is how many entries each log keeps (oap.log_size).
const oapLogSize = 1000

// OAPAgent is one agent of the registry.
type OAPAgent struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Type        string   `json:"type,omitempty"`
	Accepts     []string `json:"accepts"`
	Produces    []string `json:"produces"`
	Status      string   `json:"status"`

	declared       bool
	declaredStatus string
	memory         map[string]any
}

// OAPTrace is one execution trace.
type OAPTrace struct {
	TraceID        string           `json:"traceId"`
	AgentID        string           `json:"agentId"`
	InputEvent     map[string]any   `json:"inputEvent"`
	OutputCommands []map[string]any `json:"outputCommands"`
	StartedAt      string           `json:"startedAt"`
	CompletedAt    string           `json:"completedAt"`
	Duration       string           `json:"duration"`
	Succeeded      bool             `json:"succeeded"`
	Error          string           `json:"error,omitempty"`
	Steps          []map[string]any `json:"steps"`
}

type oapEngine struct {
	mu       sync.Mutex
	db       *storage.DB // where the state is kept (nil in a bare engine)
	loaded   bool
	source   string            // canonical form of the manifest the registry follows
	agents   []*OAPAgent       // registry order
	removed  map[string]string // id → the descriptor it had when DELETEd
	events   []map[string]any
	commands []map[string]any
	traces   []*OAPTrace
	eventSeq int
	traceSeq int
}

// sync brings the registry in line with the served manifest (spec/oap.md §6.1): declared agents
// take their descriptors from the file; a declared status applies only when it changed in the
// file; a deleted declared agent stays deleted until its descriptor changes.
func (e *oapEngine) sync(doc *jsondoc.Node, dir string) {
	if !e.loaded {
		e.load()
	}
	source := string(jsondoc.Canonical(doc))
	if source == e.source {
		return
	}
	defer e.persist(nil)
	e.source = source
	if e.removed == nil {
		e.removed = map[string]string{}
	}
	declared := map[string]bool{}
	for _, n := range doc.Members[0].Value.Get("agents").List() {
		a := OAPAgent{ID: n.Str("id"), Name: n.Str("name"), Description: n.Str("description"), Type: n.Str("type"),
			Accepts: stringList(n.Get("accepts")), Produces: stringList(n.Get("produces")), Status: n.Str("status")}
		desc := string(jsondoc.Canonical(n))
		declared[a.ID] = true
		if was, gone := e.removed[a.ID]; gone {
			if was == desc {
				continue
			}
			delete(e.removed, a.ID)
		}
		if cur := e.agent(a.ID); cur != nil {
			status := cur.Status
			if cur.declaredStatus != a.Status {
				status = a.Status
			}
			mem := cur.memory
			*cur = a
			cur.Status, cur.memory, cur.declared, cur.declaredStatus = status, mem, true, a.Status
			continue
		}
		a.declared, a.declaredStatus, a.memory = true, a.Status, initialMemory(dir, a.ID)
		e.agents = append(e.agents, &a)
	}
	// Agents that left the file leave the registry, unless they were registered through the API.
	e.agents = slices.DeleteFunc(e.agents, func(a *OAPAgent) bool { return a.declared && !declared[a.ID] })
}

func (e *oapEngine) agent(id string) *OAPAgent {
	for _, a := range e.agents {
		if a.ID == id {
			return a
		}
	}
	return nil
}

func stringList(n *jsondoc.Node) []string {
	out := []string{}
	for _, it := range n.List() {
		out = append(out, it.Text)
	}
	return out
}

// initialMemory is an agent's starting state with oap/agents/<id>.memory.json merged over it.
func initialMemory(dir, id string) map[string]any {
	m := map[string]any{"eventsProcessed": 0, "commandsProduced": 0, "failures": 0, "eventCounts": map[string]any{}}
	if raw, err := os.ReadFile(filepath.Join(dir, "oap", "agents", id+".memory.json")); err == nil {
		var seed map[string]any
		if json.Unmarshal(raw, &seed) == nil {
			for k, v := range seed {
				m[k] = v
			}
		}
	}
	return m
}

// oapRule is an agent's rules-file entry for one event type.
type oapRule struct {
	Produce []string       `json:"produce"`
	Data    map[string]any `json:"data"`
}

func agentRules(dir, id string) map[string]oapRule {
	var f struct {
		On map[string]oapRule `json:"on"`
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "oap", "agents", id+".rules.json")); err == nil {
		json.Unmarshal(raw, &f)
	}
	return f.On
}

func trim[T any](list []T) []T {
	if len(list) > oapLogSize {
		return slices.Clone(list[len(list)-oapLogSize:])
	}
	return list
}

// accept records an event and runs every running agent that accepts its type (spec/oap.md §7).
func (e *oapEngine) accept(event map[string]any, now time.Time, dir string) (string, []string) {
	meta, _ := event["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		event["metadata"] = meta
	}
	e.eventSeq++
	if _, ok := meta["eventId"]; !ok {
		meta["eventId"] = fmt.Sprintf("evt-%06d", e.eventSeq)
	}
	if _, ok := meta["receivedAt"]; !ok {
		meta["receivedAt"] = now.UTC().Format(time.RFC3339)
	}
	e.events = trim(append(e.events, event))
	typ, _ := event["type"].(string)
	eventID, _ := meta["eventId"].(string)
	at, _ := meta["receivedAt"].(string)
	correlation, _ := meta["correlationId"].(string)
	if correlation == "" {
		correlation = eventID
	}
	failure, fail := meta["x-ospbox-fail"].(string)
	var traceIDs []string
	for _, a := range e.agents {
		if !slices.Contains(a.Accepts, typ) || a.Status != "running" {
			continue
		}
		e.traceSeq++
		traceID := fmt.Sprintf("trace-%06d", e.traceSeq)
		traceIDs = append(traceIDs, traceID)
		types := a.Produces
		rule, ruled := agentRules(dir, a.ID)[typ]
		if ruled && rule.Produce != nil {
			types = rule.Produce
		}
		var cmds []map[string]any
		if !fail {
			for _, ct := range types {
				data := deepCopy(event["data"]).(map[string]any)
				for k, v := range rule.Data {
					data[k] = v
				}
				cmds = append(cmds, map[string]any{"type": ct, "data": data,
					"metadata": map[string]any{"agentId": a.ID, "traceId": traceID, "correlationId": correlation, "causationId": eventID}})
			}
		}
		if cmds == nil {
			cmds = []map[string]any{}
		}
		t := &OAPTrace{TraceID: traceID, AgentID: a.ID, InputEvent: event, OutputCommands: cmds, StartedAt: at, CompletedAt: at,
			Duration: "PT0S", Succeeded: !fail, Error: failure,
			Steps: []map[string]any{
				{"name": "match", "succeeded": true, "detail": map[string]any{"eventType": typ}},
				{"name": "produce", "succeeded": !fail, "detail": map[string]any{"commandTypes": commandTypes(cmds)}},
				{"name": "memory", "succeeded": true},
			}}
		e.commands = trim(append(e.commands, cmds...))
		e.traces = trim(append(e.traces, t))
		m := a.memory
		m["eventsProcessed"] = number(m["eventsProcessed"]) + 1
		m["commandsProduced"] = number(m["commandsProduced"]) + float64(len(cmds))
		if fail {
			m["failures"] = number(m["failures"]) + 1
		}
		m["lastEventType"], m["lastEventAt"], m["lastTraceId"] = typ, at, traceID
		counts, _ := m["eventCounts"].(map[string]any)
		if counts == nil {
			counts = map[string]any{}
			m["eventCounts"] = counts
		}
		counts[typ] = number(counts[typ]) + 1
	}
	entries := []storage.OAPEntry{entry("event", event)}
	for _, id := range traceIDs {
		for _, t := range e.traces {
			if t.TraceID == id {
				for _, c := range t.OutputCommands {
					entries = append(entries, entry("command", c))
				}
				entries = append(entries, entry("trace", t))
			}
		}
	}
	e.persist(entries)
	return eventID, traceIDs
}

func entry(kind string, v any) storage.OAPEntry {
	raw, _ := json.Marshal(v)
	return storage.OAPEntry{Kind: kind, Doc: string(raw)}
}

// oapSaved is the stored form of the registry and counters.
type oapSaved struct {
	Source   string            `json:"source"`
	Agents   []oapSavedAgent   `json:"agents"`
	Removed  map[string]string `json:"removed"`
	EventSeq int               `json:"event_seq"`
	TraceSeq int               `json:"trace_seq"`
}

type oapSavedAgent struct {
	OAPAgent
	Declared       bool           `json:"declared"`
	DeclaredStatus string         `json:"declared_status"`
	Memory         map[string]any `json:"memory"`
}

// persist stores the registry and counters with entries appended to the logs. A failure is
// logged: the answer already given stands, and the next change stores the state again.
func (e *oapEngine) persist(entries []storage.OAPEntry) {
	if e.db == nil {
		return
	}
	saved := oapSaved{Source: e.source, Removed: e.removed, EventSeq: e.eventSeq, TraceSeq: e.traceSeq}
	for _, a := range e.agents {
		saved.Agents = append(saved.Agents, oapSavedAgent{OAPAgent: *a, Declared: a.declared, DeclaredStatus: a.declaredStatus, Memory: a.memory})
	}
	doc, _ := json.Marshal(saved)
	if err := e.db.SaveOAP(context.Background(), string(doc), entries); err != nil {
		slog.Error("saving the OAP simulation", "err", err)
	}
}

// load reads the stored state (once; again after an import or a reset).
func (e *oapEngine) load() {
	e.loaded = true
	e.source, e.agents, e.removed, e.events, e.commands, e.traces, e.eventSeq, e.traceSeq = "", nil, map[string]string{}, nil, nil, nil, 0, 0
	if e.db == nil {
		return
	}
	doc, log, err := e.db.LoadOAP(context.Background())
	if err != nil {
		slog.Error("loading the OAP simulation", "err", err)
		return
	}
	var saved oapSaved
	if doc != "" && json.Unmarshal([]byte(doc), &saved) == nil {
		e.source, e.eventSeq, e.traceSeq = saved.Source, saved.EventSeq, saved.TraceSeq
		if saved.Removed != nil {
			e.removed = saved.Removed
		}
		for _, sa := range saved.Agents {
			a := sa.OAPAgent
			a.declared, a.declaredStatus, a.memory = sa.Declared, sa.DeclaredStatus, sa.Memory
			if a.memory == nil {
				a.memory = map[string]any{}
			}
			e.agents = append(e.agents, &a)
		}
	}
	for _, en := range log {
		switch en.Kind {
		case "event", "command":
			var m map[string]any
			if json.Unmarshal([]byte(en.Doc), &m) == nil {
				if en.Kind == "event" {
					e.events = append(e.events, m)
				} else {
					e.commands = append(e.commands, m)
				}
			}
		case "trace":
			var t OAPTrace
			if json.Unmarshal([]byte(en.Doc), &t) == nil {
				e.traces = append(e.traces, &t)
			}
		}
	}
}

func commandTypes(cmds []map[string]any) []string {
	out := []string{}
	for _, c := range cmds {
		out = append(out, c["type"].(string))
	}
	return out
}

func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	}
	return 0
}

func deepCopy(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	json.Unmarshal(raw, &out)
	if out == nil {
		return map[string]any{}
	}
	return out
}

// OAPState is a copy of the registry and the newest traces, for the UI.
type OAPState struct {
	Present bool
	Agents  []OAPAgentView
}

// OAPAgentView is an agent with its memory and recent traces.
type OAPAgentView struct {
	OAPAgent
	Memory map[string]any
	Traces []*OAPTrace // newest first, at most 10
}

// OAP returns the registry as it stands (after syncing with the served manifest).
func (s *Sandbox) OAP() OAPState {
	snap := s.Snapshot()
	if snap.OAP.Serving == nil {
		return OAPState{}
	}
	e := &s.oap
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sync(snap.OAP.Serving.Surface.Doc.Root, s.ws.Dir)
	st := OAPState{Present: true}
	for _, a := range e.agents {
		v := OAPAgentView{OAPAgent: *a, Memory: deepCopy(a.memory).(map[string]any)}
		for i := len(e.traces) - 1; i >= 0 && len(v.Traces) < 10; i-- {
			if e.traces[i].AgentID == a.ID {
				v.Traces = append(v.Traces, e.traces[i])
			}
		}
		st.Agents = append(st.Agents, v)
	}
	return st
}

// SetAgentState pauses or resumes an agent (the lifecycle routes' rules).
func (s *Sandbox) SetAgentState(id, op string) (int, string) {
	snap := s.Snapshot()
	if snap.OAP.Serving == nil {
		return http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE"
	}
	e := &s.oap
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sync(snap.OAP.Serving.Surface.Doc.Root, s.ws.Dir)
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

// ReloadOAP reads the simulation's state again from the database (after an import or a reset).
func (s *Sandbox) ReloadOAP() {
	e := &s.oap
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

// serveOAP answers the OAP service routes under /oap/.
func (s *Sandbox) serveOAP(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState) {
	s.logged(w, r, "oap", "", func(w http.ResponseWriter) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		path := strings.TrimSuffix(r.URL.Path, "/")
		if st.Serving == nil {
			w.Header().Set("Retry-After", "5")
			surfaceError(w, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet")
			return
		}
		capability := oapCapability(path)
		if capability == "" {
			surfaceError(w, http.StatusNotFound, "NOT_FOUND", "no OAP route at "+r.URL.Path)
			return
		}
		doc := st.Serving.Surface.Doc.Root
		if !oapActive(doc, capability) {
			surfaceError(w, http.StatusUnprocessableEntity, "CAPABILITY_NOT_SUPPORTED", "this manifest does not declare "+capability+" as active")
			return
		}
		e := &s.oap
		e.mu.Lock()
		defer e.mu.Unlock()
		e.sync(doc, s.ws.Dir)
		methods := func(allowed ...string) bool {
			if slices.Contains(allowed, r.Method) || (r.Method == http.MethodHead && slices.Contains(allowed, http.MethodGet)) {
				return true
			}
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			surfaceError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path)
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
			list := []OAPAgent{}
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
				id, traces := e.accept(event, s.clock.Now(), s.ws.Dir)
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
			surfaceError(w, http.StatusNotFound, "TRACE_NOT_FOUND", "no trace "+id+" (the log keeps the newest 1000)")
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
				surfaceError(w, http.StatusNotFound, "AGENT_NOT_FOUND", "no agent "+m[1]+" in the registry")
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
					e.agents = slices.DeleteFunc(e.agents, func(x *OAPAgent) bool { return x == a })
					e.persist(nil)
					w.WriteHeader(http.StatusNoContent)
					return
				}
				kernel.WriteJSON(w, http.StatusOK, a)
			case "/pause", "/resume":
				if sub == "/pause" && (a.Status == "stopped" || a.Status == "error") {
					surfaceError(w, http.StatusUnprocessableEntity, "INVALID_STATE", "a "+a.Status+" agent cannot be paused; resume starts it")
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
					surfaceError(w, http.StatusNotFound, "TRACE_NOT_FOUND", a.ID+" has no trace yet")
					return
				}
				kernel.WriteJSON(w, http.StatusOK, list[len(list)-1])
			}
		}
	})
}

func (e *oapEngine) tracesOf(agentID string) []*OAPTrace {
	out := []*OAPTrace{}
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
		surfaceError(w, http.StatusBadRequest, "INVALID_JSON", "the body is not JSON: "+err.Error())
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
func (s *Sandbox) registerOAPAgent(w http.ResponseWriter, r *http.Request, e *oapEngine) {
	raw := kernel.ReadBody(r)
	var reg map[string]any
	if err := json.Unmarshal(raw, &reg); err != nil {
		surfaceError(w, http.StatusBadRequest, "INVALID_JSON", "the body is not JSON: "+err.Error())
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
	a := &OAPAgent{ID: str("id", true), Name: str("name", true), Description: str("description", false), Type: str("type", false),
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
		surfaceError(w, http.StatusConflict, "AGENT_ALREADY_EXISTS", "an agent "+a.ID+" is in the registry")
		return
	}
	a.memory = initialMemory(s.ws.Dir, a.ID)
	e.agents = append(e.agents, a)
	e.persist(nil)
	kernel.WriteJSON(w, http.StatusCreated, a)
}

// OAPEvents returns up to limit of the newest OAP events, newest first, with the ids of the
// traces each caused.
func (s *Sandbox) OAPEvents(limit int) []OAPEventView {
	e := &s.oap
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		e.load()
	}
	var out []OAPEventView
	for i := len(e.events) - 1; i >= 0 && len(out) < limit; i-- {
		ev := e.events[i]
		meta, _ := ev["metadata"].(map[string]any)
		v := OAPEventView{Type: fmt.Sprint(ev["type"]), EventID: fmt.Sprint(meta["eventId"]), ReceivedAt: fmt.Sprint(meta["receivedAt"])}
		for _, t := range e.traces {
			if tm, _ := t.InputEvent["metadata"].(map[string]any); tm["eventId"] == meta["eventId"] {
				v.Traces = append(v.Traces, t.TraceID+" ("+t.AgentID+")")
			}
		}
		out = append(out, v)
	}
	return out
}

// OAPEventView is an OAP event for the UI.
type OAPEventView struct {
	Type, EventID, ReceivedAt string
	Traces                    []string
}

// oapDiscovery is the served OAP manifest with its agents replaced by the live registry, in
// registry order with their current status (spec/oap.md §3). It changes as the registry does,
// so it is built per request.
func (s *Sandbox) oapDiscovery(sv *kernel.ServedSurface, origin string) *kernel.Document {
	root := sv.Rewritten(origin)
	e := &s.oap
	e.mu.Lock()
	e.sync(sv.Surface.Doc.Root, s.ws.Dir)
	raw, _ := json.Marshal(e.agents)
	e.mu.Unlock()
	if doc, err := jsondoc.Parse(raw); err == nil {
		root.Members[0].Value.Set("agents", doc.Root)
	}
	body := jsondoc.Indent(root)
	sum := sha256.Sum256(body)
	return kernel.NewDocument(body, `"`+hex.EncodeToString(sum[:])[:16]+`"`)
}
