package mock

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
)

func TestUsageInjectionChargesAndThresholds(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1/resources"}
	// Pay as you go: USD 5.00 a month, 10 units of "requests" included, 0.20 per unit above.
	_, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"})
	id := res["resource_id"].(string)
	if st, _, body := ctl.Call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 8}}); st != 200 || body["metrics"].(map[string]any)["requests"] != float64(8) {
		t.Fatalf("inject: %d %v", st, body)
	}
	ctl.Call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 7}}) // 15: 5 above the 10 included
	st, _, u := a.Call("GET", "/resources/"+id+"/usage", "", nil)
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
	_, _, manifest := agent{T: t, Base: f.srv.URL}.Call("GET", "/providers/acmedb/.well-known/osp.json", "", nil)
	pub, _ := manifests.DecodeB64(manifest["provider_public_key"].(string))
	if !ed25519.Verify(pub, jsondoc.Canonical(doc.Root), sig) {
		t.Error("usage report signature does not verify")
	}
	// "set" replaces; going down posts nothing.
	ctl.Call("POST", "/"+id+"/usage", "", map[string]any{"metrics": map[string]any{"requests": 3}, "mode": "set"})
	_, _, u = a.Call("GET", "/usage/"+id, "", nil)
	if u["metrics"].(map[string]any)["requests"] != float64(3) || u["overage_cost"].(map[string]any)["amount"] != "1.00" {
		t.Errorf("after set: %v", u)
	}
	// Thresholds: the free tier limits requests_per_day to 10000.
	_, _, free := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	fid := free["resource_id"].(string)
	ctl.Call("POST", "/"+fid+"/usage", "", map[string]any{"metrics": map[string]any{"requests_per_day": 8500}})
	ctl.Call("POST", "/"+fid+"/usage", "", map[string]any{"metrics": map[string]any{"requests_per_day": 100}})
	ctl.Call("POST", "/"+fid+"/usage", "", map[string]any{"metrics": map[string]any{"requests_per_day": 2000}})
	_, _, log := a.Call("GET", "/events/"+fid+"?event_type=usage.threshold", "", nil)
	if n := len(log["events"].([]any)); n != 2 {
		t.Errorf("want the 80%% and 100%% thresholds once each, got %d: %v", n, log)
	}
	for _, bad := range []any{map[string]any{"metrics": map[string]any{"x": -1}}, map[string]any{"metrics": map[string]any{}}, map[string]any{"metrics": map[string]any{"x": 1}, "mode": "mul"}} {
		if st, _, _ := ctl.Call("POST", "/"+id+"/usage", "", bad); st != 400 {
			t.Errorf("bad injection %v: %d", bad, st)
		}
	}
	if st, _, _ := ctl.Call("POST", "/res_nope/usage", "", map[string]any{"metrics": map[string]any{"x": 1}}); st != 404 {
		t.Errorf("unknown resource: %d", st)
	}
}
