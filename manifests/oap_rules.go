package manifests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// oapKnown are the io.oap.* capabilities of 2025-07-01 (spec/oap.md §2.2).
var oapKnown = []string{"io.oap.agents.registry", "io.oap.agents.lifecycle", "io.oap.agents.events", "io.oap.agents.commands", "io.oap.agents.memory", "io.oap.observability.tracing"}

// oapLaterMembers are members of the later model that kept the 2025-07-01 date but continued as
// BSP; where they may appear (object kind) and the member name.
var oapLaterMembers = map[string][]string{
	"service":    {"authentication", "http"},
	"capability": {"endpoints", "push", "service"},
	"root":       {"authentication"},
	"rest":       {"openapi"},
}

// laterRevision reports members of the later OAP model (spec/oap.md §1) and returns their
// pointers, so the schema's generic "unknown member" finding can be dropped for them.
func (r *reporter) laterRevision(body *jsondoc.Node) map[string]bool {
	found := map[string]bool{}
	flag := func(ptr, what string) {
		found[ptr] = true
		r.at(SeverityError, ptr, "later_revision_feature", what+" belongs to a later OAP revision that continued as BSP; ospbox serves OAP 2025-07-01 as of v0.1.0 — move this manifest to bsp/manifest.json to use it")
	}
	for _, m := range oapLaterMembers["root"] {
		if body.Has(m) {
			flag("/oap/"+m, m)
		}
	}
	for _, name := range memberNamesOf(body.Get("services")) {
		svc := body.Get("services").Get(name)
		ptr := "/oap/services/" + jsondoc.PointerToken(name)
		for _, m := range oapLaterMembers["service"] {
			if svc.Has(m) {
				flag(ptr+"/"+m, "a service's "+m)
			}
		}
		for _, m := range oapLaterMembers["rest"] {
			if svc.Get("rest").Has(m) {
				flag(ptr+"/rest/"+m, "rest."+m)
			}
		}
	}
	for i, c := range items(body.Get("capabilities")) {
		ptr := fmt.Sprintf("/oap/capabilities/%d", i)
		for _, m := range oapLaterMembers["capability"] {
			if c.Has(m) {
				flag(ptr+"/"+m, "a capability's "+m)
			}
		}
		if c.Str("status") == "partial" {
			flag(ptr+"/status", "status \"partial\"")
		}
	}
	return found
}

// dropFindings removes findings of rules at the given pointers.
func (r *reporter) dropFindings(pointers map[string]bool, rules ...string) {
	keep := func(ds []Diagnostic) []Diagnostic {
		out := ds[:0]
		for _, d := range ds {
			if !(pointers[d.Pointer] && contains(rules, d.Rule)) {
				out = append(out, d)
			}
		}
		return out
	}
	r.rep.Errors, r.rep.Warnings = keep(r.rep.Errors), keep(r.rep.Warnings)
}

// oapRules are the checks of spec/oap.md §2.2 a schema cannot express.
func (r *reporter) oapRules(body *jsondoc.Node) {
	services := body.Get("services")
	declared := map[string]bool{}
	for _, c := range items(body.Get("capabilities")) {
		declared[c.Str("name")] = true
	}
	for i, c := range items(body.Get("capabilities")) {
		ptr := fmt.Sprintf("/oap/capabilities/%d", i)
		name := c.Str("name")
		if strings.HasPrefix(name, "io.oap.") && !contains(oapKnown, name) {
			r.at(SeverityError, ptr+"/name", "unknown_reserved_capability", fmt.Sprintf("%s is not an OAP 2025-07-01 capability (known: %s)", name, strings.Join(oapKnown, ", ")))
		}
		if name == "io.oap.agents.lifecycle" || name == "io.oap.agents.memory" {
			if !declared["io.oap.agents.registry"] {
				r.at(SeverityError, ptr, "lifecycle_without_registry", name+" needs io.oap.agents.registry in the same manifest")
			} else if c.Str("extends") != "io.oap.agents.registry" {
				at := ptr
				if c.Has("extends") {
					at = ptr + "/extends"
				}
				r.at(SeverityWarning, at, "extends_registry", name+" should extend io.oap.agents.registry")
			}
		}
		if ext := c.Str("extends"); ext != "" && !declared[ext] {
			r.at(SeverityError, ptr+"/extends", "extends_unresolved", fmt.Sprintf("extends names %q, which this manifest does not declare", ext))
		}
		for _, group := range []string{"io.oap.agents.", "io.oap.observability."} {
			if strings.HasPrefix(name, group) {
				key := strings.TrimSuffix(group, ".")
				if svc := services.Get(key); svc == nil || svc.Get("rest") == nil {
					r.at(SeverityError, ptr, "service_unresolved", fmt.Sprintf("%s needs a service %q with a rest binding", name, key))
				}
			}
		}
	}
	for _, name := range memberNamesOf(services) {
		for _, b := range []string{"mcp", "a2a", "grpc"} {
			if services.Get(name).Has(b) {
				r.at(SeverityInfo, "/oap/services/"+jsondoc.PointerToken(name)+"/"+b, "binding_not_served", b+" binding: published as authored, not served by ospbox")
			}
		}
	}
	seen := map[string]int{}
	for i, a := range items(body.Get("agents")) {
		ptr := fmt.Sprintf("/oap/agents/%d", i)
		if id := a.Str("id"); id != "" {
			if j, dup := seen[id]; dup {
				r.at(SeverityError, ptr+"/id", "duplicate_agent_id", fmt.Sprintf("agent id %q is already used %s", id, r.where(fmt.Sprintf("/oap/agents/%d/id", j))))
			}
			seen[id] = i
		}
		for _, list := range []string{"accepts", "produces"} {
			for j, t := range items(a.Get(list)) {
				p := fmt.Sprintf("%s/%s/%d", ptr, list, j)
				switch {
				case t.Kind == jsondoc.String && t.Text == "":
					r.at(SeverityError, p, "type_name", "types must not be empty")
				case t.Kind == jsondoc.String && !pascalPattern.MatchString(t.Text):
					r.at(SeverityWarning, p, "type_name", fmt.Sprintf("%q is not PascalCase; OAP types are conventionally PascalCase, e.g. TicketOpened", t.Text))
				}
			}
		}
	}
}

