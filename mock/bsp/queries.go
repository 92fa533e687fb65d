package bsp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// listBSPQueries is GET /queries (spec/bsp.md §11).
func listBSPQueries(w http.ResponseWriter, c *bspCall) {
	list := []map[string]any{}
	for _, e := range catalogKind(c.surface.Catalog, "queries") {
		item := map[string]any{"schema": e.Schema, "version": e.Version, "dataschema": c.base + "/queries/" + e.Schema + "/" + e.Version}
		if d := e.Doc.Str("description"); d != "" {
			item["description"] = d
		}
		list = append(list, item)
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"queries": list})
}

// runBSPQuery is GET /queries/{schema}: the highest version, its parameters converted and
// checked, its result the document's x-ospbox-result, first response example, or a minimal
// instance of the response schema.
func runBSPQuery(w http.ResponseWriter, r *http.Request, c *bspCall, schema string) {
	var entry *manifests.CatalogEntry
	for _, e := range catalogKind(c.surface.Catalog, "queries") {
		if e.Schema == schema {
			e := e
			entry = &e // sorted: the last is the highest version
		}
	}
	if entry == nil {
		WriteError(w, http.StatusNotFound, "SCHEMA_NOT_FOUND", "no query "+schema+" in this catalogue", nil)
		return
	}
	_, errs := QueryParameters(entry.Doc.Get("parameters"), r.URL.Query(), c.scheme().QueryParam())
	if len(errs) > 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_QUERY_PARAMETERS", errs[0].Message, map[string]any{"errors": errs})
		return
	}
	response := entry.Doc.Get("response")
	result := entry.Doc.Get("x-ospbox-result")
	if result == nil {
		if ex := response.Get("examples").List(); len(ex) > 0 {
			result = ex[0]
		} else {
			result = minimalInstance(response, 0)
		}
	}
	if fails := manifests.CheckData(response, result, "the query's result"); len(fails) > 0 {
		w.Header().Set("X-Ospbox-Result-Mismatch", fmt.Sprintf("the result does not match the response schema at %s: %s", displayPointer(fails[0].Pointer), fails[0].Message))
	}
	kernel.WriteJSON(w, http.StatusOK, result.RawOr("null"))
}

// QueryParameters converts query-string values by the types a query document's parameters
// schema gives (spec/bsp.md §11) and checks them against it. authParam may ride along.
func QueryParameters(schema *jsondoc.Node, q url.Values, authParam string) (*jsondoc.Node, []bspFieldError) {
	out := jsondoc.NewObject()
	var errs []bspFieldError
	bad := func(name, msg string) {
		errs = append(errs, bspFieldError{Pointer: "/" + jsondoc.PointerToken(name), Message: msg})
	}
	props := schema.Get("properties")
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == authParam && authParam != "" {
			continue
		}
		prop := props.Get(name)
		if prop == nil {
			if schema == nil {
				bad(name, "this query takes no parameters")
			} else {
				bad(name, "unknown parameter "+name)
			}
			continue
		}
		vals := q[name]
		if prop.Str("type") == "array" {
			arr := jsondoc.NewArray()
			for _, v := range vals {
				n, err := convertParam(prop.Get("items").Str("type"), v)
				if err != "" {
					bad(name, name+": "+err)
					continue
				}
				arr.Items = append(arr.Items, n)
			}
			out.Set(name, arr)
			continue
		}
		if len(vals) > 1 {
			bad(name, name+" is given more than once")
			continue
		}
		n, err := convertParam(prop.Str("type"), vals[0])
		if err != "" {
			bad(name, name+": "+err)
			continue
		}
		out.Set(name, n)
	}
	if len(errs) > 0 || schema == nil {
		return out, errs
	}
	for _, f := range manifests.CheckData(schema, out, "the query parameters") {
		errs = append(errs, bspFieldError{Pointer: f.Pointer, Message: f.Message})
	}
	return out, errs
}

// convertParam turns one query-string value into the JSON type a parameter declares.
func convertParam(typ, v string) (*jsondoc.Node, string) {
	switch typ {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return nil, "not an integer"
		}
		return jsondoc.NewNumber(v), ""
	case "number":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f != f {
			return nil, "not a number"
		}
		return jsondoc.NewNumber(strconv.FormatFloat(f, 'g', -1, 64)), ""
	case "boolean":
		if v != "true" && v != "false" {
			return nil, "not true or false"
		}
		return jsondoc.NewBool(v == "true"), ""
	}
	return jsondoc.NewString(v), ""
}

// minimalInstance builds the smallest value a schema accepts, as spec/bsp.md §11 describes.
func minimalInstance(s *jsondoc.Node, depth int) *jsondoc.Node {
	if s == nil || depth > 16 {
		return jsondoc.NewNull()
	}
	if c := s.Get("const"); c != nil {
		return c.Clone()
	}
	if e := s.Get("enum").List(); len(e) > 0 {
		return e[0].Clone()
	}
	typ := s.Str("type")
	if t := s.Get("type").List(); len(t) > 0 {
		typ = t[0].Text
	}
	switch typ {
	case "object":
		o := jsondoc.NewObject()
		for _, req := range s.Get("required").List() {
			o.Set(req.Text, minimalInstance(s.Get("properties").Get(req.Text), depth+1))
		}
		return o
	case "array":
		return jsondoc.NewArray()
	case "integer", "number":
		if m := s.Get("minimum"); m != nil && m.Kind == jsondoc.Number {
			return m.Clone()
		}
		return jsondoc.NewNumber("0")
	case "boolean":
		return jsondoc.NewBool(false)
	case "null":
		return jsondoc.NewNull()
	case "string":
		return jsondoc.NewString(formatExample(s.Str("format")))
	}
	return jsondoc.NewNull()
}

// formatExample is a value matching a string format.
func formatExample(format string) string {
	switch format {
	case "date-time":
		return "2026-01-01T00:00:00Z"
	case "date":
		return "2026-01-01"
	case "time":
		return "00:00:00Z"
	case "uri", "url":
		return "https://example.com/"
	case "email":
		return "user@example.com"
	case "uuid":
		return "00000000-0000-4000-8000-000000000000"
	}
	return ""
}
