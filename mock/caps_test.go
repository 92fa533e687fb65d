package mock

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCapsAPIAndEnforcement(t *testing.T) {
	f := newFixture(t)
	caps := agent{T: t, Base: f.srv.URL + "/ospbox/v1/caps"}
	sky := agent{T: t, Base: f.srv.URL + "/providers/skyhost/osp/v1"}
	_, _, v := caps.Call("GET", "/providers/skyhost.example", "", nil)
	if v["limit_source"] != "default" || v["monthly_limit"].(map[string]any)["amount"] != "100.00" || v["current_spend"].(map[string]any)["amount"] != "0.00" {
		t.Fatalf("default cap view: %v", v)
	}
	if st, _, _ := caps.Call("PUT", "/providers/skyhost.example", "", map[string]any{"monthly_limit": map[string]any{"amount": "12.00", "currency": "USD"}}); st != 200 {
		t.Fatalf("set cap: %d", st)
	}
	pay := map[string]any{"offering_id": "skyhost/static-site", "tier_id": "team", "payment_method": "stripe_spt", "payment_proof": "tok"}
	// Team costs USD 20.00 a month: over a USD 12.00 cap.
	st, _, body := sky.Call("POST", "/provision", "", pay)
	d, _ := body["error"].(map[string]any)["details"].(map[string]any)
	if st != 403 || errCode(body) != "budget_exceeded" || d["limit"] != "12.00" || d["requested_cost"] != "20.00" || d["scope"] != "provider_cap" {
		t.Fatalf("over the cap: %d %v", st, body)
	}
	caps.Call("PUT", "/providers/skyhost.example", "", map[string]any{"monthly_limit": map[string]any{"amount": "45.00", "currency": "USD"}})
	for i, want := range []int{202, 202, 403} {
		if st, _, body := sky.Call("POST", "/provision", "", pay); st != want {
			t.Fatalf("provision %d: %d, want %d: %v", i, st, want, body)
		}
	}
	_, _, v = caps.Call("GET", "/providers/skyhost", "", nil)
	if v["current_spend"].(map[string]any)["amount"] != "40.00" || v["remaining"].(map[string]any)["amount"] != "5.00" || v["status"] != "warning" || len(v["resources"].([]any)) != 2 {
		t.Errorf("cap view after spending: %v", v)
	}
	// Sandboxes never count.
	if st, _, _ := sky.Call("POST", "/provision", "", map[string]any{"offering_id": "skyhost/static-site", "tier_id": "team", "sandbox": map[string]any{"enabled": true}}); st != 202 {
		t.Errorf("sandbox of a paid tier: %d", st)
	}
	if st, _, body := caps.Call("DELETE", "/providers/skyhost.example", "", nil); st != 200 || body["limit_source"] != "default" {
		t.Errorf("delete cap: %d %v", st, body)
	}
	if st, _, _ := caps.Call("PUT", "/global", "", map[string]any{"monthly_limit": map[string]any{"amount": "-1", "currency": "USD"}}); st != 400 {
		t.Errorf("negative cap: %d", st)
	}
	if st, _, _ := caps.Call("PUT", "/providers/skyhost.example", "", map[string]any{"monthly_limit": map[string]any{"amount": "5.00", "currency": "USD"}}, "Origin", "http://evil.example"); st != 403 {
		t.Errorf("cross-origin cap change: %d", st)
	}
	if st, _, _ := caps.Call("GET", "/providers/nope", "", nil); st != 404 {
		t.Errorf("unknown provider: %d", st)
	}
}

// TestCapIsAtomicUnderConcurrency sends 500 concurrent paid provisions against a cap that allows
// exactly K of them: exactly K succeed and the spend never passes the cap.
func TestCapIsAtomicUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	const k = 7
	caps := agent{T: t, Base: f.srv.URL + "/ospbox/v1/caps"}
	// Standard object storage costs USD 5.00 a month: the cap allows exactly 7.
	caps.Call("PUT", "/providers/skyhost.example", "", map[string]any{"monthly_limit": map[string]any{"amount": "35.00", "currency": "USD"}})
	body := `{"offering_id":"skyhost/object-storage","tier_id":"standard","payment_method":"stripe_spt","payment_proof":"tok"}`
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	var ok, blocked, other atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, err := client.Post(f.srv.URL+"/providers/skyhost/osp/v1/provision", "application/json", strings.NewReader(body))
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 202:
				ok.Add(1)
			case 403:
				blocked.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != k || blocked.Load() != 500-k || other.Load() != 0 {
		t.Errorf("succeeded %d, blocked %d, other %d; want %d, %d, 0", ok.Load(), blocked.Load(), other.Load(), k, 500-k)
	}
	_, _, v := caps.Call("GET", "/providers/skyhost.example", "", nil)
	if v["current_spend"].(map[string]any)["amount"] != "35.00" {
		t.Errorf("spend %v", v["current_spend"])
	}
}
