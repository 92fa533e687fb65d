package manifests

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schemas
var schemaFiles embed.FS

// schemaBase is the base URL the embedded schemas are compiled under; relative $refs between
// them resolve against it. Served copies carry the serving origin instead (SchemaBody).
const schemaBase = "https://schemas.ospbox.invalid/"

// SchemaNames lists the embedded schema documents, e.g. "osp/c.json", sorted.
func SchemaNames() []string {
	var names []string
	fs.WalkDir(schemaFiles, "schemas", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			names = append(names, strings.TrimPrefix(path, "schemas/"))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// SchemaBody returns an embedded schema with "$id" set to baseURL+name, so an editor that
// fetched it resolves the relative references against the same server.
func SchemaBody(name, baseURL string) ([]byte, bool) {
	data, err := schemaFiles.ReadFile("schemas/" + name)
	if err != nil || strings.Contains(name, "..") {
		return nil, false
	}
	doc, err := jsondoc.Parse(data)
	if err != nil {
		return nil, false
	}
	root := doc.Root
	withID := jsondoc.NewObject()
	withID.Set("$schema", root.Get("$schema"))
	withID.Set("$id", jsondoc.NewString(baseURL+name))
	for _, m := range root.Members {
		if m.Name != "$schema" && m.Name != "$id" {
			withID.Set(m.Name, m.Value)
		}
	}
	return jsondoc.Indent(withID), true
}

// schemaSet is every embedded schema, compiled on first use, with its source kept for the
// annotations ospbox reads from failing locations (x-message, x-rule, x-additional).
type schemaSet struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
	docs     map[string]*jsondoc.Document
}

var loadSchemas = sync.OnceValues(func() (*schemaSet, error) {
	set := &schemaSet{compiled: map[string]*jsonschema.Schema{}, docs: map[string]*jsondoc.Document{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, name := range SchemaNames() {
		data, _ := schemaFiles.ReadFile("schemas/" + name)
		doc, err := jsondoc.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		set.docs[name] = doc
		if err := c.AddResource(schemaBase+name, toValue(doc.Root)); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	set.compiler = c
	return set, nil
})

// schema compiles (once) and returns the embedded schema name; compiling only what is used
// keeps start-up short.
func (set *schemaSet) schema(name string) (*jsonschema.Schema, error) {
	set.mu.Lock()
	defer set.mu.Unlock()
	if s, ok := set.compiled[name]; ok {
		return s, nil
	}
	if set.docs[name] == nil {
		return nil, fmt.Errorf("no embedded schema %s", name)
	}
	s, err := set.compiler.Compile(schemaBase + name)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	set.compiled[name] = s
	return s, nil
}

// toValue converts a tree into the values the schema library validates; numbers stay exact.
func toValue(n *jsondoc.Node) any {
	switch n.Kind {
	case jsondoc.Object:
		m := make(map[string]any, len(n.Members))
		for _, mem := range n.Members {
			m[mem.Name] = toValue(mem.Value)
		}
		return m
	case jsondoc.Array:
		a := make([]any, len(n.Items))
		for i, it := range n.Items {
			a[i] = toValue(it)
		}
		return a
	case jsondoc.String:
		return n.Text
	case jsondoc.Number:
		return json.Number(n.Text)
	case jsondoc.Bool:
		return n.Text == "true"
	}
	return nil
}

// annotation reads an x-… member of the schema object a failure points at.
func (set *schemaSet) annotation(schemaURL, key string) string {
	rest, ok := strings.CutPrefix(schemaURL, schemaBase)
	if !ok {
		return ""
	}
	name, frag, _ := strings.Cut(rest, "#")
	doc := set.docs[name]
	if doc == nil {
		return ""
	}
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	return doc.Lookup(frag).Str(key)
}

var printer = message.NewPrinter(language.English)

// keywordRules names the rule id of a failing JSON Schema keyword.
var keywordRules = map[string]string{
	"required": "required", "type": "type", "enum": "enum", "const": "enum", "pattern": "pattern",
	"format": "format", "minItems": "min_items", "maxItems": "max_items", "minLength": "min_length",
	"maxLength": "max_length", "minimum": "minimum", "maximum": "maximum", "additionalProperties": "unknown_member",
	"anyOf": "any_of", "oneOf": "one_of", "uniqueItems": "unique_items", "propertyNames": "property_names",
	"minProperties": "min_properties", "maxProperties": "max_properties", "exclusiveMinimum": "minimum",
	"exclusiveMaximum": "maximum", "false": "not_allowed",
}

// checkSchema validates root against the embedded schema name and records every failure at the
// place it concerns.
func (r *reporter) checkSchema(name string, root *jsondoc.Node) {
	set, err := loadSchemas()
	if err != nil {
		r.at(SeverityError, "", "schema_unavailable", "ospbox's schema could not be loaded: "+err.Error())
		return
	}
	s, err := set.schema(name)
	if err != nil {
		r.at(SeverityError, "", "schema_unavailable", "ospbox's schema could not be compiled: "+err.Error())
		return
	}
	err = s.Validate(toValue(root))
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return
	}
	r.schemaFailure(set, ve)
}

// schemaFailure turns one failure (and its causes) into findings. A schema location with an
// x-message speaks for everything below it, so alternatives (anyOf) read as one sentence.
func (r *reporter) schemaFailure(set *schemaSet, ve *jsonschema.ValidationError) {
	ptr := jsondoc.Pointer(ve.InstanceLocation)
	msg := set.annotation(ve.SchemaURL, "x-message")
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		where := displayPtr(ptr)
		switch {
		case ptr == "" && r.subject != "":
			where = r.subject
		case ptr == "" && r.rep.Protocol == "message":
			where = "the request body"
		}
		for _, m := range k.Missing {
			r.at(SeverityError, ptr, "required", fmt.Sprintf("missing required member %q in %s", m, where))
		}
		return
	case *kind.AdditionalProperties:
		sev, rule := SeverityError, "unknown_member"
		if set.annotation(ve.SchemaURL, "x-additional") == "warning" {
			sev, rule = SeverityWarning, "unknown_field"
		}
		for _, p := range k.Properties {
			what := "is not allowed here"
			if sev == SeverityWarning {
				what = "is not part of the schema; ospbox keeps it as written (check the spelling)"
			}
			r.at(sev, ptr+"/"+jsondoc.PointerToken(p), rule, fmt.Sprintf("member %q %s", p, what))
		}
		return
	case *kind.Group, *kind.Schema, *kind.Reference, *kind.AllOf:
		if msg == "" || len(ve.Causes) > 0 && !hasLeafAt(ve) {
			for _, c := range ve.Causes {
				r.schemaFailure(set, c)
			}
			return
		}
	}
	if msg == "" && len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			r.schemaFailure(set, c)
		}
		return
	}
	rule := set.annotation(ve.SchemaURL, "x-rule")
	if rule == "" {
		kp := ve.ErrorKind.KeywordPath()
		if len(kp) > 0 {
			rule = keywordRules[kp[0]]
		}
		if rule == "" {
			rule = "schema"
		}
	}
	if msg == "" {
		msg = lastToken(ptr) + ": " + ve.ErrorKind.LocalizedString(printer)
	}
	r.at(SeverityError, ptr, rule, msg)
}

