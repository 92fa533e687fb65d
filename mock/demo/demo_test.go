package demo

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock/mocktest"
)

func TestDemoPlaysAgainstTheSampleWorkspace(t *testing.T) {
	s := mocktest.New(t)
	sb, db := s.Sandbox, s.DB
	srv := httptest.NewServer(sb)
	defer srv.Close()

	var logged []string
	rep, err := Run(t.Context(), Options{Target: srv.URL, Speed: 0, Log: func(s string) { logged = append(logged, s) }})
	if err != nil {
		t.Fatalf("demo failed after %d steps: %v\n%s", len(logged), err, strings.Join(logged, "\n"))
	}
	if !strings.Contains(strings.Join(logged, "\n"), "catalog: 6 services") {
		t.Errorf("catalog not read: %v", logged[:2])
	}
	if !rep.Decrypted || !rep.SoftBlocked || !rep.CapBlocked || !rep.OldTokenDenied || !rep.OutageRetried || !rep.FromZero || len(rep.Resources) < 5 {
		t.Errorf("report %+v", rep)
	}
	// What the demo did is in the state the UI reads.
	c, _ := db.Counts(t.Context())
	if c.Resources < 4 || c.ActiveSandboxes < 2 || c.Events < 8 {
		t.Errorf("state after the demo: %+v", c)
	}
	sb.FlushRequestLog()
	refused, _ := db.RefusedProvisions(t.Context(), 10)
	if len(refused) != 2 {
		t.Errorf("refused provisions after the demo: %d, want the soft block and the cap", len(refused))
	}
}

func TestDemoSaysWhenTheTargetIsDown(t *testing.T) {
	_, err := Run(t.Context(), Options{Target: "http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "is ospbox running") {
		t.Errorf("error %v", err)
	}
}

// TestDemoFailuresReadAsTheProtocolsError: a run that meets a refusal says the protocol's code
// and message, never a Go value (a second run on the same state meets the first run's budget).
func TestDemoFailuresReadAsTheProtocolsError(t *testing.T) {
	s := mocktest.New(t)
	for run := range 2 {
		_, err := Run(t.Context(), Options{Target: s.URL, Speed: 0, Log: func(string) {}})
		if err != nil && (strings.Contains(err.Error(), "map[") || !strings.Contains(err.Error(), ": ")) {
			t.Errorf("run %d: %v", run+1, err)
		}
	}
	for body, want := range map[string]string{
		`{"error": {"code": "budget_exceeded", "message": "over the budget"}}`: "budget_exceeded: over the budget",
		`{"status": "provisioned"}`: `{"status":"provisioned"}`,
		``:                          "(no JSON body)",
	} {
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		if got := describe(m); got != want {
			t.Errorf("describe(%s) = %q, want %q", body, got, want)
		}
	}
}

// TestTheDemoRunsAnyNumberOfTimes: in its own namespace, made fresh for each run, the demo
// succeeds twice in a row and leaves the default namespace untouched (issue 14).
func TestTheDemoRunsAnyNumberOfTimes(t *testing.T) {
	s := mocktest.New(t)
	for run := range 2 {
		base, err := PrepareNamespace(t.Context(), nil, s.URL, "demo")
		if err != nil || base != s.URL+"/ns/demo" {
			t.Fatalf("run %d: namespace %q %v", run+1, base, err)
		}
		if _, err := Run(t.Context(), Options{Target: base, Speed: 0, Log: func(string) {}}); err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
	}
	if c, _ := s.DB.Counts(t.Context()); c.Resources != 0 {
		t.Errorf("the demo changed the default namespace: %d resources", c.Resources)
	}
}
