package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/mock/scenario"
	"github.com/ospbox/ospbox/storage"
)

// The request journal (spec/control.md §3): what the agent sent, to assert on — list with
// filters, verify a count with near misses when it does not hold, and clear. Every namespace's
// control API has its own, over its own request log.

// journal answers /ospbox/v1/requests[/verify] of one sandbox.
type journal struct{ s *Sandbox }

// journalSize is how many of the newest requests the journal reads.
const journalSize = storage.RequestLogLimit

func (j journal) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ospbox/v1/requests":
		if !osp.Allow(w, r, http.MethodGet, http.MethodHead, http.MethodDelete) {
			return
		}
		if r.Method == http.MethodDelete {
			if osp.RefuseBrowser(w, r) {
				return
			}
			j.s.requests.Flush()
			if err := j.s.db.ClearJournal(r.Context()); err != nil {
				osp.WriteError(w, osp.NewError("provider_error", err.Error()))
				return
			}
			kernel.WriteJSON(w, http.StatusOK, map[string]any{"cleared": true})
			return
		}
		j.list(w, r)
	case "/ospbox/v1/requests/verify":
		if !osp.Allow(w, r, http.MethodPost) {
			return
		}
		j.verify(w, r)
	default:
		osp.WriteError(w, osp.NewError("not_found", "no journal API at "+r.URL.Path))
	}
}

// entries reads up to limit journal entries through q, after the requests answered so far are
// in it.
func (j journal) entries(r *http.Request, q storage.JournalQuery, limit int) ([]storage.Request, error) {
	j.s.requests.Flush()
	return j.s.db.Journal(r.Context(), q, limit)
}

func (j journal) list(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := storage.JournalQuery{Method: strings.ToUpper(v.Get("method")), Provider: v.Get("provider"), Protocol: v.Get("protocol")}
	limit := 100
	bad := func(name, msg string) {
		osp.WriteError(w, osp.InvalidRequest(name+" "+msg, map[string]any{"pointer": name, "message": msg}))
	}
	if s := v.Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 599 {
			bad("status", "is an HTTP status, 100–599")
			return
		}
		q.Status = n
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			bad("since", "is an RFC 3339 time")
			return
		}
		q.Since = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > journalSize {
			bad("limit", fmt.Sprintf("is a whole number from 1 to %d", journalSize))
			return
		}
		limit = n
	}
	glob, err := pathGlob(v.Get("path"))
	if err != nil {
		bad("path", err.Error())
		return
	}
	read := journalSize
	if v.Get("path") == "" {
		read = limit // nothing to filter after the query
	}
	all, err := j.entries(r, q, read)
	if err != nil {
		osp.WriteError(w, osp.NewError("provider_error", err.Error()))
		return
	}
	out := []map[string]any{}
	for _, e := range all {
		if glob.MatchString(pathOf(e)) {
			out = append(out, journalEntry(e))
			if len(out) == limit {
				break
			}
		}
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"requests": out, "next": nil})
}

// verifyBody is POST /ospbox/v1/requests/verify's body.
type verifyBody struct {
	Match struct {
		Method string         `json:"method"`
		Path   string         `json:"path"`
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	} `json:"match"`
	Count   *int `json:"count"`
	AtLeast *int `json:"at_least"`
	AtMost  *int `json:"at_most"`
}

func (j journal) verify(w http.ResponseWriter, r *http.Request) {
	var body verifyBody
	if !decodeStrict(w, r, &body) {
		return
	}
	glob, err := pathGlob(body.Match.Path)
	if err != nil {
		osp.WriteError(w, osp.InvalidRequest("match.path "+err.Error(), map[string]any{"pointer": "/match/path", "message": err.Error()}))
		return
	}
	for p := range body.Match.Body {
		if p != "" && !strings.HasPrefix(p, "/") {
			osp.WriteError(w, osp.InvalidRequest("match.body's keys are JSON Pointers (\"/offering_id\")", map[string]any{"pointer": "/match/body", "message": "not a JSON Pointer: " + p}))
			return
		}
	}
	// Control requests (the verify itself) are not what a test asserts on.
	all, err := j.entries(r, storage.JournalQuery{}, journalSize)
	if err != nil {
		osp.WriteError(w, osp.NewError("provider_error", err.Error()))
		return
	}
	type miss struct {
		e    storage.Request
		diff []string
	}
	var matched []map[string]any
	var misses []miss
	for _, e := range all {
		if e.Protocol == "ospbox" {
			continue
		}
		if d := differences(e, body, glob); len(d) == 0 {
			matched = append(matched, journalEntry(e))
		} else {
			misses = append(misses, miss{e, d})
		}
	}
	n := len(matched)
	holds := true
	expected := map[string]int{}
	switch {
	case body.Count != nil:
		holds, expected["count"] = n == *body.Count, *body.Count
	default:
		if body.AtLeast == nil && body.AtMost == nil {
			one := 1
			body.AtLeast = &one // no count: at least one
		}
		if body.AtLeast != nil {
			holds, expected["at_least"] = holds && n >= *body.AtLeast, *body.AtLeast
		}
		if body.AtMost != nil {
			holds, expected["at_most"] = holds && n <= *body.AtMost, *body.AtMost
		}
	}
	if matched == nil {
		matched = []map[string]any{}
	}
	if holds {
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"matched": n, "requests": matched})
		return
	}
	sort.SliceStable(misses, func(a, b int) bool { return len(misses[a].diff) < len(misses[b].diff) })
	near := []map[string]any{}
	for _, m := range misses[:min(3, len(misses))] {
		entry := journalEntry(m.e)
		entry["differences"] = m.diff
		near = append(near, entry)
	}
	osp.WriteError(w, &osp.Error{Status: 409, Code: "conflict", Message: fmt.Sprintf("%d requests matched, expected %s", n, expectedText(expected)),
		Details: map[string]any{"matched": n, "expected": expected, "near_misses": near}})
}