func hasLeafAt(ve *jsonschema.ValidationError) bool {
	for _, c := range ve.Causes {
		if len(c.Causes) == 0 {
			return true
		}
	}
	return false
}

func lastToken(ptr string) string {
	if ptr == "" {
		return "the manifest"
	}
	return ptr[strings.LastIndex(ptr, "/")+1:]
}

func displayPtr(p string) string {
	if p == "" {
		return "the manifest"
	}
	return p
}

// CheckMessage validates a request body against one of the embedded message schemas (for
// example "messages/osp-provision-request.json"): strict JSON first, then the schema. The
// findings carry JSON Pointers and positions in the body.
func CheckMessage(schema string, data []byte) (*jsondoc.Document, []Diagnostic) {
	r := newReporter("request body", "message")
	if !r.parse(data) {
		return r.doc, r.finish().Errors
	}
	r.checkSchema(schema, r.doc.Root)
	return r.doc, r.finish().Errors
}

// CheckAgainst validates a value against an authored schema (a configuration_schema, say) and
// returns its failures; a schema that does not compile is reported as one failure. subject
// names the value in findings about its root ("the configuration").
func CheckAgainst(schemaNode, value *jsondoc.Node, subject string) []Diagnostic {
	return checkWith(&embeddedSchemas, schemaNode, value, subject)
}

// CheckData validates BSP command or event data (or query parameters and results) against its
// document, with format assertions; subject names the value in findings about its root.
func CheckData(schemaNode, value *jsondoc.Node, subject string) []Diagnostic {
	return checkWith(&formatSchemas, schemaNode, value, subject)
}

func checkWith(cache *schemaCache, schemaNode, value *jsondoc.Node, subject string) []Diagnostic {
	s, err := cache.compile(schemaNode, nil)
	if err != nil {
		return []Diagnostic{{Rule: "schema_invalid", Severity: SeverityError, Message: "the schema does not compile: " + firstLine(err.Error())}}
	}
	verr := s.Validate(toValue(value))
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return nil
	}
	r := &reporter{rep: &Report{}, subject: subject}
	set, _ := loadSchemas()
	r.schemaFailure(set, ve)
	return r.finish().Errors
}
