package osp_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/osp"
)

// TestUsageAccruesDeterministically advances the clock a full day on a metered resource and
// checks the accrued quantity and its charge against the seeded rate.
func TestUsageAccruesDeterministically(t *testing.T) {
	_, a, clock, id, _ := meteredAtMonthStart(t)
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 30 * 86400})
	_, _, u := a.Call("GET", "/resources/"+id+"/usage", "", nil)
	rate := osp.AccrualRate(id, "requests", "10")
	want := new(big.Rat).Mul(rate, big.NewRat(720, 1))
	wantQty := osp.DecimalString(mustRat(want.FloatString(2)))
	got := u["metrics"].(map[string]any)["requests"]
	if got != mustFloat(wantQty) {
		t.Fatalf("accrued requests %v, want %s (rate %s/h)", got, wantQty, rate.FloatString(6))
	}
	over := new(big.Rat).Sub(mustRat(wantQty), big.NewRat(10, 1))
	wantCost := "0.00"
	if over.Sign() > 0 {
		wantCost = osp.Cents(over.Mul(over, big.NewRat(20, 100)))
	}
	if u["overage_cost"].(map[string]any)["amount"] != wantCost {
		t.Errorf("overage %v, want %s", u["overage_cost"], wantCost)
	}
	// The same resource id always accrues at the same rate.
	if osp.AccrualRate(id, "requests", "10").Cmp(rate) != 0 {
		t.Error("the rate is not deterministic")
	}
}

// meteredAtMonthStart freezes a fresh sandbox's clock at the start of next month, so what
// follows falls in one period, and provisions a metered resource (acmedb/redis pay-as-you-go).
func meteredAtMonthStart(t *testing.T) (*mocktest.Sandbox, agenttest.Agent, agenttest.Agent, string, time.Time) {
	t.Helper()
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	clock := agenttest.Agent{T: t, Base: f.URL + "/ospbox/v1/clock"}
	clock.Call("POST", "/freeze", "", nil)
	// The frozen time exactly (the API's "now" drops the fraction of a second, and whole seconds
	// of advance would leave the resource made just before the month starts).
	cur := f.Clock().Now
	start := time.Date(cur.Year(), cur.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	if err := f.AdvanceClock(context.Background(), start.Sub(cur)); err != nil {
		t.Fatal(err)
	}
	_, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"})
	return f, a, clock, res["resource_id"].(string), start
}

func mustRat(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }

func mustFloat(s string) float64 { f, _ := mustRat(s).Float64(); return f }

// TestUsageHistoryIsTheAccrualDayByDay: the resource page's usage chart has one exact value per
// day so far (the seeded rate times the hours live), today's equal to the usage report, and the
// projection to the month's end.
func TestUsageHistoryIsTheAccrualDayByDay(t *testing.T) {
	f, a, clock, id, start := meteredAtMonthStart(t)
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 10*86400 + 6*3600})
	_, _, report := a.Call("GET", "/resources/"+id+"/usage", "", nil)

	stored, err := f.DB.ResourceByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := f.OSP().Ledger().UsageHistory(context.Background(), stored)
	if err != nil || len(hist) != 1 || hist[0].Dimension != "requests" {
		t.Fatalf("history %+v, %v", hist, err)
	}
	h := hist[0]
	if len(h.Daily) != 11 || h.Included != 10 || !h.PeriodStart.Equal(start) {
		t.Fatalf("%d days, included %v, from %v", len(h.Daily), h.Included, h.PeriodStart)
	}
	rate := osp.AccrualRate(id, "requests", "10")
	at := func(hours int64) float64 {
		return mustFloat(new(big.Rat).Mul(rate, big.NewRat(hours, 1)).FloatString(2))
	}
	for day := range 10 {
		if h.Daily[day] != at(int64(24*(day+1))) {
			t.Errorf("day %d: %v, want %v", day+1, h.Daily[day], at(int64(24*(day+1))))
		}
	}
	if h.Daily[10] != report["metrics"].(map[string]any)["requests"] {
		t.Errorf("today %v, the report says %v", h.Daily[10], report["metrics"])
	}
	_, end := osp.MonthBounds(start)
	if want := at(int64(end.Sub(start).Hours())); h.Projected != want {
		t.Errorf("projected %v, want %v", h.Projected, want)
	}
}
