package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

func (s *session) doc(uri protocol.DocumentUri) (*document, error) {
	d := s.docs[uri]
	if d == nil {
		return nil, fmt.Errorf("%s is not open", uri)
	}
	if s.dirty[uri] {
		s.validate(d) // answer about the text as it is now, even mid-burst
	}
	return d, nil
}

// hover shows what ospbox's schema says about the member under the cursor.
func (s *session) hover(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil || d.schema == "" {
		return nil, err
	}
	c := cursorAt(d.text.src, d.text.offset(p.Position))
	if c.member == "" {
		return nil, nil
	}
	at := append(append([]string{}, c.path...), c.member)
	h, ok := manifests.HelpAt(d.schema, at)
	if !ok {
		return nil, nil
	}
	md := hoverMarkdown(c.member, h)
	hv := &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md}}
	if c.inString {
		r := protocol.Range{Start: d.text.position(c.tokenStart - 1), End: d.text.position(c.tokenEnd + 1)}
		hv.Range = &r
	}
	return hv, nil
}

func hoverMarkdown(name string, h manifests.Help) string {
	var b strings.Builder
	b.WriteString("**" + name + "**")
	if len(h.Types) > 0 {
		b.WriteString(" — " + strings.Join(h.Types, " | "))
	}
	b.WriteString("\n")
	if h.Title != "" {
		b.WriteString("\n" + h.Title + "\n")
	}
	if h.Description != "" {
		b.WriteString("\n" + h.Description + "\n")
	}
	if len(h.Enum) > 0 {
		b.WriteString("\nAllowed: `" + strings.Join(h.Enum, "`, `") + "`\n")
	}
	if h.Format != "" {
		b.WriteString("\nForm: `" + h.Format + "`\n")
	}
	if h.Message != "" {
		b.WriteString("\nospbox says when it is wrong: " + h.Message + "\n")
	}
	if len(h.Members) > 0 {
		var req []string
		for _, m := range h.Members {
			if m.Required {
				req = append(req, "`"+m.Name+"`")
			}
		}
		if len(req) > 0 {
			b.WriteString("\nRequired members: " + strings.Join(req, ", ") + "\n")
		}
	}
	return b.String()
}

// completion offers member names where a name goes and allowed values where a value does.
func (s *session) completion(_ *glsp.Context, p *protocol.CompletionParams) (any, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil || d.schema == "" {
		return nil, err
	}
	off := d.text.offset(p.Position)
	c := cursorAt(d.text.src, off)
	list := protocol.CompletionList{Items: []protocol.CompletionItem{}}
	// The replaced span: the string's content when the cursor is in quotes, else nothing.
	replace := protocol.Range{Start: p.Position, End: p.Position}
	if c.inString {
		replace = protocol.Range{Start: d.text.position(c.tokenStart), End: d.text.position(c.tokenEnd)}
	}
	if c.key {
		h, ok := manifests.HelpAt(d.schema, c.path)
		if !ok {
			return list, nil
		}
		present := memberNames(d.text.src, c.objectStart)
		kind := protocol.CompletionItemKindProperty
		for _, m := range h.Members {
			if present[m.Name] && m.Name != c.member {
				continue
			}
			text := m.Name
			if !c.inString {
				text = strconv.Quote(m.Name) + ": "
			}
			item := protocol.CompletionItem{Label: m.Name, Kind: &kind, TextEdit: protocol.TextEdit{Range: replace, NewText: text}}
			if detail := strings.Join(m.Types, " | "); detail != "" || m.Required {
				if m.Required {
					detail = strings.TrimSpace(detail + " (required)")
				}
				item.Detail = &detail
			}
			if m.Description != "" {
				item.Documentation = protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: m.Description}
			}
			if m.Required {
				sort := "0" + m.Name // required members first
				item.SortText = &sort
			}
			list.Items = append(list.Items, item)
		}
		return list, nil
	}
	at := append([]string{}, c.path...)
	if c.inArray {
		at = append(at, strconv.Itoa(c.index))
	} else if c.member != "" {
		at = append(at, c.member)
	} else {
		return list, nil
	}
	h, ok := manifests.HelpAt(d.schema, at)
	if !ok {
		return list, nil
	}
	kind := protocol.CompletionItemKindEnumMember
	for _, v := range h.Enum {
		text := v
		if c.inString {
			if !strings.HasPrefix(v, `"`) {
				continue // a number or literal cannot go inside quotes
			}
			text = unquote([]byte(v[1 : len(v)-1]))
		}
		list.Items = append(list.Items, protocol.CompletionItem{Label: v, Kind: &kind, TextEdit: protocol.TextEdit{Range: replace, NewText: text}})
	}
	return list, nil
}

