package manifests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// CatalogEntry is one authored command, event or query schema document.
type CatalogEntry struct {
	Kind     string // commands, events, queries
	Schema   string // folder name, kebab-case
	Version  string
	Type     string // PascalCase type derived from Schema, or x-ospbox-type
	File     string // workspace-relative
	Produces []string
	Doc      *jsondoc.Node // the document as authored
}

// Served is the document as ospbox serves it: without its x-ospbox members (spec/bsp.md §8.2).
func (e CatalogEntry) Served() *jsondoc.Node {
	doc := e.Doc.Clone()
	for _, m := range e.Doc.Members {
		if strings.HasPrefix(m.Name, "x-ospbox") {
			doc.Delete(m.Name)
		}
	}
	return doc
}

// DataSchema is the JSON Schema a command's or event's data is checked against: the document
// without produces and the x-ospbox members.
func (e CatalogEntry) DataSchema() *jsondoc.Node {
	doc := e.Served()
	doc.Delete("produces")
	return doc
}

// Catalog is what bsp/commands, bsp/events and bsp/queries hold, with the reports of those files.
type Catalog struct {
	Entries []CatalogEntry
	Reports []Report
}

// Types returns the set of types of one kind.
func (c *Catalog) Types(kind string) map[string]CatalogEntry {
	out := map[string]CatalogEntry{}
	for _, e := range c.Entries {
		if e.Kind == kind {
			out[e.Type] = e
		}
	}
	return out
}

var (
	schemaFolderPattern  = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	schemaVersionPattern = regexp.MustCompile(`^\d+(\.\d+){0,2}$`)
	pascalPattern        = regexp.MustCompile(`^[A-Z][a-zA-Z0-9]*$`)
)

