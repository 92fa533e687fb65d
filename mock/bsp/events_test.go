package bsp_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// sseReader reads frames from an event stream.
type sseReader struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openStream(t *testing.T, url string, hdr map[string]string) *sseReader {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next frame's id and data, or a comment as id "" and data ": …".
func (s *sseReader) next(t *testing.T) (id, data string) {
	t.Helper()
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if id != "" || data != "" {
				return id, data
			}
		case strings.HasPrefix(line, ":"):
			return "", line
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
	t.Fatalf("stream ended: %v", s.sc.Err())
	return "", ""
}

func (s *sseReader) nextEvent(t *testing.T) (id, typ string) {
	t.Helper()
	for {
		id, data := s.next(t)
		if id == "" {
			continue
		}
		var e map[string]any
		json.Unmarshal([]byte(data), &e)
		if e["id"] != id {
			t.Fatalf("frame id %s does not match envelope %s", id, data)
		}
		return id, e["type"].(string)
	}
}

func TestBSPStreamResumesWithExactlyTheMissedEvents(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", `, "sse_keepalive_seconds": 1`, nil)
	base := f.URL + bspBase("0.8")
	send := func(i int) {
		ds := base + "/commands/place-order/1.0"
		if r, b := f.Fetch(t, "POST", bspBase("0.8")+"/commands", bearer, strings.NewReader(command("s"+strconv.Itoa(i), "PlaceOrder", ds, fmt.Sprintf(`{"orderId": "o-%d"}`, i)))); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, b)
		}
	}
	st := openStream(t, base+"/events/stream", bearer)
	send(1)
	send(2)
	id1, _ := st.nextEvent(t)
	id2, _ := st.nextEvent(t)
	if id1 == id2 {
		t.Fatal("two events, one id")
	}
	st.resp.Body.Close() // the connection drops
	for i := 3; i <= 5; i++ {
		send(i)
	}
	all := bspEvents(t, f, bspBase("0.8")+"/events")
	var want []string
	for _, e := range all.Events[2:] {
		want = append(want, e["id"].(string))
	}
	st = openStream(t, base+"/events/stream", map[string]string{"Authorization": bearer["Authorization"], "Last-Event-ID": id2})
	var got []string
	for range 3 {
		id, _ := st.nextEvent(t)
		got = append(got, id)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replay after %s: got %v, want %v", id2, got, want)
	}
	send(6)
	if id, _ := st.nextEvent(t); id == want[2] || id == "" {
		t.Errorf("live after replay: %s", id)
	}
	// The keepalive arrives within its interval when nothing happens.
	if _, c := st.next(t); c != ": keepalive" {
		t.Errorf("keepalive: %q", c)
	}
	st = openStream(t, base+"/events/stream", map[string]string{"Authorization": bearer["Authorization"], "Last-Event-ID": "no-such-event"})
	if _, c := st.next(t); c != ": last-event-id-unknown" {
		t.Errorf("unknown Last-Event-ID: %q", c)
	}
	// Filters on the stream.
	st = openStream(t, base+"/events/stream?correlationId=s8", bearer)
	send(7)
	send(8)
	if _, typ := st.nextEvent(t); typ != "OrderPlaced" {
		t.Errorf("filtered stream: %s", typ)
	}
}

