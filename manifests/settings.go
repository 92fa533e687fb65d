package manifests

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// The settings ospbox reads are the Config type: its JSON names are the schema of ospbox.json.
// checkSettingKeys walks a parsed ospbox.json along that type, so a key ospbox does not read —
// misspelt, misplaced, or from a newer ospbox — is a warning at its line and column naming the
// closest key it does read, never silently ignored.

// checkSettingKeys reports every member of root that Config has no field for.
func (r *reporter) checkSettingKeys(root *jsondoc.Node) {
	r.checkKeysOf(root, reflect.TypeOf(Config{}), "", "")
}

func (r *reporter) checkKeysOf(n *jsondoc.Node, t reflect.Type, pointer, dotted string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n == nil:
	case t.Kind() == reflect.Struct && n.Kind == jsondoc.Object:
		fields := settingFields(t)
		for _, m := range n.Members {
			p, name := pointer+"/"+jsondoc.PointerToken(m.Name), dotted+m.Name
			ft, ok := fields[m.Name]
			if !ok {
				msg := "ospbox does not read the setting \"" + name + "\""
				if near := closest(m.Name, fields); near != "" {
					msg += "; did you mean \"" + dotted + near + "\"?"
				}
				r.atName(SeverityWarning, p, "unknown_setting", msg, m)
				continue
			}
			r.checkKeysOf(m.Value, ft, p, name+".")
		}
	case t.Kind() == reflect.Slice && n.Kind == jsondoc.Array:
		for i, it := range n.Items {
			r.checkKeysOf(it, t.Elem(), pointer+"/"+strconv.Itoa(i), strings.TrimSuffix(dotted, ".")+"[]"+".")
		}
	}
	// Maps (caps.fx_rates) take any key; scalars have none. Wrong types are decodeConfig's.
}

// settingFields maps a settings struct's JSON names to their types.
func settingFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out
}

// closest is the known name nearest to name by edit distance, when it is near enough to be a
// likely misspelling (at most a third of the name's length, and at least one edit).
func closest(name string, known map[string]reflect.Type) string {
	return ClosestName(name, slices.Sorted(maps.Keys(known)))
}

// atName records a finding whose span is a member's name (the key itself is what is wrong).
func (r *reporter) atName(sev Severity, pointer, rule, msg string, m jsondoc.Member) {
	d := Diagnostic{File: r.file, Pointer: pointer, Rule: rule, Severity: sev, Message: msg}
	if r.doc != nil && m.NameAt >= 0 {
		d.Line, d.Column = r.doc.Position(m.NameAt)
		d.EndLine, d.EndColumn = r.doc.Position(m.NameAt + len(strconv.Quote(m.Name)))
	}
	r.add(d)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// checkProviderNames warns about settings that name a provider the workspace does not have
// (orchestrator.providers.<slug>, osp.default_provider): ospbox would apply them to nothing.
func (w *Workspace) checkProviderNames(data []byte, rep *Report) {
	doc, err := jsondoc.Parse(data)
	if err != nil || doc.Root.Kind != jsondoc.Object {
		return
	}
	slugs, _ := w.ProviderSlugs()
	r := &reporter{file: rep.File, doc: doc, rep: rep}
	message := func(what, slug string) string {
		return fmt.Sprintf("%s names %q, but the workspace has no providers/%s/osp.json (it has %s): the setting applies to nothing",
			what, slug, slug, strings.Join(slugs, ", "))
	}
	if ps := doc.Root.Get("orchestrator").Get("providers"); ps != nil && ps.Kind == jsondoc.Object {
		for _, m := range ps.Members {
			if contains(slugs, m.Name) {
				continue
			}
			r.atName(SeverityWarning, "/orchestrator/providers/"+m.Name, "unknown_provider", message("orchestrator.providers", m.Name), m)
		}
	}
	if d := doc.Root.Get("osp").Str("default_provider"); d != "" && !contains(slugs, d) {
		r.at(SeverityWarning, "/osp/default_provider", "unknown_provider", message("osp.default_provider", d))
	}
	rep.Valid = len(rep.Errors) == 0
}
