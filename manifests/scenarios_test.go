package manifests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests/scenariofile"
)

const goodScenarios = `{
  "$schema": "http://127.0.0.1:7410/schemas/scenarios.json",
  "rules": [
    {"name": "provider down for two calls", "match": {"operation": "osp.provision"}, "when": {"first": 2},
     "effect": {"error": "provider_unavailable", "retry_after_seconds": 5}},
    {"id": "slow-discovery", "match": {"operation": "osp.discover"}, "effect": {"latency": {"distribution": "uniform", "min_ms": 100, "max_ms": 300}}}
  ]
}
`

func TestScenarioFilesAreCheckedWithPlaces(t *testing.T) {
	f := CheckScenarioFile("scenarios/flaky.json", []byte(goodScenarios))
	if !f.Report.Valid || len(f.Rules) != 2 || f.Rules[0].ID != "flaky-1" || f.Rules[1].ID != "slow-discovery" || f.Rules[0].Source != "scenarios/flaky.json" {
		t.Fatalf("good file: %+v %+v", f.Report.Errors, f.Rules)
	}
	if _, ds := CheckMessage("scenarios.json", []byte(goodScenarios)); len(ds) > 0 {
		t.Errorf("the served schema refuses a good file: %+v", ds)
	}
	bad := strings.Replace(goodScenarios, `"retry_after_seconds": 5`, `"retry_after_seconds": 5, "colour": "red"`, 1)
	f = CheckScenarioFile("scenarios/flaky.json", []byte(bad))
	if f.Report.Valid || f.Rules != nil || len(f.Report.Errors) != 1 {
		t.Fatalf("bad file: %+v", f.Report)
	}
	e := f.Report.Errors[0]
	col := strings.Index(strings.Split(bad, "\n")[4], `"colour"`) + 1
	if e.Rule != "scenario_rule" || e.Pointer != "/rules/0/effect/colour" || e.Line != 5 || e.Column != col || !strings.Contains(e.Message, `"colour"`) {
		t.Errorf("finding %+v, want scenario_rule at /rules/0/effect/colour, 5:%d", e, col)
	}
	dup := strings.Replace(goodScenarios, `"name": "provider down`, `"id": "slow-discovery", "name": "provider down`, 1)
	if f := CheckScenarioFile("scenarios/flaky.json", []byte(dup)); f.Report.Valid || f.Report.Errors[0].Rule != "duplicate_rule_id" {
		t.Errorf("duplicate ids: %+v", f.Report.Errors)
	}
	if f := CheckScenarioFile("scenarios/x.json", []byte(`{"rules": [{"effect": {"error": "NOT_A_CODE"}}]}`)); f.Report.Valid || f.Report.Errors[0].Pointer != "/rules/0/effect/error" {
		t.Errorf("unknown code: %+v", f.Report.Errors)
	}
}

// TestScenarioSchemaNamesTheOperations keeps the served schema's operation list in step with the
// decoder's.
func TestScenarioSchemaNamesTheOperations(t *testing.T) {
	body, _ := SchemaBody("scenarios.json", "http://x/schemas/")
	var s struct {
		Defs struct {
			Match struct {
				Properties struct {
					Operation struct {
						Enum []string `json:"enum"`
					} `json:"operation"`
				} `json:"properties"`
			} `json:"Match"`
		} `json:"$defs"`
	}
	json.Unmarshal(body, &s)
	if !slices.Equal(s.Defs.Match.Properties.Operation.Enum, scenariofile.Operations) {
		t.Errorf("schema operations %v\ndecoder operations %v", s.Defs.Match.Properties.Operation.Enum, scenariofile.Operations)
	}
}

// TestSurfaceReportsSayTheirVersion: a BSP report names its generation and declared version,
// and an OAP report its version (they were lost when the report was finished).
func TestSurfaceReportsSayTheirVersion(t *testing.T) {
	bsp, _ := samples.ReadFile("samples/bsp/manifest.json")
	rep := ValidateData("bsp/manifest.json", "", bsp)
	if rep.Generation == nil || *rep.Generation != "0.8" || rep.DeclaredVersion == "" || SchemaOf(rep) != "bsp/0.8.json" {
		t.Errorf("BSP report: generation %v, declared %q", rep.Generation, rep.DeclaredVersion)
	}
	oap, _ := samples.ReadFile("samples/oap/manifest.json")
	if rep := ValidateData("oap/manifest.json", "", oap); rep.DeclaredVersion != "2025-07-01" {
		t.Errorf("OAP report: declared %q", rep.DeclaredVersion)
	}
}