func TestBSPSlowStreamNeitherBlocksNorLoses(t *testing.T) {
	f := bspWorkspace(t, "0.8", `{"type": "none"}`, "", nil)
	base := f.URL + bspBase("0.8")
	slow := openStream(t, base+"/events/stream", nil)
	fast := openStream(t, base+"/events/stream", nil)
	const n = bsp.StreamBuffer * 3
	done := make(chan struct{})
	var fastIDs []string
	go func() {
		defer close(done)
		for range n {
			id, _ := fast.nextEvent(t)
			fastIDs = append(fastIDs, id)
		}
	}()
	start := time.Now()
	for i := range n {
		if _, err := f.BSP().Emit(context.Background(), "io.bsp.agents", "Tick", fmt.Appendf(nil, `{"i": %d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("publishing waited on the slow reader: %v", d)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the fast reader did not get every event")
	}
	// The slow reader now reads: it gets every event, in order, from its buffer and the log.
	for i := range n {
		id, _ := slow.nextEvent(t)
		if id != fastIDs[i] {
			t.Fatalf("slow reader event %d: %s, want %s", i, id, fastIDs[i])
		}
	}
}

func TestBSPWebhookDeliveriesAreSigned(t *testing.T) {
	// The spec's test vector.
	body := `{"specversion":"1.0","id":"3f9c2a71-5b0e-4c8d-9e62-7a41d0b5c913","source":"http://127.0.0.1:7410/bsp/io.bsp.agents","type":"CounterProposed","datacontenttype":"application/json","dataschema":"http://127.0.0.1:7410/bsp/io.bsp.agents/events/counter-proposed/1.0","time":"2026-04-10T09:20:00Z","data":{"salary":100000,"startDate":"2026-09-01"}}`
	if len(body) != 341 || kernel.SignWebhook("bsp-demo-secret", 1775812800, []byte(body)) != "t=1775812800,v1=9db04b6e29bff23e615a1eb7f4a28ba6d95070586e78da7e9fb8d9bdbc8238b0" {
		t.Fatal("the signature does not reproduce spec/bsp.md §10.4")
	}
	for _, gen := range []string{"0.8", "0.9"} {
		t.Run(gen, func(t *testing.T) {
			type got struct {
				hdr  http.Header
				body []byte
			}
			var mu sync.Mutex
			var received []got
			fails := 1
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				received = append(received, got{r.Header.Clone(), b})
				if fails > 0 {
					fails--
					w.WriteHeader(500)
					return
				}
				w.WriteHeader(204)
			}))
			defer recv.Close()
			f := bspWorkspace(t, gen, "", "", map[string]string{})
			os.WriteFile(filepath.Join(f.Dir, "ospbox.json"), []byte(`{"name": "t", "webhooks": {"allow_loopback": true}, "bsp": {"credentials": [{"token": "`+bspTestToken+`", "tenants": ["*"], "allow": ["*"]}]}}`), 0o644)
			f.Reload(context.Background())
			base := bspBase(gen)
			r, b := f.Fetch(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"webhook": {"url": "`+recv.URL+`/hook", "secret": "s3cret"}, "filter": {"types": ["OrderPlaced"]}}`))
			if r.StatusCode != 201 || strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), `"id":"sub_`) {
				t.Fatalf("subscribe: %d %s", r.StatusCode, b)
			}
			var sub struct{ ID string }
			json.Unmarshal(b, &sub)
			if r, b := f.Fetch(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"webhook": {"url": "`+recv.URL+`/hook"}, "filter": {"types": ["OrderPlaced"]}}`)); r.StatusCode != 409 || bspCode(t, b) != "DUPLICATE_SUBSCRIPTION" {
				t.Errorf("duplicate: %d %s", r.StatusCode, b)
			}
			for _, bad := range []string{`{"webhook": {"url": "http://10.0.0.1/x"}}`, `{"webhook": {"url": "https://user:pw@example.com/x"}}`} {
				if r, b := f.Fetch(t, "POST", base+"/subscriptions", bearer, strings.NewReader(bad)); r.StatusCode != 400 || bspCode(t, b) != "WEBHOOK_URL_REJECTED" {
					t.Errorf("%s: %d %s", bad, r.StatusCode, b)
				}
			}
			if r, b := f.Fetch(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"webhook": {"url": "https://a.example/"}, "colour": 1}`)); r.StatusCode != 400 || bspCode(t, b) != "INVALID_REQUEST" {
				t.Errorf("closed body: %d %s", r.StatusCode, b)
			}
			ds := f.URL + base + "/commands/place-order/1.0"
			f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("w1", "PlaceOrder", ds, `{"orderId": "o"}`)))
			f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("w2", "CancelOrder", f.URL+base+"/commands/cancel-order/1.0", `{}`)))
			eventually(5*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(received) >= 2
			})
			mu.Lock()
			got2 := append([]got(nil), received...)
			mu.Unlock()
			if len(got2) != 2 {
				t.Fatalf("want a failed attempt and its retry, got %d deliveries", len(got2))
			}
			prefix, ctype := "X-Bsp-", "application/json"
			if gen == "0.9" {
				prefix, ctype = "X-Best-", "application/cloudevents+json"
			}
			for i, d := range got2 {
				h := d.hdr
				ts, _ := strconv.ParseInt(h.Get(prefix+"Timestamp"), 10, 64)
				mac := hmac.New(sha256.New, []byte("s3cret"))
				fmt.Fprintf(mac, "%d.%s", ts, d.body)
				want := "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac.Sum(nil))
				if h.Get(prefix+"Signature") != want || h.Get("Content-Type") != ctype || h.Get(prefix+"Subscription-Id") != sub.ID ||
					h.Get(prefix+"Delivery-Attempt") != strconv.Itoa(i+1) || !strings.Contains(string(d.body), `"type":"OrderPlaced"`) ||
					!strings.Contains(string(d.body), `"id":"`+h.Get(prefix+"Delivery-Id")+`"`) {
					t.Errorf("delivery %d: %v %s", i+1, h, d.body)
				}
			}
			var ds2 []storage.Delivery
			eventually(5*time.Second, func() bool { // the attempt is recorded once the receiver has answered
				ds2, _ = f.DB.RecentDeliveries(context.Background(), 10)
				return len(ds2) == 1 && ds2[0].Status == "delivered"
			})
			if len(ds2) != 1 || ds2[0].Status != "delivered" || ds2[0].Attempts != 2 {
				t.Errorf("recorded attempts: %+v", ds2)
			}
			if r, _ := f.Fetch(t, "DELETE", base+"/subscriptions/"+sub.ID, map[string]string{"Authorization": "Bearer other"}, nil); r.StatusCode != 401 {
				t.Errorf("delete with a wrong credential: %d", r.StatusCode)
			}
			if r, _ := f.Fetch(t, "DELETE", base+"/subscriptions/"+sub.ID, bearer, nil); r.StatusCode != 204 {
				t.Errorf("delete: %d", r.StatusCode)
			}
			if r, b := f.Fetch(t, "DELETE", base+"/subscriptions/"+sub.ID, bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "SUBSCRIPTION_NOT_FOUND" {
				t.Errorf("delete again: %d %s", r.StatusCode, b)
			}
		})
	}
}

