package mock

import "testing"

func TestPromoteAndCost(t *testing.T) {
	f := newFixture(t)
	sky := agent{T: t, Base: f.srv.URL + "/providers/skyhost/osp/v1"}
	clock := agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}
	clock.Call("POST", "/freeze", "", nil)
	// A sandbox of the USD 20.00 Team tier costs nothing until it is promoted.
	_, _, sb := sky.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/static-site", "tier_id": "team", "project_name": "shop",
		"sandbox": map[string]any{"enabled": true, "auto_destroy": false, "ttl_hours": 1}})
	id := sb["resource_id"].(string)
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 5})
	if st, _, body := sky.Call("POST", "/promote/"+id, "", map[string]any{}); st != 402 || errCode(body) != "payment_required" {
		t.Errorf("promotion of a paid sandbox without payment: %d %v", st, body)
	}
	st, _, body := sky.Call("POST", "/promote/"+id, "", map[string]any{"payment_method": "stripe_spt", "payment_proof": "tok"})
	if st != 200 || body["sandbox"] != false || body["expires_at"] != nil || body["promoted_at"] == nil {
		t.Fatalf("promote: %d %v", st, body)
	}
	if st, _, body := sky.Call("POST", "/promote/"+id, "", map[string]any{"payment_method": "stripe_spt", "payment_proof": "tok"}); st != 409 || errCode(body) != "conflict" {
		t.Errorf("promote twice: %d %v", st, body)
	}
	// The promoted resource outlives its old TTL.
	clock.Call("POST", "/advance", "", map[string]any{"seconds": 7200})
	if st, _, body := sky.Call("GET", "/resources/"+id, "", nil); st != 200 || body["status"] != "provisioned" {
		t.Errorf("promoted resource after the old TTL: %d %v", st, body)
	}
	// A yearly Archive tier bought directly: USD 60.00 a year is USD 5.00 a month.
	sky.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/object-storage", "tier_id": "archive", "project_name": "shop", "payment_method": "invoice", "payment_proof": "po-1"})
	st, _, cost := sky.Call("GET", "/projects/proj_shop/cost", "", nil)
	if st != 200 || cost["total"].(map[string]any)["amount"] != "25.00" || cost["total_count"] != float64(2) {
		t.Fatalf("project cost: %d %v", st, cost)
	}
	if st, _, again := sky.Call("GET", "/projects/shop/cost", "", nil); st != 200 || again["project_id"] != "proj_shop" {
		t.Errorf("the bare project name works too: %d", st)
	}
	if st, _, body := sky.Call("GET", "/projects/proj_nothing/cost", "", nil); st != 404 || errCode(body) != "resource_not_found" {
		t.Errorf("unknown project: %d %v", st, body)
	}
	st, _, sum := sky.Call("GET", "/cost-summary", "", nil)
	if st != 200 || sum["total_cost"] != "25.00" || sum["currency"] != "USD" || sum["project_id"] != "*" || sum["projected_monthly"] != "25.00" {
		t.Errorf("cost summary: %d %v", st, sum)
	}
	if st, _, _ := sky.Call("GET", "/cost-summary?currency=EUR", "", nil); st != 400 {
		t.Errorf("another currency: %d", st)
	}
	if st, _, page := sky.Call("GET", "/projects/proj_shop/cost?limit=1", "", nil); st != 200 || page["next_cursor"] != "1" || len(page["by_resource"].([]any)) != 1 {
		t.Errorf("pagination: %v", page)
	}
	_, _, caps := agent{T: t, Base: f.srv.URL + "/ospbox/v1/caps"}.Call("GET", "/providers/skyhost", "", nil)
	if caps["current_spend"].(map[string]any)["amount"] != "25.00" {
		t.Errorf("the cap sees the same spend: %v", caps["current_spend"])
	}
}
