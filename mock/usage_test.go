package mock

import (
	"crypto/ed25519"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
)

func TestUsageInjectionChargesAndThresholds(t *testing.T) {
	f := newFixture(t)
	a := agent{t: t, base: f.srv.URL + "/providers/acmedb/osp/v1"}
	ctl := agent{t: t, base: f.srv.URL + "/ospbox/v1/resources"}
	// Pay as you go: USD 5.00 a month, 10 units of "requests" included, 0.20 per unit above.
	_, _, res := a.call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"})
	id := res["resource_id"].(string)
	if st, _, body := ctl.call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 8}}); st != 200 || body["metrics"].(map[string]any)["requests"] != float64(8) {
		t.Fatalf("inject: %d %v", st, body)
	}
	ctl.call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 7}}) // 15: 5 above the 10 included
	st, _, u := a.call("GET", "/resources/"+id+"/usage", "", nil)
	if st != 200 || u["overage_cost"].(map[string]any)["amount"] != "1.00" || u["total_cost"].(map[string]any)["amount"] != "6.00" {
		t.Fatalf("usage: %d %v", st, u)
	}
	dims := u["dimensions"].([]any)
	if dims[0].(map[string]any)["dimension"] != "active_hours" || dims[1].(map[string]any)["overage_quantity"] != "5" || dims[1].(map[string]any)["unit"] != "100k requests" {
		t.Errorf("dimensions %v", dims)
	}
	// The report is signed with the provider key over its canonical form.
	sig, _ := manifests.DecodeB64(u["provider_signature"].(string))
	delete(u, "provider_signature")
	raw, _ := json.Marshal(u)
	doc, _ := jsondoc.Parse(raw)
	_, _, manifest := agent{t: t, base: f.srv.URL}.call("GET", "/providers/acmedb/.well-known/osp.json", "", nil)
	pub, _ := manifests.DecodeB64(manifest["provider_public_key"].(string))
	if !ed25519.Verify(pub, jsondoc.Canonical(doc.Root), sig) {
		t.Error("usage report signature does not verify")
	}
	// "set" replaces; going down posts nothing.
	ctl.call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 3}, "mode": "set"})
	_, _, u = a.call("GET", "/usage/"+id, "", nil)
	if u["metrics"].(map[string]any)["requests"] != float64(3) || u["overage_cost"].(map[string]any)["amount"] != "1.00" {
		t.Errorf("after set: %v", u)
	}
	// Thresholds: the free tier limits requests_per_day to 10000.
	_, _, free := a.call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	fid := free["resource_id"].(string)
	ctl.call("POST", "/"+fid+"/usage", "", map[string]any{"metrics": map[string]any{"requests_per_day": 8500}})
	ctl.call("POST", "/"+fid+"/usage", "", map[string]any{"metrics": map[string]any{"requests_per_day": 100}})
	ctl.call("POST", "/"+fid+"/usage", "", map[string]any{"metrics": map[string]any{"requests_per_day": 2000}})
	_, _, log := a.call("GET", "/events/"+fid+"?event_type=usage.threshold", "", nil)
	if n := len(log["events"].([]any)); n != 2 {
		t.Errorf("want the 80%% and 100%% thresholds once each, got %d: %v", n, log)
	}
	for _, bad := range []any{map[string]any{"metrics": map[string]any{"x": -1}}, map[string]any{"metrics": map[string]any{}}, map[string]any{"metrics": map[string]any{"x": 1}, "mode": "mul"}} {
		if st, _, _ := ctl.call("POST", "/"+id+"/usage", "", bad); st != 400 {
			t.Errorf("bad injection %v: %d", bad, st)
		}
	}
	if st, _, _ := ctl.call("POST", "/res_nope/usage", "", map[string]any{"metrics": map[string]any{"x": 1}}); st != 404 {
		t.Errorf("unknown resource: %d", st)
	}
}

// TestUsageAccruesDeterministically advances the clock a full day on a metered resource and
// checks the accrued quantity and its charge against the seeded rate.
func TestUsageAccruesDeterministically(t *testing.T) {
	f := newFixture(t)
	a := agent{t: t, base: f.srv.URL + "/providers/acmedb/osp/v1"}
	clock := agent{t: t, base: f.srv.URL + "/ospbox/v1/clock"}
	clock.call("POST", "/freeze", "", nil)
	_, _, now := clock.call("GET", "", "", nil)
	cur, _ := time.Parse(time.RFC3339, now["now"].(string))
	// Start at the beginning of next month so the whole day falls in one period.
	start := time.Date(cur.Year(), cur.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	clock.call("POST", "/advance", "", map[string]any{"seconds": int(start.Sub(cur).Seconds())})
	_, _, res := a.call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"})
	id := res["resource_id"].(string)
	clock.call("POST", "/advance", "", map[string]any{"seconds": 30 * 86400})
	_, _, u := a.call("GET", "/resources/"+id+"/usage", "", nil)
	rate := accrualRate(id, "requests", "10")
	want := new(big.Rat).Mul(rate, big.NewRat(720, 1))
	wantQty := decimalString(mustRat(want.FloatString(2)))
	got := u["metrics"].(map[string]any)["requests"]
	if got != mustFloat(wantQty) {
		t.Fatalf("accrued requests %v, want %s (rate %s/h)", got, wantQty, rate.FloatString(6))
	}
	over := new(big.Rat).Sub(mustRat(wantQty), big.NewRat(10, 1))
	wantCost := "0.00"
	if over.Sign() > 0 {
		wantCost = Cents(over.Mul(over, big.NewRat(20, 100)))
	}
	if u["overage_cost"].(map[string]any)["amount"] != wantCost {
		t.Errorf("overage %v, want %s", u["overage_cost"], wantCost)
	}
	// The same resource id always accrues at the same rate.
	if accrualRate(id, "requests", "10").Cmp(rate) != 0 {
		t.Error("the rate is not deterministic")
	}
}

func mustRat(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }

func mustFloat(s string) float64 { f, _ := mustRat(s).Float64(); return f }
