package mock

import (
	"testing"
)

func TestBudgetsEnforcement(t *testing.T) {
	f := newFixture(t)
	sky := agent{T: t, Base: f.srv.URL + "/providers/skyhost/osp/v1"}
	create := func(body map[string]any) (int, map[string]any) {
		st, _, b := sky.Call("POST", "/budgets", "", body)
		return st, b
	}
	st, soft := create(map[string]any{"scope": "project", "scope_id": "shop", "limit": map[string]any{"amount": "12.00", "currency": "USD"}, "enforcement": "soft_block", "period": "monthly"})
	if st != 201 || soft["scope_id"] != "proj_shop" || soft["current_spend"] != "0.00" {
		t.Fatalf("create: %d %v", st, soft)
	}
	if st, b := create(map[string]any{"scope": "project", "scope_id": "proj_shop", "limit": map[string]any{"amount": "1.00", "currency": "USD"}, "enforcement": "warn", "period": "monthly"}); st != 409 || errCode(b) != "conflict" {
		t.Errorf("duplicate: %d %v", st, b)
	}
	if st, b := create(map[string]any{"scope": "galaxy", "scope_id": "x", "limit": map[string]any{"amount": "1", "currency": "JPY"}, "enforcement": "maybe", "period": "hourly"}); st != 400 || len(b["error"].(map[string]any)["details"].(map[string]any)["errors"].([]any)) != 4 {
		t.Errorf("invalid budget: %d %v", st, b)
	}
	pay := map[string]any{"offering_id": "skyhost/functions", "tier_id": "pro", "project_name": "shop", "payment_method": "stripe_spt", "payment_proof": "tok"}
	if st, _, b := sky.Call("POST", "/provision", "", pay); st != 202 {
		t.Fatalf("first pro (USD 10.00, under 12.00): %d %v", st, b)
	}
	st, _, b := sky.Call("POST", "/provision", "", pay)
	d, _ := b["error"].(map[string]any)["details"].(map[string]any)
	if st != 402 || errCode(b) != "budget_exceeded" || d["override_available"] != true || d["current_spend"] != "10.00" || d["projected_spend"] != "20.00" {
		t.Fatalf("soft block: %d %v", st, b)
	}
	pay["budget_override"] = true
	if st, _, b := sky.Call("POST", "/provision", "", pay); st != 202 {
		t.Fatalf("override: %d %v", st, b)
	}
	// A warn budget lets the charge through with a warning; a hard block refuses it.
	create(map[string]any{"scope": "global", "scope_id": "*", "limit": map[string]any{"amount": "25.00", "currency": "USD"}, "enforcement": "warn", "period": "monthly", "alert_thresholds": []int{50}})
	other := map[string]any{"offering_id": "skyhost/functions", "tier_id": "pro", "project_name": "blog", "payment_method": "stripe_spt", "payment_proof": "tok"}
	st, _, ok := sky.Call("POST", "/provision", "", other)
	if st != 202 || ok["warnings"] == nil {
		t.Errorf("warn budget: %d %v", st, ok)
	}
	create(map[string]any{"scope": "project", "scope_id": "blog", "limit": map[string]any{"amount": "15.00", "currency": "USD"}, "enforcement": "hard_block", "period": "yearly"})
	if st, _, b := sky.Call("POST", "/provision", "", other); st != 403 || errCode(b) != "budget_exceeded" {
		t.Errorf("hard block: %d %v", st, b)
	}
	_, _, list := sky.Call("GET", "/budgets?scope=project", "", nil)
	if n := len(list["budgets"].([]any)); n != 2 {
		t.Errorf("list by scope: %d", n)
	}
	st, _, got := sky.Call("GET", "/budgets/"+soft["budget_id"].(string), "", nil)
	if st != 200 || got["current_spend"] != "20.00" || got["utilization_percent"] != float64(166.67) {
		t.Errorf("budget after the override: %d %v", st, got)
	}
	if st, _, _ := sky.Call("DELETE", "/budgets/"+soft["budget_id"].(string), "", nil); st != 204 {
		t.Errorf("delete: %d", st)
	}
	if st, _, _ := sky.Call("GET", "/budgets/"+soft["budget_id"].(string), "", nil); st != 404 {
		t.Errorf("deleted budget: %d", st)
	}
	// A request's own ceiling.
	if st, _, b := sky.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/functions", "tier_id": "pro", "payment_method": "stripe_spt", "payment_proof": "tok",
		"budget": map[string]any{"max_monthly_cost": "5.00", "currency": "USD"}}); st != 402 || b["error"].(map[string]any)["details"].(map[string]any)["enforcement"] != "request_ceiling" {
		t.Errorf("request ceiling: %d %v", st, b)
	}
}

func TestRateLimitHeadersAndEnforcement(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	_, h, _ := a.Call("GET", "/health", "", nil)
	if h.Get("RateLimit-Limit") != "100" || h.Get("RateLimit-Remaining") != "99" || h.Get("X-OSP-RateLimit-Reset") == "" {
		t.Errorf("headers %v", h)
	}
	// Not enforced by default: the 11th provision in a minute still succeeds.
	for i := 0; i < 11; i++ {
		if st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}); st != 201 {
			t.Fatalf("provision %d: %d %v", i, st, b)
		}
	}
	snap := f.sb.Snapshot()
	cfg := snap.Config
	cfg.OSP.RateLimits.Enforce = true
	f.sb.snap.Store(&Snapshot{Providers: snap.Providers, Default: snap.Default, BSP: snap.BSP, OAP: snap.OAP, Config: cfg})
	st, h, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	if st != 429 || errCode(b) != "rate_limit_exceeded" || h.Get("Retry-After") == "" {
		t.Errorf("enforced: %d %v", st, b)
	}
}
