package mock

import (
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/osp"
)

func TestTierChanges(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	clock := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	clock.Call("POST", "/freeze", "", nil)
	_, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "project_name": "p"})
	id := res["resource_id"].(string)
	up := "/resources/" + id + "/upgrade"
	if st, _, body := a.Call("POST", up, "", map[string]any{"tier_id": "pay-as-you-go"}); st != 402 || errCode(body) != "payment_required" {
		t.Errorf("paid target without payment: %d %v", st, body)
	}
	if st, _, body := a.Call("POST", up, "", map[string]any{"tier_id": "free"}); st != 400 || errCode(body) != "tier_change_not_allowed" {
		t.Errorf("same tier: %d %v", st, body)
	}
	if st, _, body := a.Call("POST", up, "", map[string]any{"tier_id": "gold"}); st != 400 || errCode(body) != "invalid_tier" {
		t.Errorf("unknown tier: %d %v", st, body)
	}
	st, _, ch := a.Call("POST", up, "", map[string]any{"tier_id": "pay-as-you-go", "payment_method": "stripe_spt", "payment_proof": "tok"})
	if st != 200 || ch["tier_id"] != "pay-as-you-go" || ch["previous_tier_id"] != "free" {
		t.Fatalf("upgrade: %d %v", st, ch)
	}
	pr := ch["proration"].(map[string]any)
	fr, _ := osp.ParseAmount(pr["remaining_fraction"].(string))
	want, _ := osp.ParseAmount("5.00")
	if pr["mode"] != "immediate" || pr["amount"] != osp.Cents(want.Mul(want, fr)) || pr["new_monthly_price"] != "5.00" {
		t.Errorf("proration %v", pr)
	}
	// Downgrade at the next period: nothing posted now, the status shows it pending.
	st, _, down := a.Call("POST", up, "", map[string]any{"tier_id": "free", "proration": "next_period"})
	if st != 200 || down["proration"].(map[string]any)["amount"] != "0.00" {
		t.Fatalf("next_period: %d %v", st, down)
	}
	_, _, status := a.Call("GET", "/resources/"+id, "", nil)
	if status["tier_id"] != "pay-as-you-go" || status["pending_tier_id"] != "free" {
		t.Errorf("pending change: %v", status)
	}
	eff, _ := time.Parse(time.RFC3339, down["effective_at"].(string))
	_, _, now := clock.Call("GET", "", "", nil)
	cur, _ := time.Parse(time.RFC3339, now["now"].(string))
	clock.Call("POST", "/advance", "", map[string]any{"seconds": int(eff.Sub(cur).Seconds()) + 1})
	_, _, status = a.Call("GET", "/resources/"+id, "", nil)
	if status["tier_id"] != "free" || status["pending_tier_id"] != nil {
		t.Errorf("after the period starts: %v", status)
	}
	// The B form: POST /provision with tier_change answers 201 with the bundle.
	st, _, b := a.Call("POST", "/provision", "", map[string]any{"tier_id": "pay-as-you-go", "offering_id": "acmedb/redis",
		"tier_change": map[string]any{"resource_id": id, "previous_tier_id": "free", "proration": "none"}, "payment_method": "stripe_spt", "payment_proof": "tok"})
	if st != 201 || b["credentials_bundle"] == nil || b["created_at"] == nil || b["proration"].(map[string]any)["amount"] != "5.00" {
		t.Errorf("B form: %d %v", st, b)
	}
	if st, _, body := a.Call("POST", "/provision", "", map[string]any{"tier_id": "free", "offering_id": "acmedb/redis",
		"tier_change": map[string]any{"resource_id": id, "previous_tier_id": "free"}}); st != 400 || errCode(body) != "tier_change_not_allowed" {
		t.Errorf("B form with a stale previous tier: %d %v", st, body)
	}
	// A sandbox cannot change tier.
	_, _, sb := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "sandbox": map[string]any{"enabled": true}})
	if st, _, body := a.Call("POST", "/resources/"+sb["resource_id"].(string)+"/upgrade", "", map[string]any{"tier_id": "pay-as-you-go"}); st != 400 || errCode(body) != "invalid_request" {
		t.Errorf("sandbox tier change: %d %v", st, body)
	}
}

func TestExpiringEventsAndMonthlyRollover(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/skyhost/osp/v1"}
	clock := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	clock.Call("POST", "/freeze", "", nil)
	_, _, sb := a.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/static-site", "tier_id": "hobby", "sandbox": map[string]any{"enabled": true, "ttl_hours": 3}})
	_, _, short := a.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/static-site", "tier_id": "hobby", "sandbox": map[string]any{"enabled": true, "ttl_hours": 1}})
	count := func(id, typ string) int {
		_, _, log := a.Call("GET", "/events/"+id+"?event_type="+typ, "", nil)
		return len(log["events"].([]any))
	}
	if count(short["resource_id"].(string), "resource.sandbox_expiring") != 1 {
		t.Error("a one-hour sandbox is warned at once")
	}
	id := sb["resource_id"].(string)
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 3600})
	if count(id, "resource.sandbox_expiring") != 0 {
		t.Error("warned too early")
	}
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 3601})
	if count(id, "resource.sandbox_expiring") != 1 {
		t.Error("no warning an hour before the end")
	}
	// A paid resource is charged again at the start of each month.
	_, _, paid := a.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/static-site", "tier_id": "team", "project_name": "site", "payment_method": "stripe_spt", "payment_proof": "t"})
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 10})
	_, _, now := clock.Call("GET", "", "", nil)
	cur, _ := time.Parse(time.RFC3339, now["now"].(string))
	next := time.Date(cur.Year(), cur.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 2, 0)
	clock.Call("POST", "/advance", "", map[string]any{"seconds": int(next.Sub(cur).Seconds()) + 60})
	_, _, cost := a.Call("GET", "/projects/site/cost", "", nil)
	if cost["total"].(map[string]any)["amount"] != "20.00" || cost["comparison"].(map[string]any)["previous_period"] != "20.00" {
		t.Errorf("two months later, one base charge per month: %v", cost)
	}
	_ = paid
}