func expectedText(e map[string]int) string {
	var parts []string
	for _, k := range []string{"count", "at_least", "at_most"} {
		if v, ok := e[k]; ok {
			parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+strconv.Itoa(v))
		}
	}
	return strings.Join(parts, " and ")
}

// differences says how e misses the match, one line per criterion; none when it matches.
func differences(e storage.Request, body verifyBody, glob *regexp.Regexp) []string {
	var d []string
	m := body.Match
	if m.Method != "" && !strings.EqualFold(m.Method, e.Method) {
		d = append(d, "method: "+e.Method+", wanted "+strings.ToUpper(m.Method))
	}
	if m.Path != "" && !glob.MatchString(pathOf(e)) {
		d = append(d, "path: "+pathOf(e)+", wanted "+m.Path)
	}
	if m.Status != 0 && m.Status != e.Status {
		d = append(d, fmt.Sprintf("status: %d, wanted %d", e.Status, m.Status))
	}
	if len(m.Body) > 0 {
		var doc any
		json.Unmarshal([]byte(e.RequestBody), &doc)
		for _, p := range sortedKeys(m.Body) {
			got, ok := pointer(doc, p)
			want := normalise(m.Body[p])
			if !ok {
				d = append(d, "body "+p+": absent, wanted "+compact(want))
			} else if !reflect.DeepEqual(got, want) {
				d = append(d, "body "+p+": "+compact(got)+", wanted "+compact(want))
			}
		}
	}
	return d
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pointer resolves a JSON Pointer (RFC 6901) in a decoded document.
func pointer(doc any, p string) (any, bool) {
	if p == "" {
		return doc, true
	}
	for _, tok := range jsondoc.SplitPointer(p) {
		switch v := doc.(type) {
		case map[string]any:
			x, ok := v[tok]
			if !ok {
				return nil, false
			}
			doc = x
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			doc = v[i]
		default:
			return nil, false
		}
	}
	return doc, true
}

// normalise gives a value the types decoding JSON gives (numbers as float64).
func normalise(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	json.Unmarshal(raw, &out)
	return out
}

func compact(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// pathOf is a journal entry's path without its query.
func pathOf(e storage.Request) string {
	p, _, _ := strings.Cut(e.Path, "?")
	return p
}

// pathGlob compiles a path glob: * within a segment, ** across segments; "" matches any path.
func pathGlob(g string) (*regexp.Regexp, error) {
	if g == "" {
		return regexp.MustCompile(`^`), nil
	}
	if !strings.HasPrefix(g, "/") {
		return nil, fmt.Errorf("is a path glob starting with / (* within a segment, ** across)")
	}
	return scenario.Glob(g, true), nil
}

// journalEntry is a logged request as the journal shows it.
func journalEntry(e storage.Request) map[string]any {
	path, query, _ := strings.Cut(e.Path, "?")
	var rule any
	if e.Scenario != "" {
		rule = e.Scenario
	}
	return map[string]any{"request_id": e.RequestID, "time": e.At.UTC().Format(time.RFC3339Nano), "method": e.Method, "path": path,
		"query": query, "status": e.Status, "latency_ms": float64(e.Latency.Microseconds()) / 1000, "protocol": e.Protocol,
		"provider": e.Provider, "agent": e.Agent, "request_headers": rawJSON(e.RequestHeaders), "request_body": rawJSON(e.RequestBody),
		"response_headers": rawJSON(e.ResponseHeaders), "response_body": rawJSON(e.ResponseBody), "scenario": rule}
}

// rawJSON keeps a logged JSON document as JSON, and anything else as a string.
func rawJSON(s string) any {
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return s
}
