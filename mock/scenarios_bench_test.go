package mock

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ospbox/ospbox/mock/agenttest"
)

// BenchmarkScenarioRulesThatDoNotMatch: discovery and provisioning over loopback from 32
// clients against a namespace with 100 scenario rules, none matching (other protocols,
// operations, providers, paths, headers, offerings), and against one with none, in the same
// run: A B, B A rounds of b.N requests each. Target (issue 15): within 5 %.
func BenchmarkScenarioRulesThatDoNotMatch(b *testing.B) {
	f := newFixture(b)
	ns := agent{T: b, Base: f.srv.URL + "/ospbox/v1/namespaces"}
	ns.Call("POST", "", "", map[string]any{"id": "none", "from": "seed"})
	ns.Call("POST", "", "", map[string]any{"id": "hundred", "from": "seed"})
	rules := agent{T: b, Base: f.srv.URL + "/ns/hundred/ospbox/v1/scenarios"}
	for i := range 100 {
		var match map[string]any
		switch i % 5 {
		case 0:
			match = map[string]any{"protocol": "bsp", "operation": "bsp.command"}
		case 1:
			match = map[string]any{"operation": "osp.rotate"}
		case 2:
			match = map[string]any{"provider": fmt.Sprintf("nobody-%d", i)}
		case 3:
			match = map[string]any{"path": fmt.Sprintf("/osp/v1/never-%d/**", i), "header": map[string]any{"x-tenant": "t-*"}}
		case 4:
			match = map[string]any{"operation": "osp.provision", "offering_id": fmt.Sprintf("acmedb/other-%d", i)}
		}
		code := "provider_unavailable"
		if i%5 == 0 {
			code = "INTERNAL"
		}
		if st, _, body := rules.Call("POST", "", "", map[string]any{"match": match, "effect": map[string]any{"error": code}}); st != 201 {
			b.Fatalf("rule %d: %d %v", i, st, body)
		}
	}
	for _, tc := range []struct {
		name, method, path string
		body               func() string
		want               int
	}{
		{"discovery", http.MethodGet, "/providers/acmedb/.well-known/osp.json", nil, 200},
		{"provision", http.MethodPost, "/providers/acmedb/osp/v1/provision", func() string { return `{"offering_id":"acmedb/redis","tier_id":"free"}` }, 201},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var without, with float64
			run := func(ns string) float64 {
				r, _ := agenttest.LoadParallelMethod(b, tc.method, []string{f.srv.URL + "/ns/" + ns + tc.path}, tc.body, tc.want)
				return r
			}
			for round := range 2 { // A B, then B A: neither side always goes second
				if round == 0 {
					without += run("none")
					with += run("hundred")
				} else {
					with += run("hundred")
					without += run("none")
				}
			}
			b.ReportMetric(without/2, "no-rules-req/s")
			b.ReportMetric(with/2, "100-rules-req/s")
			b.ReportMetric(with/without, "ratio")
		})
	}
	// The rules were asked and none fired.
	_, _, l := rules.Call("GET", "", "", nil)
	for _, r := range l["scenarios"].([]any) {
		if r.(map[string]any)["hits"] != float64(0) {
			b.Fatalf("a rule fired: %v", r)
		}
	}
}
