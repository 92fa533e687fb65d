package mock

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// TestWebhookSignatureVector is spec/osp.md §23.6.
func TestWebhookSignatureVector(t *testing.T) {
	body := `{"event_id":"evt_01js4mb2c3d4e5f6g7h8j9k0mn","event_type":"resource.sandbox_expiring","event":"resource.sandbox_expiring","resource_id":"res_01js4m6x8d2q9r7t5v3w1y0zab","offering_id":"acmedb/postgres","timestamp":"2026-04-11T08:00:00Z","data":{"expires_at":"2026-04-11T09:00:00Z","ttl_event":{"action":"expiring","ttl_remaining_seconds":3600,"original_ttl_seconds":86400,"extension_available":false}},"delivery_attempt":1,"provider_signature":"Jj3pRzlP6PKgvdIgu_14PmKts1tUY5Bfkz-p_yQuhvDFSN_5eGTDgalQbw82ll9I9x3Azye1tLTbX2-9xa-1Dw"}`
	if len(body) != 532 {
		t.Fatalf("body is %d bytes", len(body))
	}
	if got := kernel.SignWebhook("whsec_9Qm2Xr7LkP4tVb8N", 1775894400, []byte(body)); got != "t=1775894400,v1=d0fbf584e6e4c8bd127d9b9a40632f1cff990eaa153d0036060a4a0f52a6f318" {
		t.Errorf("signature %s", got)
	}
	doc, _ := jsondoc.Parse([]byte(body))
	sig, _ := manifests.DecodeB64(doc.Root.Str("provider_signature"))
	doc.Root.Delete("provider_signature")
	seed, _ := hex.DecodeString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	if !ed25519.Verify(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), jsondoc.Canonical(doc.Root), sig) {
		t.Error("provider_signature of the vector does not verify")
	}
}

func TestWebhookTargets(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://hooks.example.com/x": true, "http://hooks.example.com/x": false, "https://user:pw@hooks.example.com/": false,
		"https://10.0.0.5/x": false, "https://169.254.1.1/": false, "https://printer.local/": false, "https://intranet/": false,
		"https://svc.internal/": false, "http://127.0.0.1:9/": false, "https://100.64.1.1/": false,
	} {
		if err := kernel.WebhookTargetError(url, false); (err == nil) != ok {
			t.Errorf("%s: %v", url, err)
		}
	}
	if err := kernel.WebhookTargetError("http://127.0.0.1:9/hook", true); err != nil {
		t.Errorf("loopback with allow_loopback: %v", err)
	}
	if err := kernel.WebhookTargetError("http://10.0.0.1/hook", true); err == nil {
		t.Error("allow_loopback does not open private ranges")
	}
}

func TestWebhookDeliveryWithRetries(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(filepath.Join(f.dir, "ospbox.json"), []byte(`{"name": "sample", "osp": {"default_provider": "acmedb"}, "webhooks": {"allow_loopback": true}}`), 0o644)
	f.sb.ReloadPaths(t.Context(), []string{"ospbox.json"})
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	fails := 1
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, b)
		if fails > 0 {
			fails--
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(204)
	}))
	defer recv.Close()
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	_, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	id := res["resource_id"].(string)
	if st, _, b := a.Call("POST", "/webhooks/"+id, "", map[string]any{"webhook_url": "https://10.1.2.3/hook"}); st != 400 || b["error"].(map[string]any)["details"].(map[string]any)["field"] != "webhook_url" {
		t.Errorf("private target: %d %v", st, b)
	}
	st, _, reg := a.Call("POST", "/webhooks/"+id, "", map[string]any{"webhook_url": recv.URL + "/hook", "events": []string{"credentials.rotated"}})
	secret, _ := reg["secret"].(string)
	if st != 200 || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("register: %d %v", st, reg)
	}
	a.Call("POST", "/resources/"+id+"/credentials", "", map[string]any{}) // credentials.rotated
	a.Call("DELETE", "/resources/"+id, "", nil)                           // not subscribed
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("want a failed attempt and a retry, got %d deliveries", len(got))
	}
	r := got[1]
	if r.Header.Get("X-OSP-Delivery-Attempt") != "2" {
		t.Errorf("attempt header %q", r.Header.Get("X-OSP-Delivery-Attempt"))
	}
	ts := r.Header.Get("X-OSP-Timestamp")
	var tsN int64
	json.Unmarshal([]byte(ts), &tsN)
	if kernel.SignWebhook(secret, tsN, bodies[1]) != r.Header.Get("X-OSP-Signature") {
		t.Error("HMAC signature does not verify with the secret")
	}
	var env map[string]any
	json.Unmarshal(bodies[1], &env)
	if env["event_type"] != "credentials.rotated" || env["delivery_attempt"] != float64(2) || env["provider_signature"] == nil {
		t.Errorf("envelope %v", env)
	}
	// The attempt is recorded once the receiver has answered: wait for it.
	ds, _ := f.db.DeliveriesOf(t.Context(), id)
	for ; len(ds) == 1 && ds[0].Attempts < 2 && time.Now().Before(deadline); ds, _ = f.db.DeliveriesOf(t.Context(), id) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(ds) != 1 || ds[0].Attempts != 2 || ds[0].Status != "delivered" {
		t.Errorf("recorded attempts: %+v", ds)
	}
}

func TestWebhookURLAtProvisioning(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	if st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "webhook_url": "http://127.0.0.1:1/x"}); st != 400 || errCode(b) != "invalid_request" {
		t.Errorf("loopback target without allow_loopback: %d %v", st, b)
	}
	st, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "webhook_url": "https://hooks.example.com/osp"})
	creds := res["credentials_bundle"].(map[string]any)["credentials"].(map[string]any)
	if st != 201 || !strings.HasPrefix(creds["osp_webhook_secret"].(string), "whsec_") {
		t.Errorf("webhook secret in the credentials: %d %v", st, creds)
	}
}

func TestFaultInjection(t *testing.T) {
	f := newFixture(t)
	a := agent{T: t, Base: f.srv.URL + "/providers/acmedb/osp/v1"}
	free := map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}
	if st, h, b := a.Call("POST", "/provision", "", free, "X-Ospbox-Fault", "capacity_exhausted; retry_after=9"); st != 503 || errCode(b) != "capacity_exhausted" || h.Get("Retry-After") != "9" {
		t.Errorf("capacity: %d %v", st, b)
	}
	if st, _, b := a.Call("POST", "/provision", "", free, "X-Ospbox-Fault", "offering_not_found"); st != 400 || errCode(b) != "invalid_offering" {
		t.Errorf("synonym: %d %v", st, b)
	}
	// Faults come after every check: a bad tier still answers invalid_tier.
	if st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "x"}, "X-Ospbox-Fault", "capacity_exhausted"); st != 400 || errCode(b) != "invalid_tier" {
		t.Errorf("order: %d %v", st, b)
	}
	st, _, res := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "free"}, "X-Ospbox-Fault", "provisioning_failed")
	if st != 202 {
		t.Fatalf("async failure accepted first: %d %v", st, res)
	}
	agent{T: t, Base: f.srv.URL + "/ospbox/v1/clock"}.Call("POST", "/advance", "", map[string]any{"seconds": 30})
	_, _, status := a.Call("GET", "/resources/"+res["resource_id"].(string), "", nil)
	if status["status"] != "error" || status["error"] == nil || status["credentials_bundle"] != nil {
		t.Errorf("failed provisioning: %v", status)
	}
}