func TestBSPCapabilityGatingAndRoutes(t *testing.T) {
	manifest := `{"bsp": {"version": "0.8.1", "authentication": {"type": "bearer"},
		"services": {"io.bsp.agents": {"version": "0.8.1", "description": "a", "http": {"endpoint": "https://agents.example/"}}},
		"capabilities": [
			{"name": "io.bsp.agents.commands", "version": "0.8.1", "description": "c", "spec": "https://x.example/c", "schema": "https://x.example/c.json", "status": "partial", "endpoints": [{"method": "GET", "path": "/commands"}]},
			{"name": "io.bsp.agents.queries", "version": "0.8.1", "description": "q", "spec": "https://x.example/q", "schema": "https://x.example/q.json", "status": "planned"}]}}`
	f := bspWorkspace(t, "0.8", "", "", map[string]string{"bsp/manifest.json": manifest})
	base := bspBase("0.8")
	checks := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/commands", 200, ""},
		{"POST", "/commands", 422, "CAPABILITY_NOT_SUPPORTED"},
		{"GET", "/queries", 422, "CAPABILITY_NOT_SUPPORTED"},
		{"GET", "/events", 422, "CAPABILITY_NOT_SUPPORTED"},
		{"GET", "/services", 404, "NOT_FOUND"},
		{"PUT", "/commands", 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/nothing", 404, "NOT_FOUND"},
	}
	for _, c := range checks {
		r, b := f.Fetch(t, c.method, base+c.path, bearer, strings.NewReader("{}"))
		if r.StatusCode != c.status || c.code != "" && bspCode(t, b) != c.code {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode, b)
		}
		if c.status == 405 && r.Header.Get("Allow") != "GET, POST" {
			t.Errorf("Allow: %q", r.Header.Get("Allow"))
		}
	}
	if r, b := f.Fetch(t, "GET", "/bsp/io.nope/commands", bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "NOT_FOUND" {
		t.Errorf("unknown service: %d %s", r.StatusCode, b)
	}
}