// oapAgent is what the side-file checks need to know of an agent in the manifest.
type oapAgent struct {
	accepts, produces []string
	ptr               string
}

func oapAgents(manifest *jsondoc.Document) map[string]oapAgent {
	agents := map[string]oapAgent{}
	if manifest == nil {
		return nil
	}
	for i, a := range items(manifest.Root.Get("oap").Get("agents")) {
		ag := oapAgent{ptr: fmt.Sprintf("/oap/agents/%d", i)}
		for _, t := range items(a.Get("accepts")) {
			ag.accepts = append(ag.accepts, t.Text)
		}
		for _, t := range items(a.Get("produces")) {
			ag.produces = append(ag.produces, t.Text)
		}
		agents[a.Str("id")] = ag
	}
	return agents
}

// isOAPSideFile reports whether a workspace path is an agent rules or memory file.
func isOAPSideFile(rel string) bool {
	return strings.HasPrefix(rel, "oap/agents/") && strings.Count(rel, "/") == 2 &&
		(strings.HasSuffix(rel, ".rules.json") || strings.HasSuffix(rel, ".memory.json"))
}

// LoadOAPSideFiles checks oap/agents/<agentId>.rules.json and .memory.json against the manifest
// (spec/oap.md §2.3).
func (w *Workspace) LoadOAPSideFiles(manifest *jsondoc.Document) []Report {
	dir := filepath.Join(w.Dir, "oap", "agents")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	agents := oapAgents(manifest)
	var names []string
	for _, e := range entries {
		if !e.IsDir() && isOAPSideFile("oap/agents/"+e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var reports []Report
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		reports = append(reports, checkOAPSideFile("oap/agents/"+name, data, err, agents))
	}
	return reports
}

// checkOAPSideFile validates one rules or memory file; agents is nil when the manifest is unknown.
func checkOAPSideFile(rel string, data []byte, readErr error, agents map[string]oapAgent) Report {
	name := filepath.Base(rel)
	id, kind := strings.TrimSuffix(name, ".rules.json"), "rules"
	if strings.HasSuffix(name, ".memory.json") {
		id, kind = strings.TrimSuffix(name, ".memory.json"), "memory"
	}
	r := newReporter(rel, "oap")
	if readErr != nil {
		r.at(SeverityError, "", "unreadable", readErr.Error())
		return r.finish()
	}
	if !r.parse(data) {
		return r.finish()
	}
	ag, known := agents[id]
	if !known && agents != nil {
		r.related(SeverityWarning, "", "unknown_agent", fmt.Sprintf("no agent %q in oap/manifest.json; this file is ignored", id), Location{File: OAPManifest, Pointer: "/oap/agents", Message: "agents declared here"})
	}
	if kind == "rules" {
		on := r.doc.Root.Get("on")
		if on == nil || on.Kind != jsondoc.Object {
			r.at(SeverityError, "", "rules_document", "a rules file is {\"on\": {\"<EventType>\": {\"produce\": [\"<CommandType>\"], \"data\": {…}}}}")
		}
		for _, m := range memberNamesOf(on) {
			ptr := "/on/" + jsondoc.PointerToken(m)
			if known && !contains(ag.accepts, m) {
				r.related(SeverityError, ptr, "rules_type_unknown", fmt.Sprintf("agent %s does not accept %s", id, m), Location{File: OAPManifest, Pointer: ag.ptr + "/accepts", Message: "the agent's accepts"})
			}
			for j, p := range items(on.Get(m).Get("produce")) {
				if known && !contains(ag.produces, p.Text) {
					r.related(SeverityError, fmt.Sprintf("%s/produce/%d", ptr, j), "rules_type_unknown", fmt.Sprintf("agent %s does not produce %s", id, p.Text), Location{File: OAPManifest, Pointer: ag.ptr + "/produces", Message: "the agent's produces"})
				}
			}
		}
		r.placeholdersInDataschema(r.doc.Root, "")
	}
	return r.finish()
}
