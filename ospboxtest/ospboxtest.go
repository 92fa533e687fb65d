// Package ospboxtest runs ospbox inside Go tests: a sandbox host in the test's process on a
// throwaway copy of a workspace (or the built-in samples), served over loopback, with its clock,
// reset and request journal at hand. Everything is cleaned up with the test.
//
//	sb := ospboxtest.Start(t, ospboxtest.Workspace("testdata/ws"))
//	agent := myagent.New(sb.URL)          // the agent under test points at sb.URL
//	agent.ProvisionDatabase()
//	sb.Advance(time.Hour)                 // the sandbox clock, not the wall clock
//	sb.Verify(ospboxtest.Match{Method: "POST", Path: "/osp/v1/provision"}, 1)
//
// It speaks to the sandbox through ospbox's HTTP control API (spec/control.md), as a test in any
// other language would.
package ospboxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// Sandbox is a running ospbox for one test.
type Sandbox struct {
	// URL is where the agent under test points: the default provider at the root,
	// /providers/<slug>/, /.well-known/bsp, /oap/… — as an agent sees ospbox.
	URL string
	// Dir is the throwaway workspace.
	Dir string
	t   testing.TB
}

// Option configures Start.
type Option func(*options)

type options struct{ workspace string }

// Workspace serves a copy of the workspace in dir (its manifests and ospbox.json, not its
// state) instead of the built-in samples.
func Workspace(dir string) Option { return func(o *options) { o.workspace = dir } }

// Start runs ospbox for t; it stops when t ends.
func Start(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	if o.workspace != "" {
		if err := os.CopyFS(dir, os.DirFS(o.workspace)); err != nil {
			t.Fatalf("ospboxtest: copying the workspace %s: %v", o.workspace, err)
		}
		os.RemoveAll(filepath.Join(dir, ".ospbox")) // the copy starts from no state
	} else if _, err := manifests.SeedIfEmpty(dir); err != nil {
		t.Fatal(err)
	}
	return &Sandbox{URL: mocktest.Open(t, dir).URL, Dir: dir, t: t}
}

// call sends a control request and decodes the answer.
func (s *Sandbox) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("ospboxtest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Now is the sandbox clock's time.
func (s *Sandbox) Now() time.Time {
	s.t.Helper()
	_, out := s.call("GET", "/ospbox/v1/clock", nil)
	t, _ := time.Parse(time.RFC3339, fmt.Sprint(out["now"]))
	return t
}

// Advance moves the sandbox clock forward by d (whole seconds); every timer due on the way
// fires in order: asynchronous provisioning completes, TTLs end, usage accrues.
func (s *Sandbox) Advance(d time.Duration) {
	s.t.Helper()
	if st, out := s.call("POST", "/ospbox/v1/clock/advance", map[string]any{"seconds": int64(d / time.Second)}); st != 200 {
		s.t.Fatalf("ospboxtest: advancing the clock: %d %v", st, out)
	}
}

// Reset returns the sandbox to its starting state (the workspace's seed, or empty) and its
// clock to wall-clock time.
func (s *Sandbox) Reset() {
	s.t.Helper()
	if st, out := s.call("POST", "/ospbox/v1/namespaces/default/reset", map[string]any{}); st != 200 {
		s.t.Fatalf("ospboxtest: reset: %d %v", st, out)
	}
}

// Match selects journal entries: any of the method, a path glob (* within a segment, ** across),
// the status, and request-body values by JSON Pointer ("/offering_id").
type Match struct {
	Method string         `json:"method,omitempty"`
	Path   string         `json:"path,omitempty"`
	Status int            `json:"status,omitempty"`
	Body   map[string]any `json:"body,omitempty"`
}

// Verify fails the test unless exactly count requests match m, naming the closest requests and
// what differed when they do not.
func (s *Sandbox) Verify(m Match, count int) {
	s.t.Helper()
	st, out := s.call("POST", "/ospbox/v1/requests/verify", map[string]any{"match": m, "count": count})
	if st == 200 {
		return
	}
	e, _ := out["error"].(map[string]any)
	var near []string
	if d, ok := e["details"].(map[string]any); ok {
		for _, n := range d["near_misses"].([]any) {
			entry := n.(map[string]any)
			near = append(near, fmt.Sprintf("  %v %v: %v", entry["method"], entry["path"], entry["differences"]))
		}
	}
	s.t.Errorf("ospboxtest: %v; the closest requests:\n%s", e["message"], strings.Join(near, "\n"))
}

// Requests is the journal, newest first: every request the sandbox answered whose path matches
// the glob ("" for all), with its status and bodies.
func (s *Sandbox) Requests(pathGlob string) []map[string]any {
	s.t.Helper()
	q := ""
	if pathGlob != "" {
		q = "?path=" + pathGlob
	}
	_, out := s.call("GET", "/ospbox/v1/requests"+q, nil)
	var list []map[string]any
	for _, r := range out["requests"].([]any) {
		list = append(list, r.(map[string]any))
	}
	return list
}

// WithT is the sandbox reporting to another test (a subtest, or a fake in a test of a test).
func (s *Sandbox) WithT(t testing.TB) *Sandbox {
	c := *s
	c.t = t
	return &c
}

// Scenario adds a scenario rule (spec/control.md §4), given as JSON, and returns its id: from
// then on the sandbox fails, delays or cuts the calls the rule names, and the agent under test
// meets it with no help from the test. A rule ospbox refuses fails the test with the member at
// fault. Reset removes the rules added here.
func (s *Sandbox) Scenario(rule string) string {
	s.t.Helper()
	var body any
	if err := json.Unmarshal([]byte(rule), &body); err != nil {
		s.t.Fatalf("ospboxtest: the scenario rule is not JSON: %v", err)
	}
	st, out := s.call("POST", "/ospbox/v1/scenarios", body)
	if st != http.StatusCreated {
		s.t.Fatalf("ospboxtest: scenario rule refused (%d): %v", st, out["error"])
	}
	return fmt.Sprint(out["id"])
}

// Hits is how many calls scenario rule id has changed so far.
func (s *Sandbox) Hits(id string) int {
	s.t.Helper()
	st, out := s.call("GET", "/ospbox/v1/scenarios/"+id, nil)
	if st != http.StatusOK {
		s.t.Fatalf("ospboxtest: scenario rule %s: %d %v", id, st, out["error"])
	}
	n, _ := out["hits"].(float64)
	return int(n)
}