func TestBSPQueries(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	base := bspBase("0.8")
	_, b := f.Fetch(t, "GET", base+"/queries", bearer, nil)
	if !strings.Contains(string(b), `"dataschema":"`+f.URL+base+`/queries/order-status/1.0"`) {
		t.Errorf("query catalogue: %s", b)
	}
	r, b := f.Fetch(t, "GET", base+"/queries/order-status?orderId=o-1&limit=3&tags=a&tags=b&full=true", bearer, nil)
	var res map[string]any
	json.Unmarshal(b, &res)
	if r.StatusCode != 200 || res["status"] != "placed" || res["at"] != "2026-01-01T00:00:00Z" || res["orderId"] != "" {
		t.Errorf("minimal result: %d %s", r.StatusCode, b)
	}
	for _, q := range []string{"", "orderId=o&limit=x", "orderId=o&limit=11", "orderId=o&full=yes", "orderId=o&colour=red", "orderId=a&orderId=b"} {
		if r, b := f.Fetch(t, "GET", base+"/queries/order-status?"+q, bearer, nil); r.StatusCode != 400 || bspCode(t, b) != "INVALID_QUERY_PARAMETERS" {
			t.Errorf("%q: %d %s", q, r.StatusCode, b)
		}
	}
	// A request's errors speak of the request, not of a manifest.
	_, b = f.Fetch(t, "GET", base+"/queries/order-status", bearer, nil)
	if !strings.Contains(string(b), `missing required member \"orderId\" in the query parameters`) || strings.Contains(string(b), "manifest") {
		t.Errorf("a missing parameter: %s", b)
	}
	if r, _ := f.Fetch(t, "GET", base+"/queries/nope", bearer, nil); r.StatusCode != 404 {
		t.Errorf("unknown query: %d", r.StatusCode)
	}
	if r, b := f.Fetch(t, "GET", base+"/queries/order-status/1.0", bearer, nil); r.StatusCode != 200 || !strings.Contains(string(b), "parameters") {
		t.Errorf("query document: %d %s", r.StatusCode, b)
	}
}

