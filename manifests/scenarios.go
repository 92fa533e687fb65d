package manifests

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/manifests/scenariofile"
)

// ScenariosDir holds the workspace's scenario files: scenarios/<name>.json, each
// {"rules": [rule, ...]} (spec/control.md §4). Their rules are loaded into every namespace at
// creation and reset, and into the default namespace whenever a file changes.
const ScenariosDir = "scenarios"

// ScenarioFile is one scenario file's verdict and, when it has no errors, its rules.
type ScenarioFile struct {
	Report Report
	Rules  []scenariofile.Rule // nil when the file has errors
}

// IsScenarioFile reports whether rel (workspace-relative) is a scenario file.
func IsScenarioFile(rel string) bool {
	return strings.HasPrefix(rel, ScenariosDir+"/") && strings.Count(rel, "/") == 1 && strings.HasSuffix(rel, ".json")
}

// CheckScenarioFile validates a scenario file's text: strict JSON, a rules array, and every rule
// as the API decodes it, with its problem at the member's line and column. A rule without an id
// gets <file>-<n> (n from 1), so the file's rules keep their names across reloads.
func CheckScenarioFile(rel string, data []byte) ScenarioFile {
	r := newReporter(rel, "scenarios")
	if !r.parse(data) {
		return ScenarioFile{Report: r.finish()}
	}
	root := r.doc.Root
	for _, m := range root.Members {
		if m.Name != "rules" && m.Name != "$schema" {
			r.atName(SeverityError, "/"+jsondoc.PointerToken(m.Name), "unknown_member", "member \""+m.Name+"\" is not part of a scenario file (rules and $schema are)", m)
		}
	}
	list := root.Get("rules")
	if list == nil || list.Kind != jsondoc.Array {
		r.at(SeverityError, "", "required", "a scenario file is {\"rules\": [ ... ]}: the rules array is missing")
		return ScenarioFile{Report: r.finish()}
	}
	stem := strings.TrimSuffix(filepath.Base(rel), ".json")
	var rules []scenariofile.Rule
	seen := map[string]string{}
	for i, n := range list.Items {
		at := "/rules/" + strconv.Itoa(i)
		rule, err := scenariofile.DecodeNode(n, at, KnownErrorCode)
		if p, ok := err.(*scenariofile.Problem); ok {
			if m, ok := memberAt(r.doc, p.Pointer); ok && strings.Contains(p.Message, "is not a member") {
				r.atName(SeverityError, p.Pointer, "scenario_rule", p.Message, m) // the name is what is wrong
			} else if node := r.doc.Lookup(p.Pointer); node != nil {
				r.at(SeverityError, p.Pointer, "scenario_rule", p.Message)
			} else {
				r.atOffset(SeverityError, p.Pointer, "scenario_rule", p.Message, max(p.Offset, 0), max(p.Offset, 0))
			}
			continue
		}
		if rule.ID == "" {
			rule.ID = stem + "-" + strconv.Itoa(i+1)
		}
		if first, dup := seen[rule.ID]; dup {
			r.at(SeverityError, at+"/id", "duplicate_rule_id", "rule id "+rule.ID+" is already used by "+first)
			continue
		}
		seen[rule.ID] = at
		rule.Source = rel
		rules = append(rules, rule)
	}
	rep := r.finish()
	if !rep.Valid {
		rules = nil
	}
	return ScenarioFile{Report: rep, Rules: rules}
}

// LoadScenarios reads every scenario file, in name order.
func (w *Workspace) LoadScenarios() []ScenarioFile {
	entries, _ := os.ReadDir(filepath.Join(w.Dir, ScenariosDir))
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []ScenarioFile
	for _, name := range names {
		rel := ScenariosDir + "/" + name
		data, err := os.ReadFile(filepath.Join(w.Dir, ScenariosDir, name))
		if err != nil {
			r := newReporter(rel, "scenarios")
			r.at(SeverityError, "", "unreadable", err.Error())
			out = append(out, ScenarioFile{Report: r.finish()})
			continue
		}
		out = append(out, CheckScenarioFile(rel, data))
	}
	return out
}

// memberAt is the object member a pointer names, with its name's place.
func memberAt(doc *jsondoc.Document, pointer string) (jsondoc.Member, bool) {
	steps := jsondoc.SplitPointer(pointer)
	if len(steps) == 0 {
		return jsondoc.Member{}, false
	}
	parent := doc.Lookup(jsondoc.Pointer(steps[:len(steps)-1]))
	if parent == nil || parent.Kind != jsondoc.Object {
		return jsondoc.Member{}, false
	}
	for _, m := range parent.Members {
		if m.Name == steps[len(steps)-1] {
			return m, true
		}
	}
	return jsondoc.Member{}, false
}
