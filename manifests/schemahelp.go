package manifests

import (
	"maps"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Editors ask what a place in a manifest may hold (hover, completion, a skeleton for a missing
// member). The answer comes from the same embedded schemas and settings type the validator uses,
// walked along the path to that place.

// Help is what ospbox's schema says about one place in a file.
type Help struct {
	Title       string
	Description string
	Types       []string        // JSON types allowed, sorted; empty when any
	Enum        []string        // allowed values as JSON text (enum and const)
	Format      string          // a string format or pattern, as written
	Message     string          // the validator's own sentence about the place (x-message)
	Members     []MemberHelp    // named members of an object, sorted by name
	Required    map[string]bool // required member names of an object
}

// MemberHelp is one named member an object may have.
type MemberHelp struct {
	Name        string
	Description string
	Types       []string
	Required    bool
}

// SchemaOf names the embedded schema a report's file is checked against ("osp/c.json"), or ""
// when it has none (settings are checked against the Config type instead).
func SchemaOf(r Report) string {
	switch {
	case r.Protocol == "osp" && r.Dialect != nil:
		return "osp/" + strings.ToLower(*r.Dialect) + ".json"
	case r.Protocol == "bsp" && r.Generation != nil:
		return "bsp/" + *r.Generation + ".json"
	case r.Protocol == "oap":
		return "oap/2025-07-01.json"
	case r.Protocol == "scenarios":
		return "scenarios.json"
	}
	return ""
}

// HelpAt describes the place at path (member names and array indexes) in a file checked against
// schema (SchemaOf), or in ospbox.json when schema is "settings". ok is false when the schema
// says nothing about the place.
func HelpAt(schema string, at []string) (Help, bool) {
	if schema == "settings" {
		return settingsHelpAt(at)
	}
	set, err := loadSchemas()
	if err != nil || set.docs[schema] == nil {
		return Help{}, false
	}
	cur := set.expand([]schemaLoc{{schema, set.docs[schema].Root}}, 0)
	for _, step := range at {
		var next []schemaLoc
		for _, c := range cur {
			next = append(next, c.child(step)...)
		}
		cur = set.expand(next, 0)
		if len(cur) == 0 {
			return Help{}, false
		}
	}
	return describe(set, cur), true
}

// schemaLoc is a subschema and the document its references resolve against.
type schemaLoc struct {
	doc  string
	node *jsondoc.Node
}

// expand resolves $ref and flattens allOf/anyOf/oneOf/then/else, so a place's candidates are
// every subschema that may speak for it.
func (set *schemaSet) expand(in []schemaLoc, depth int) []schemaLoc {
	var out []schemaLoc
	for _, l := range in {
		if l.node == nil || l.node.Kind != jsondoc.Object || depth > 16 {
			continue
		}
		out = append(out, l)
		var more []schemaLoc
		if ref := l.node.Str("$ref"); ref != "" {
			if r, ok := set.resolve(l.doc, ref); ok {
				more = append(more, r)
			}
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			for _, it := range l.node.Get(k).List() {
				more = append(more, schemaLoc{l.doc, it})
			}
		}
		for _, k := range []string{"then", "else"} {
			if n := l.node.Get(k); n != nil {
				more = append(more, schemaLoc{l.doc, n})
			}
		}
		out = append(out, set.expand(more, depth+1)...)
	}
	return out
}

func (set *schemaSet) resolve(from, ref string) (schemaLoc, bool) {
	file, frag, _ := strings.Cut(ref, "#")
	doc := from
	if file != "" {
		doc = path.Join(path.Dir(from), file)
	}
	d := set.docs[doc]
	if d == nil {
		return schemaLoc{}, false
	}
	n := d.Lookup(frag)
	return schemaLoc{doc, n}, n != nil
}

// child is the subschemas for one step below l: a named member or an array element.
func (l schemaLoc) child(step string) []schemaLoc {
	var out []schemaLoc
	if n := l.node.Get("properties").Get(step); n != nil {
		out = append(out, schemaLoc{l.doc, n})
	}
	if pp := l.node.Get("patternProperties"); pp != nil && pp.Kind == jsondoc.Object {
		for _, m := range pp.Members {
			if re, err := regexp.Compile(m.Name); err == nil && re.MatchString(step) {
				out = append(out, schemaLoc{l.doc, m.Value})
			}
		}
	}
	if len(out) == 0 {
		if ap := l.node.Get("additionalProperties"); ap != nil && ap.Kind == jsondoc.Object {
			out = append(out, schemaLoc{l.doc, ap})
		}
	}
	if i, err := strconv.Atoi(step); err == nil && i >= 0 {
		if pi := l.node.Get("prefixItems").List(); i < len(pi) {
			out = append(out, schemaLoc{l.doc, pi[i]})
		} else if it := l.node.Get("items"); it != nil && it.Kind == jsondoc.Object {
			out = append(out, schemaLoc{l.doc, it})
		}
	}
	return out
}

func describe(set *schemaSet, locs []schemaLoc) Help {
	h := Help{Required: map[string]bool{}}
	types, enum, members := map[string]bool{}, map[string]bool{}, map[string]*MemberHelp{}
	for _, l := range locs {
		n := l.node
		if h.Title == "" {
			h.Title = n.Str("title")
		}
		if h.Description == "" {
			h.Description = n.Str("description")
		}
		if h.Message == "" {
			h.Message = n.Str("x-message")
		}
		if h.Format == "" {
			h.Format = n.Str("format")
			if p := n.Str("pattern"); h.Format == "" && p != "" {
				h.Format = "pattern " + p
			}
		}
		for _, t := range typesOf(n) {
			types[t] = true
		}
		for _, v := range n.Get("enum").List() {
			enum[string(jsondoc.Compact(v))] = true
		}
		if c := n.Get("const"); c != nil {
			enum[string(jsondoc.Compact(c))] = true
		}
		for _, r := range n.Get("required").Strings() {
			h.Required[r] = true
		}
		if props := n.Get("properties"); props != nil && props.Kind == jsondoc.Object {
			for _, m := range props.Members {
				mh := members[m.Name]
				if mh == nil {
					mh = &MemberHelp{Name: m.Name}
					members[m.Name] = mh
				}
				sub := describeShallow(set, schemaLoc{l.doc, m.Value})
				if mh.Description == "" {
					mh.Description = sub.Description
				}
				mh.Types = mergeSorted(mh.Types, sub.Types)
			}
		}
	}
	h.Types = slices.Sorted(maps.Keys(types))
	h.Enum = slices.Sorted(maps.Keys(enum))
	for _, name := range slices.Sorted(maps.Keys(members)) {
		m := *members[name]
		m.Required = h.Required[name]
		h.Members = append(h.Members, m)
	}
	return h
}

// describeShallow is a member's own description and types, without its members.
func describeShallow(set *schemaSet, l schemaLoc) Help {
	h := Help{}
	types := map[string]bool{}
	for _, c := range set.expand([]schemaLoc{l}, 0) {
		if h.Description == "" {
			h.Description = c.node.Str("description")
		}
		for _, t := range typesOf(c.node) {
			types[t] = true
		}
	}
	h.Types = slices.Sorted(maps.Keys(types))
	return h
}

func typesOf(n *jsondoc.Node) []string {
	t := n.Get("type")
	switch {
	case t == nil:
		return nil
	case t.Kind == jsondoc.String:
		return []string{t.Text}
	}
	return t.Strings()
}

func mergeSorted(a, b []string) []string {
	seen := map[string]bool{}
	for _, s := range append(append([]string{}, a...), b...) {
		seen[s] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// settingsHelpAt walks the Config type along at, as checkSettingKeys does.
func settingsHelpAt(at []string) (Help, bool) {
	t := reflect.TypeOf(Config{})
	for _, step := range at {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			ft, ok := settingFields(t)[step]
			if !ok {
				return Help{}, false
			}
			t = ft
		case reflect.Slice, reflect.Map:
			t = t.Elem()
		default:
			return Help{}, false
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	h := Help{Types: []string{jsonTypeOf(t)}, Required: map[string]bool{}}
	if t.Kind() == reflect.Struct {
		fields := settingFields(t)
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			h.Members = append(h.Members, MemberHelp{Name: name, Types: []string{jsonTypeOf(fields[name])}})
		}
	}
	return h, true
}

func jsonTypeOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	}
	return ""
}

// ClosestName is the known name nearest to name by edit distance (case-insensitive), "" when
// none is near enough to be a misspelling of it.
func ClosestName(name string, known []string) string {
	best, bestD := "", len(name)/3+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestD || d == bestD && best != "" && k < best {
			best, bestD = k, d
		}
	}
	return best
}