func TestBSPRegistryAndLifecycle06(t *testing.T) {
	f := bspWorkspace(t, "0.6", "", `, "heartbeat_window_seconds": 60`, nil)
	base := bspBase("0.6")
	ds := f.URL + base + "/commands/place-order/1.0"
	if r, _ := f.Fetch(t, "POST", base+"/services/fulfilment/pause", bearer, nil); r.StatusCode != 204 {
		t.Fatalf("pause: %d", r.StatusCode)
	}
	if _, b := f.Fetch(t, "GET", "/.well-known/bsp", nil, nil); !strings.Contains(string(b), `"status": "paused"`) {
		t.Errorf("discovery shows the live status: %s", b)
	}
	f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("q1", "PlaceOrder", ds, `{"orderId": "a"}`)))
	f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("q2", "PlaceOrder", ds, `{"orderId": "b"}`)))
	if p := bspEvents(t, f, base+"/events"); len(p.Events) != 0 {
		t.Fatalf("a paused handler produced %d events", len(p.Events))
	}
	if r, _ := f.Fetch(t, "POST", base+"/services/fulfilment/resume", bearer, nil); r.StatusCode != 204 {
		t.Fatalf("resume: %d", r.StatusCode)
	}
	p := bspEvents(t, f, base+"/events")
	if len(p.Events) != 2 || p.Events[0]["data"].(map[string]any)["orderId"] != "a" || p.Events[1]["data"].(map[string]any)["orderId"] != "b" {
		t.Fatalf("queued commands in arrival order after resume: %+v", p.Events)
	}
	reg := `{"id": "billing", "name": "Billing", "accepts": ["CancelOrder"], "produces": ["OrderCancelled"], "webhook": {"url": "https://billing.example/hook", "secret": "x"}}`
	r, b := f.Fetch(t, "POST", base+"/services", bearer, strings.NewReader(reg))
	if r.StatusCode != 200 || !strings.Contains(string(b), `"status":"running"`) || strings.Contains(string(b), `"secret"`) {
		t.Errorf("register: %d %s", r.StatusCode, b)
	}
	if r, b := f.Fetch(t, "POST", base+"/services", bearer, strings.NewReader(`{"id": "x", "accepts": ["lower"]}`)); r.StatusCode != 400 || bspCode(t, b) != "INVALID_REQUEST" {
		t.Errorf("invalid registration: %d %s", r.StatusCode, b)
	}
	_, b = f.Fetch(t, "GET", base+"/services", bearer, nil)
	if !strings.Contains(string(b), `"id":"fulfilment"`) || !strings.Contains(string(b), `"id":"billing"`) {
		t.Errorf("services: %s", b)
	}
	if r, b := f.Fetch(t, "POST", base+"/subscriptions", bearer, strings.NewReader(`{"serviceId": "ghost", "webhook": {"url": "https://a.example/"}}`)); r.StatusCode != 400 || bspCode(t, b) != "INVALID_REQUEST" {
		t.Errorf("0.6 serviceId must exist: %d %s", r.StatusCode, b)
	}
	// Heartbeats: silence beyond the window is an error; the next heartbeat restores.
	f.Fetch(t, "POST", base+"/services/billing/heartbeat", bearer, nil)
	if err := f.AdvanceClock(context.Background(), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := f.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, b := f.Fetch(t, "GET", base+"/services/billing", bearer, nil); !strings.Contains(string(b), `"status":"error"`) {
		t.Errorf("silent service: %s", b)
	}
	f.Fetch(t, "POST", base+"/services/billing/heartbeat", bearer, nil)
	if _, b := f.Fetch(t, "GET", base+"/services/billing", bearer, nil); !strings.Contains(string(b), `"status":"running"`) {
		t.Errorf("after a heartbeat: %s", b)
	}
	if r, _ := f.Fetch(t, "DELETE", base+"/services/billing", bearer, nil); r.StatusCode != 204 {
		t.Errorf("delete: %d", r.StatusCode)
	}
	if r, b := f.Fetch(t, "GET", base+"/services/billing", bearer, nil); r.StatusCode != 404 || bspCode(t, b) != "SERVICE_NOT_FOUND" {
		t.Errorf("deleted: %d %s", r.StatusCode, b)
	}
	// 0.8 has no registry.
	g := bspWorkspace(t, "0.8", "", "", nil)
	if r, _ := g.Fetch(t, "GET", bspBase("0.8")+"/services", bearer, nil); r.StatusCode != 404 {
		t.Errorf("registry in 0.8: %d", r.StatusCode)
	}
}

func TestOSPEventsArePublishedOnTheBSPStream(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	r, b := f.Fetch(t, "POST", "/osp/v1/provision", map[string]string{"Content-Type": "application/json"},
		strings.NewReader(`{"offering_id": "acmedb/redis", "tier_id": "free", "project_name": "p", "nonce": "nonce-bsp-1", "sandbox": {"ttl_seconds": 3600}}`))
	if r.StatusCode != 201 {
		t.Fatalf("provision: %d %s", r.StatusCode, b)
	}
	var p eventPage
	eventually(5*time.Second, func() bool { // published just after the OSP commit, off the provisioning path
		p = bspEvents(t, f, bspBase("0.8")+"/events?type=OspResourceProvisioned")
		return len(p.Events) > 0
	})
	if len(p.Events) != 1 || !strings.Contains(fmt.Sprint(p.Events[0]["data"]), "resource.provisioned") {
		t.Errorf("OSP event on the BSP log: %+v", p.Events)
	}
}

func mustParse(t testing.TB, s string) *jsondoc.Node {
	t.Helper()
	doc, err := jsondoc.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc.Root
}

// eventually polls cond until it holds or timeout passes; the caller asserts afterwards.
func eventually(timeout time.Duration, cond func() bool) {
	for end := time.Now().Add(timeout); !cond() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}

