package oap

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/storage"
)

// OAP 2025-07-01 simulation (spec/oap.md §6–§9): the agent registry with lifecycle, each agent's
// memory, and the event, command and trace logs, kept in memory (a restart, a state import or a
// reset starts again from the manifest). Routes live under /oap/.

// Agent is one agent of the registry.
type Agent struct {
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

// Trace is one execution trace.
type Trace struct {
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

type registry struct {
	mu       sync.Mutex
	db       *storage.DB // where the state is kept (nil in a bare engine)
	loaded   bool
	source   string            // canonical form of the manifest the registry follows
	agents   []*Agent          // registry order
	removed  map[string]string // id → the descriptor it had when DELETEd
	events   []map[string]any
	commands []map[string]any
	traces   []*Trace
	eventSeq int
	traceSeq int
}

// sync brings the registry in line with the served manifest (spec/oap.md §6.1): declared agents
// take their descriptors from the file; a declared status applies only when it changed in the
// file; a deleted declared agent stays deleted until its descriptor changes.
func (e *registry) sync(doc *jsondoc.Node, dir string) {
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
		a := Agent{ID: n.Str("id"), Name: n.Str("name"), Description: n.Str("description"), Type: n.Str("type"),
			Accepts: n.Get("accepts").Strings(), Produces: n.Get("produces").Strings(), Status: n.Str("status")}
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
	e.agents = slices.DeleteFunc(e.agents, func(a *Agent) bool { return a.declared && !declared[a.ID] })
}

func (e *registry) agent(id string) *Agent {
	for _, a := range e.agents {
		if a.ID == id {
			return a
		}
	}
	return nil
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

// trim keeps the newest size entries of a log (oap.log_size).
func trim[T any](list []T, size int) []T {
	if len(list) > size {
		return slices.Clone(list[len(list)-size:])
	}
	return list
}

// accept records an event and runs every running agent that accepts its type (spec/oap.md §7).
func (e *registry) accept(event map[string]any, now time.Time, dir string, logSize int) (string, []string) {
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
	e.events = trim(append(e.events, event), logSize)
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
		t := &Trace{TraceID: traceID, AgentID: a.ID, InputEvent: event, OutputCommands: cmds, StartedAt: at, CompletedAt: at,
			Duration: "PT0S", Succeeded: !fail, Error: failure,
			Steps: []map[string]any{
				{"name": "match", "succeeded": true, "detail": map[string]any{"eventType": typ}},
				{"name": "produce", "succeeded": !fail, "detail": map[string]any{"commandTypes": commandTypes(cmds)}},
				{"name": "memory", "succeeded": true},
			}}
		e.commands = trim(append(e.commands, cmds...), logSize)
		e.traces = trim(append(e.traces, t), logSize)
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
	Agent
	Declared       bool           `json:"declared"`
	DeclaredStatus string         `json:"declared_status"`
	Memory         map[string]any `json:"memory"`
}

// persist stores the registry and counters with entries appended to the logs. A failure is
// logged: the answer already given stands, and the next change stores the state again.
func (e *registry) persist(entries []storage.OAPEntry) {
	if e.db == nil {
		return
	}
	saved := oapSaved{Source: e.source, Removed: e.removed, EventSeq: e.eventSeq, TraceSeq: e.traceSeq}
	for _, a := range e.agents {
		saved.Agents = append(saved.Agents, oapSavedAgent{Agent: *a, Declared: a.declared, DeclaredStatus: a.declaredStatus, Memory: a.memory})
	}
	doc, _ := json.Marshal(saved)
	if err := e.db.SaveOAP(context.Background(), string(doc), entries); err != nil {
		slog.Error("saving the OAP simulation", "err", err)
	}
}

// load reads the stored state (once; again after an import or a reset).
func (e *registry) load() {
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
			a := sa.Agent
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
			var t Trace
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
