package osp_test

import (
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// TestCostSummaryPeriodAndMeteredBreakdown: the period is echoed as given, a timestamp end is the
// instant the period ends (a charge after it does not count), and metered cost is broken down
// per metric as metered:<metric> (spec/osp.md §14.4).
func TestCostSummaryPeriodAndMeteredBreakdown(t *testing.T) {
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	ctl := agenttest.Agent{T: t, Base: f.URL + "/ospbox/v1"}
	ctl.Call("POST", "/clock/freeze", "", nil)
	now := f.Clock().Now
	// Pay as you go: USD 5.00 a month, 10 requests included, 0.20 per request above.
	_, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"})
	id := res["resource_id"].(string)
	ctl.Call("POST", "/resources/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 15}}) // 1.00 metered
	start, end := now.Format(time.DateOnly), now.Add(30*time.Minute).Format(time.RFC3339)
	query := "/cost-summary?period_start=" + start + "&period_end=" + end

	check := func(when string) {
		t.Helper()
		st, _, sum := a.Call("GET", query, "", nil)
		if st != 200 {
			t.Fatalf("%s: %d %v", when, st, sum)
		}
		if p := sum["period"].(map[string]any); p["start"] != start || p["end"] != end {
			t.Errorf("%s: period %v, want %s – %s as given", when, p, start, end)
		}
		if sum["total_cost"] != "6.00" {
			t.Errorf("%s: total %v, want 6.00 (base 5.00 + metered 1.00 inside the period)", when, sum["total_cost"])
		}
		var dims []string
		for _, b := range sum["resources"].([]any)[0].(map[string]any)["breakdown"].([]any) {
			m := b.(map[string]any)
			dims = append(dims, m["dimension"].(string)+"="+m["amount"].(string))
		}
		if len(dims) != 2 || dims[0] != "base_price=5.00" || dims[1] != "metered:requests=1.00" {
			t.Errorf("%s: breakdown %v, want base_price=5.00 metered:requests=1.00", when, dims)
		}
	}
	check("inside the period")
	// An hour later, after the period's end, more requests above the included ones are charged:
	// the same period does not count them.
	ctl.Call("POST", "/clock/advance", "", map[string]any{"seconds": 3600})
	ctl.Call("POST", "/resources/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 5}})
	check("after a charge past the end")
	if st, _, body := a.Call("GET", "/cost-summary?period_start="+start+"&period_end="+start+"T00:00:00Z", "", nil); st != 400 || agenttest.ErrCode(body) != "invalid_request" {
		t.Errorf("an end not after the start: %d %v", st, body)
	}
}