var missingMember = regexp.MustCompile(`missing required member "((?:[^"\\]|\\.)*)"`)

// codeAction offers the fixes that are obvious from a finding: add a missing required member,
// rename a misspelt one, sign the manifest.
func (s *session) codeAction(_ *glsp.Context, p *protocol.CodeActionParams) (any, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	actions := []protocol.CodeAction{}
	doc, perr := jsondoc.Parse(d.text.src)
	quickfix := protocol.CodeActionKindQuickFix
	signed := false
	for _, f := range append(append([]manifests.Diagnostic{}, d.report.Errors...), d.report.Warnings...) {
		r := findingRange(d.text, f)
		if !overlaps(r, p.Range) {
			continue
		}
		var title string
		var edits []protocol.TextEdit
		switch {
		case perr != nil:
		case f.Rule == "required":
			title, edits = s.addMember(d, doc, f)
		case f.Rule == "unknown_field" || f.Rule == "unknown_member" || f.Rule == "unknown_setting":
			title, edits = s.renameMember(d, doc, f)
		case (f.Rule == "unsigned" || f.Rule == "signature_invalid" || f.Rule == "signature_incomplete") && !signed:
			title, edits = s.sign(d)
			signed = title != ""
		}
		if title == "" {
			continue
		}
		actions = append(actions, protocol.CodeAction{Title: title, Kind: &quickfix,
			Diagnostics: []protocol.Diagnostic{{Range: r, Message: f.Message, Code: &protocol.IntegerOrString{Value: f.Rule}}},
			Edit:        &protocol.WorkspaceEdit{Changes: map[protocol.DocumentUri][]protocol.TextEdit{d.uri: edits}}})
	}
	return actions, nil
}

func overlaps(a, b protocol.Range) bool {
	before := func(x, y protocol.Position) bool {
		return x.Line < y.Line || x.Line == y.Line && x.Character < y.Character
	}
	return !before(a.End, b.Start) && !before(b.End, a.Start)
}

// addMember inserts a missing required member, with a value of the type the schema wants, as the
// object's first member.
func (s *session) addMember(d *document, doc *jsondoc.Document, f manifests.Diagnostic) (string, []protocol.TextEdit) {
	m := missingMember.FindStringSubmatch(f.Message)
	obj := doc.Lookup(f.Pointer)
	if m == nil || obj == nil || obj.Kind != jsondoc.Object || obj.Start < 0 || d.schema == "" {
		return "", nil
	}
	name := unquote([]byte(m[1]))
	value := "\"\""
	if h, ok := manifests.HelpAt(d.schema, append(jsondoc.SplitPointer(f.Pointer), name)); ok {
		value = skeleton(h)
	}
	insert := strconv.Quote(name) + ": " + value
	if len(obj.Members) > 0 {
		first := obj.Members[0].NameAt
		indent := lineIndent(d.text.src, first)
		return "Add the required member \"" + name + "\"", []protocol.TextEdit{{
			Range: protocol.Range{Start: d.text.position(first), End: d.text.position(first)}, NewText: insert + ",\n" + indent}}
	}
	at := d.text.position(obj.Start + 1)
	return "Add the required member \"" + name + "\"", []protocol.TextEdit{{Range: protocol.Range{Start: at, End: at}, NewText: insert}}
}