// TypeOf derives a PascalCase type from a kebab-case schema name (propose-counter → ProposeCounter).
func TypeOf(schema string) string {
	var b strings.Builder
	for _, part := range strings.Split(schema, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// LoadCatalog reads and checks the schema documents under dir (bsp/, or a tenant's folder),
// spec/bsp.md §2.3 and §3.
func (w *Workspace) LoadCatalog(dir string) *Catalog {
	c := &Catalog{}
	for _, kind := range []string{"commands", "events", "queries"} {
		base := filepath.Join(w.Dir, filepath.FromSlash(dir), kind)
		folders, err := os.ReadDir(base)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		for _, folder := range folders {
			if !folder.IsDir() {
				continue
			}
			files, _ := os.ReadDir(filepath.Join(base, folder.Name()))
			for _, f := range files {
				if f.IsDir() || !strings.HasSuffix(f.Name(), ".json") {
					continue
				}
				rel := filepath.ToSlash(filepath.Join(dir, kind, folder.Name(), f.Name()))
				data, err := os.ReadFile(filepath.Join(base, folder.Name(), f.Name()))
				entry, rep := checkSchemaDocument(kind, folder.Name(), rel, data, err)
				c.Reports = append(c.Reports, rep)
				if entry != nil {
					c.Entries = append(c.Entries, *entry)
				}
			}
		}
	}
	sort.Slice(c.Entries, func(i, j int) bool { return c.Entries[i].File < c.Entries[j].File })
	c.typeCollisions()
	return c
}

// checkSchemaDocument validates one command, event or query document.
func checkSchemaDocument(kind, folder, file string, data []byte, readErr error) (*CatalogEntry, Report) {
	r := newReporter(file, "bsp")
	if readErr != nil {
		r.at(SeverityError, "", "unreadable", readErr.Error())
		return nil, r.finish()
	}
	version := strings.TrimSuffix(filepath.Base(file), ".json")
	if !schemaFolderPattern.MatchString(folder) {
		r.at(SeverityError, "", "schema_document_name", fmt.Sprintf("schema folder %q must be kebab-case (lower-case words joined by '-'), e.g. place-order", folder))
	}
	if !schemaVersionPattern.MatchString(version) {
		r.at(SeverityError, "", "schema_document_name", fmt.Sprintf("schema file %q must be named <version>.json with a version such as 1.0", filepath.Base(file)))
	}
	if !r.parse(data) {
		return nil, r.finish()
	}
	root := r.doc.Root
	entry := &CatalogEntry{Kind: kind, Schema: folder, Version: version, Type: TypeOf(folder), File: file, Doc: root}
	if t := root.Str("x-ospbox-type"); t != "" {
		if !pascalPattern.MatchString(t) {
			r.at(SeverityError, "/x-ospbox-type", "type_name", "x-ospbox-type must be PascalCase, e.g. \"PlaceOrder\"")
		}
		entry.Type = t
	}
	switch kind {
	case "queries":
		for _, m := range root.Members {
			switch {
			case m.Name == "response" || m.Name == "parameters":
				r.compilesAsSchema(m.Value, "/"+m.Name)
			case m.Name == "description" || strings.HasPrefix(m.Name, "x-ospbox-"):
			default:
				r.at(SeverityError, "/"+jsondoc.PointerToken(m.Name), "query_document", fmt.Sprintf("query documents hold response, parameters and description only, not %q", m.Name))
			}
		}
		if !root.Has("response") {
			r.at(SeverityError, "", "query_document", "a query document needs a response schema")
		}
	default:
		doc := root.Clone()
		doc.Delete("produces")
		doc.Delete("x-ospbox-type")
		r.compilesAsSchema(doc, "")
		if p := root.Get("produces"); p != nil {
			if p.Kind != jsondoc.Array {
				r.at(SeverityError, "/produces", "produces", "produces must be an array of PascalCase event types")
			}
			for i, it := range items(p) {
				if it.Kind != jsondoc.String || !pascalPattern.MatchString(it.Text) {
					r.at(SeverityError, fmt.Sprintf("/produces/%d", i), "produces", "produces lists PascalCase event types, e.g. \"OrderPlaced\"")
					continue
				}
				entry.Produces = append(entry.Produces, it.Text)
			}
		}
	}
	r.placeholdersInDataschema(root, "")
	rep := r.finish()
	if !rep.Valid {
		return nil, rep
	}
	return entry, rep
}

// typeCollisions reports two schema names of one kind that map to the same type.
func (c *Catalog) typeCollisions() {
	byType := map[string]CatalogEntry{}
	for _, e := range c.Entries {
		key := e.Kind + "/" + e.Type
		first, seen := byType[key]
		if !seen {
			byType[key] = e
			continue
		}
		if first.Schema == e.Schema {
			continue // versions of one schema share a type
		}
		for i := range c.Reports {
			if c.Reports[i].File == e.File {
				c.Reports[i].Errors = append(c.Reports[i].Errors, Diagnostic{File: e.File, Rule: "type_collision", Severity: SeverityError,
					Message: fmt.Sprintf("%s/%s maps to type %s, as %s/%s does; rename one or set x-ospbox-type", e.Kind, e.Schema, e.Type, first.Kind, first.Schema),
					Related: []Location{{File: first.File, Message: "the other schema with type " + e.Type}}})
				c.Reports[i].Valid = false
			}
		}
	}
}

// placeholdersInDataschema reports dataschema URIs that still hold template placeholders.
func (r *reporter) placeholdersInDataschema(n *jsondoc.Node, ptr string) {
	switch n.Kind {
	case jsondoc.Object:
		for _, m := range n.Members {
			p := ptr + "/" + jsondoc.PointerToken(m.Name)
			if m.Name == "dataschema" && m.Value.Kind == jsondoc.String && strings.ContainsAny(m.Value.Text, "{}") {
				r.at(SeverityError, p, "placeholder_in_uri", "dataschema holds a template placeholder; write the concrete URI (…/commands/<schema>/<version>)")
				continue
			}
			r.placeholdersInDataschema(m.Value, p)
		}
	case jsondoc.Array:
		for i, it := range n.Items {
			r.placeholdersInDataschema(it, fmt.Sprintf("%s/%d", ptr, i))
		}
	}
}