// A queued command runs with the schema version it named, not the newest one.
func TestBSPQueuedCommandKeepsItsVersion(t *testing.T) {
	f := bspWorkspace(t, "0.6", "", "", nil)
	base := bspBase("0.6")
	f.Fetch(t, "POST", base+"/services/fulfilment/pause", bearer, nil)
	v1 := f.URL + base + "/commands/place-order/1.0"
	v2 := f.URL + base + "/commands/place-order/2.0"
	f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("k1", "PlaceOrder", v1, `{"orderId": "a"}`)))
	f.Fetch(t, "POST", base+"/commands", bearer, strings.NewReader(command("k2", "PlaceOrder", v2, `{"orderId": "b"}`)))
	f.Fetch(t, "POST", base+"/services/fulfilment/resume", bearer, nil)
	if p := bspEvents(t, f, base+"/events?correlationId=k1"); len(p.Events) != 1 || p.Events[0]["data"].(map[string]any)["v"] != nil {
		t.Errorf("1.0 command after resume: %+v", p.Events)
	}
	var p eventPage
	eventually(3*time.Second, func() bool {
		p = bspEvents(t, f, base+"/events?correlationId=k2")
		return len(p.Events) == 2
	})
	if len(p.Events) != 2 || p.Events[0]["data"].(map[string]any)["v"] != 2.0 || p.Events[1]["type"] != "OrderShipped" {
		t.Errorf("2.0 command after resume: %+v", p.Events)
	}
}

// A credential under a header or query name that does not look secret is still redacted.
func TestBSPCredentialsAreRedactedFromTheRequestLog(t *testing.T) {
	for _, auth := range []string{`{"type": "apiKey", "scheme": "X-Shop-Key"}`, `{"type": "apiKey", "scheme": "shop", "in": "query"}`} {
		f := bspWorkspace(t, "0.8", auth, "", nil)
		f.Fetch(t, "GET", "/bsp/io.bsp.agents/commands?shop="+bspTestToken, map[string]string{"X-Shop-Key": bspTestToken}, nil)
		f.FlushRequestLog()
		reqs, err := f.DB.RecentRequests(context.Background(), 5)
		if err != nil || len(reqs) == 0 {
			t.Fatalf("requests %v %v", reqs, err)
		}
		full, err := f.DB.RequestByID(context.Background(), reqs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(full.Path, bspTestToken) || strings.Contains(full.RequestHeaders, bspTestToken) || !strings.Contains(full.RequestHeaders, "X-Shop-Key") {
			t.Errorf("%s: logged %s %s", auth, full.Path, full.RequestHeaders)
		}
	}
}

// TestBSPStreamCutByAScenarioRule: a rule cuts an unmodified client's event stream after two
// events; the client reconnects with Last-Event-ID and gets exactly the event it missed.
func TestBSPStreamCutByAScenarioRule(t *testing.T) {
	f := bspWorkspace(t, "0.8", "", "", nil)
	base := f.URL + bspBase("0.8")
	if r, b := f.Fetch(t, "POST", "/ospbox/v1/scenarios", nil, strings.NewReader(`{"id":"cut","match":{"operation":"bsp.stream"},"when":{"times":1},"effect":{"stream":"drop_after","events":2}}`)); r.StatusCode != 201 {
		t.Fatalf("rule: %d %s", r.StatusCode, b)
	}
	send := func(i int) {
		ds := base + "/commands/place-order/1.0"
		if r, b := f.Fetch(t, "POST", bspBase("0.8")+"/commands", bearer, strings.NewReader(command("c"+strconv.Itoa(i), "PlaceOrder", ds, fmt.Sprintf(`{"orderId": "o-%d"}`, i)))); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, b)
		}
	}
	st := openStream(t, base+"/events/stream", bearer)
	for i := 1; i <= 3; i++ {
		send(i)
	}
	st.nextEvent(t)
	id2, _ := st.nextEvent(t)
	ended := make(chan bool, 1)
	go func() {
		for st.sc.Scan() {
			if strings.HasPrefix(st.sc.Text(), "id: ") {
				ended <- false
				return
			}
		}
		ended <- true
	}()
	select {
	case cut := <-ended:
		if !cut {
			t.Fatal("a third event came through the cut stream")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream was not cut after two events")
	}
	all := bspEvents(t, f, bspBase("0.8")+"/events")
	want := all.Events[2]["id"].(string)
	st = openStream(t, base+"/events/stream", map[string]string{"Authorization": bearer["Authorization"], "Last-Event-ID": id2})
	if got, _ := st.nextEvent(t); got != want {
		t.Errorf("after reconnecting: %s, want the missed %s", got, want)
	}
}