// lineIndent is the white space that starts the line holding off.
func lineIndent(src []byte, off int) string {
	start := off
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end := start
	for end < off && (src[end] == ' ' || src[end] == '\t') {
		end++
	}
	return string(src[start:end])
}

// skeleton is a placeholder value of the kind a schema place wants.
func skeleton(h manifests.Help) string {
	if len(h.Enum) > 0 {
		return h.Enum[0]
	}
	for _, t := range h.Types {
		switch t {
		case "object":
			return "{}"
		case "array":
			return "[]"
		case "integer", "number":
			return "0"
		case "boolean":
			return "false"
		}
	}
	if len(h.Members) > 0 {
		return "{}"
	}
	return "\"\""
}

var didYouMean = regexp.MustCompile(`did you mean "([^"]+)"`)

// renameMember replaces a member name the schema does not know with the known name nearest to it.
func (s *session) renameMember(d *document, doc *jsondoc.Document, f manifests.Diagnostic) (string, []protocol.TextEdit) {
	steps := jsondoc.SplitPointer(f.Pointer)
	if len(steps) == 0 {
		return "", nil
	}
	name, parentPath := steps[len(steps)-1], steps[:len(steps)-1]
	parent := doc.Lookup(jsondoc.Pointer(parentPath))
	if parent == nil || parent.Kind != jsondoc.Object {
		return "", nil
	}
	var suggestion string
	if m := didYouMean.FindStringSubmatch(f.Message); m != nil {
		parts := strings.Split(m[1], ".")
		suggestion = parts[len(parts)-1] // settings name the dotted path
	} else if h, ok := manifests.HelpAt(d.schema, parentPath); ok {
		var known []string
		for _, m := range h.Members {
			if parent.Get(m.Name) == nil {
				known = append(known, m.Name)
			}
		}
		suggestion = manifests.ClosestName(name, known)
	}
	if suggestion == "" || suggestion == name {
		return "", nil
	}
	for _, m := range parent.Members {
		if m.Name == name && m.NameAt >= 0 {
			end := stringEnd(d.text.src, m.NameAt+1) + 1
			return "Rename \"" + name + "\" to \"" + suggestion + "\"", []protocol.TextEdit{{
				Range: protocol.Range{Start: d.text.position(m.NameAt), End: d.text.position(end)}, NewText: strconv.Quote(suggestion)}}
		}
	}
	return "", nil
}

// sign signs the buffer's manifest with the provider's workspace key, as `ospbox sign` does, when
// the signature is its only problem and the key exists.
func (s *session) sign(d *document) (string, []protocol.TextEdit) {
	parts := strings.Split(d.rel, "/")
	doc, err := jsondoc.Parse(d.text.src) // its own tree: signing changes it
	if err != nil || d.ws == nil || len(parts) != 3 || parts[0] != manifests.ProvidersDir || doc.Root.Kind != jsondoc.Object {
		return "", nil
	}
	for _, e := range d.report.Errors {
		if e.Rule != "signature_invalid" && e.Rule != "signature_incomplete" {
			return "", nil
		}
	}
	// Only an existing key: listing actions must not write one (ospbox serve or ospbox sign
	// makes it).
	if _, err := os.Stat(filepath.Join(d.ws.KeysDir(), parts[1]+".jwk")); err != nil {
		return "", nil
	}
	key, err := d.ws.ProviderKey(parts[1])
	if err != nil {
		return "", nil
	}
	manifests.SignManifest(doc.Root, key)
	return "Sign with the workspace key of " + parts[1] + " (" + key.KeyID + ")", []protocol.TextEdit{{
		Range: protocol.Range{End: d.text.end()}, NewText: string(jsondoc.Indent(doc.Root))}}
}
