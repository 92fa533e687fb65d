package mock_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/osp"
)

// specSettings is the settings table of the protocol profile (spec/README.md, "Settings
// referenced in these pages"), which this test walks.
const specSettings = "../../shared/spec/README.md"

// settingProbe makes a setting visible: observe does the same thing against a workspace with
// the setting at its default and with value, and the two observations must differ.
type settingProbe struct {
	value   any               // the setting's value, not its default
	files   map[string]string // workspace files beside ospbox.json
	observe func(t *testing.T, f *mocktest.Sandbox) string
}

const bspToken = "bsp_sk_settings"

// TestEverySettingChangesBehaviour reads every setting the profile documents and proves each
// one changes what ospbox does: a setting that is documented works.
func TestEverySettingChangesBehaviour(t *testing.T) {
	names := documentedSettings(t)
	for _, name := range names {
		p, ok := settingProbes[name]
		if !ok {
			t.Errorf("%s is documented in spec/README.md but no probe shows what it changes", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			off := p.observe(t, mocktest.NewWith(t, workspaceWith(t, "", nil, p.files)))
			on := p.observe(t, mocktest.NewWith(t, workspaceWith(t, name, p.value, p.files)))
			t.Logf("default: %s; with %v: %s", off, p.value, on)
			if off == on {
				t.Errorf("with %s = %v ospbox behaves as without it: %s", name, p.value, on)
			}
		})
	}
	for name := range settingProbes {
		if !contains(names, name) {
			t.Errorf("probe for %s, which spec/README.md does not document", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// documentedSettings reads the names in the first column of the settings table.
func documentedSettings(t *testing.T) []string {
	t.Helper()
	file, err := os.Open(specSettings)
	if err != nil {
		t.Skipf("the protocol profile is not beside this checkout (%v)", err)
	}
	defer file.Close()
	var names []string
	in := false
	code := regexp.MustCompile("`([a-z_.]+)`")
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "### Settings referenced"):
			in = true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in && strings.HasPrefix(line, "| `"):
			first := strings.SplitN(line, "|", 3)[1]
			for _, m := range code.FindAllStringSubmatch(first, -1) {
				names = append(names, m[1])
			}
		}
	}
	if len(names) < 20 {
		t.Fatalf("found %d settings in %s; the table moved?", len(names), specSettings)
	}
	return names
}

// workspaceWith is ospbox.json with the setting name (dotted) set to value over a base that
// names the default provider and a BSP credential, plus files.
func workspaceWith(t *testing.T, name string, value any, files map[string]string) map[string]string {
	cfg := map[string]any{"name": "settings", "osp": map[string]any{"default_provider": "acmedb"},
		"bsp": map[string]any{"credentials": []any{map[string]any{"token": bspToken, "tenants": []any{"*"}, "allow": []any{"*"}}}}}
	if name != "" {
		m := cfg
		parts := strings.Split(name, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = value
	}
	raw, _ := json.Marshal(cfg)
	out := map[string]string{"ospbox.json": string(raw)}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// provision posts a provision body as an agent would and returns "status code".
func provision(t *testing.T, f *mocktest.Sandbox, body map[string]any, token string, hdr ...string) string {
	a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	st, _, b := a.Call("POST", "/provision", token, body, hdr...)
	return fmt.Sprint(st, " ", agenttest.ErrCode(b))
}

var free = map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"}

func with(body map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for key, val := range body {
		out[key] = val
	}
	out[k] = v
	return out
}

func bspCall(t *testing.T, f *mocktest.Sandbox, method, path, body string) (*http.Response, []byte) {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	hdr := map[string]string{"X-Api-Key": bspToken, "Content-Type": "application/json"}
	if rd == nil {
		return f.Fetch(t, method, path, hdr, nil)
	}
	return f.Fetch(t, method, path, hdr, rd)
}

func placeOrder(id string) string {
	return fmt.Sprintf(`{"specversion": "1.0", "id": %q, "source": "agent://settings", "type": "PlaceOrder", "datacontenttype": "application/json",
		"dataschema": "https://agents.shop.example/commands/place-order/1.0", "time": "2026-04-10T09:20:00Z", "data": {"orderId": "o", "items": [{"sku": "s", "quantity": 1}]}}`, id)
}

// tap is a TAP attestation of the spec's test agent for acmedb.
func tap(f *mocktest.Sandbox, lifetime time.Duration, tier int) string {
	priv := ed25519.NewKeyFromSeed(agenttest.Seed())
	return agenttest.TAP(priv, osp.DIDKey(priv.Public().(ed25519.PublicKey)), "acmedb.example", f.Clock().Now, lifetime, tier)
}

// best09 is a BEST 0.9 workspace (the alias and relative dataschemas are 0.9 matters).
var best09 = map[string]string{"bsp/manifest.json": `{"best": {"version": "0.9.1", "authentication": {"type": "apiKey", "scheme": "X-Api-Key", "in": "header"},
  "services": {"io.best.agents": {"version": "0.9.1", "description": "agents", "http": {"endpoint": "https://agents.example/"}}},
  "capabilities": [{"name": "io.best.agents.commands", "version": "0.9.1", "description": "c", "spec": "https://x.example/c", "schema": "https://x.example/c.json"},
    {"name": "io.best.agents.events", "version": "0.9.1", "description": "e", "spec": "https://x.example/e", "schema": "https://x.example/e.json"}],
  "agents": [{"id": "fulfilment", "name": "Fulfilment", "accepts": ["PlaceOrder"], "produces": ["OrderPlaced", "OrderRejected"], "status": "running"}]}}`}

// bsp06 is a BSP 0.6 workspace with the registry and lifecycle (heartbeats are 0.6's).
var bsp06 = map[string]string{"bsp/manifest.json": `{"BSP": {"version": "0.6.2", "authentication": {"type": "apiKey", "scheme": "X-Api-Key", "in": "header"},
  "services": {"io.bsp.agents": {"version": "0.6.2", "description": "agents", "http": {"endpoint": "https://agents.example/"}}},
  "capabilities": [{"name": "io.bsp.agents.commands", "version": "0.6.2", "description": "c", "spec": "https://x.example/c", "schema": "https://x.example/c.json"},
    {"name": "io.bsp.agents.registry", "version": "0.6.2", "description": "r", "spec": "https://x.example/r", "schema": "https://x.example/r.json"},
    {"name": "io.bsp.agents.lifecycle", "version": "0.6.2", "description": "l", "spec": "https://x.example/l", "schema": "https://x.example/l.json", "extends": "io.bsp.agents.registry"}],
  "agents": [{"id": "fulfilment", "name": "Fulfilment", "accepts": ["PlaceOrder"], "produces": ["OrderPlaced"], "status": "running"}]}}`}

var oidcKey = func() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(make([]byte, 32)) }()

var settingProbes = map[string]settingProbe{
	"listen": {value: "127.0.0.1:7999", observe: func(t *testing.T, f *mocktest.Sandbox) string {
		ev, err := f.BSP().Emit(context.Background(), "io.bsp.agents", "OrderPlaced", []byte(`{"orderId": "o"}`))
		if err != nil {
			t.Fatal(err)
		}
		return ev.Source // the events' source is the sandbox host's address
	}},
	"osp.default_provider": {value: "skyhost", observe: func(t *testing.T, f *mocktest.Sandbox) string {
		_, _, m := agenttest.Agent{T: t, Base: f.URL}.Call("GET", "/.well-known/osp.json", "", nil)
		return fmt.Sprint(m["provider_id"])
	}},
	"osp.endpoint_style": {value: "colon", observe: func(t *testing.T, f *mocktest.Sandbox) string {
		_, b := f.Fetch(t, "GET", "/.well-known/osp.json", nil, nil)
		return fmt.Sprint(strings.Contains(string(b), "{resource_id}"))
	}},
	"osp.require_nonce": {value: true, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, "")
	}},
	"osp.strict_nonce": {value: true, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, with(free, "nonce", "x"), "") + "; " +
			provision(t, f, with(free, "nonce", "00000000-0000-0000-0000-000000000000"), "") + "; " +
			provision(t, f, with(free, "nonce", "5f0c2b8e-4d6a-4c1e-9f3a-7b2d8e6c1a90"), "")
	}},
	"osp.auth.strict": {value: true, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, "")
	}},
	"osp.rate_limits.enforce": {value: true, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		var last string
		for range 11 { // provision: 10 a minute
			last = provision(t, f, free, "")
		}
		return last
	}},
	"osp.quotas": {value: map[string]any{"acmedb/redis": 1}, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, "") + "; " + provision(t, f, free, "")
	}},
	"faults.allow_header": {value: false, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, "", "X-Ospbox-Fault", "provider_unavailable")
	}},
	"webhooks.allow_loopback": {value: true, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, with(free, "webhook_url", "http://127.0.0.1:9/hook"), "")
	}},
	"caps.default_monthly_limit": {value: map[string]any{"amount": "1.00", "currency": "USD"}, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"}, "")
	}},
	"caps.fx_rates": {value: map[string]any{"USD": "0.92"}, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		// A EUR cap counts the USD spend only with a rate to convert it.
		f.OSP().Ledger().SetProviderCap(context.Background(), "acmedb", manifests.MoneyAmount{Amount: "100.00", Currency: "EUR"})
		provision(t, f, map[string]any{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "x402", "payment_proof": "p"}, "")
		_, _, caps := agenttest.Agent{T: t, Base: f.URL + "/ospbox/v1/caps"}.Call("GET", "/providers/acmedb", "", nil)
		return fmt.Sprint(caps["current_spend"])
	}},
	"identity.tap.max_lifetime_seconds": {value: 3600, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, tap(f, 2*time.Hour, 1))
	}},
	"identity.tap.max_trust_tier": {value: 1, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, tap(f, time.Hour, 2))
	}},
	"identity.revoked": {value: []any{"did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"}, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, tap(f, time.Hour, 1))
	}},
	"identity.oidc": {value: []any{map[string]any{"issuer": "https://login.example.test", "trust_tier": 1,
		"jwks": map[string]any{"keys": []any{jwk(oidcKey.Public())}}}},
		files: map[string]string{"providers/acmedb/osp.json": acmedbWithFederation()},
		observe: func(t *testing.T, f *mocktest.Sandbox) string {
			return provision(t, f, free, oidcToken(t, f.Clock().Now))
		}},
	"identity.api_keys": {value: []any{map[string]any{"key": "osp_ak_settings", "subject": "agent-1"}}, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		return provision(t, f, free, "osp_ak_settings")
	}},
	"bsp.credentials": {value: []any{map[string]any{"token": "bsp_sk_other", "tenants": []any{"*"}, "allow": []any{"*"}}}, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		r, _ := bspCall(t, f, "GET", "/bsp/io.bsp.agents/commands", "")
		return fmt.Sprint(r.StatusCode)
	}},
	"bsp.legacy_alias": {value: true, files: best09, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		r, _ := f.Fetch(t, "GET", "/.well-known/bsp", nil, nil)
		return fmt.Sprint(r.StatusCode)
	}},
	"bsp.accept_relative_dataschema": {value: true, files: best09, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		cmd := strings.Replace(placeOrder("rel-1"), "https://agents.shop.example/commands/place-order/1.0", "place-order/1.0", 1)
		r, _ := bspCall(t, f, "POST", "/bsp/io.best.agents/commands", cmd)
		return fmt.Sprint(r.StatusCode)
	}},
	"bsp.max_body_bytes": {value: 256, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		r, _ := bspCall(t, f, "POST", "/bsp/io.bsp.agents/commands", placeOrder("big-1"))
		return fmt.Sprint(r.StatusCode)
	}},
	"bsp.idempotency_retention_seconds": {value: 60, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		bspCall(t, f, "POST", "/bsp/io.bsp.agents/commands", placeOrder("again-1"))
		if err := f.AdvanceClock(context.Background(), 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		r, _ := bspCall(t, f, "POST", "/bsp/io.bsp.agents/commands", placeOrder("again-1"))
		return fmt.Sprint(r.StatusCode, " replayed=", r.Header.Get("Idempotent-Replayed"))
	}},
	"bsp.event_log_size": {value: 10, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		for i := range 200 { // the log is trimmed every hundredth append
			if _, err := f.BSP().Emit(context.Background(), "io.bsp.agents", "OrderPlaced", fmt.Appendf(nil, `{"orderId": "o-%d"}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprint(len(f.BSP().Events(context.Background(), 500)))
	}},
	"bsp.sse_keepalive_seconds": {value: 1, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.URL+"/bsp/io.bsp.agents/events/stream", nil)
		req.Header.Set("X-Api-Key", bspToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ": keepalive") {
				return "a keepalive within 2.5 s"
			}
		}
		return "no keepalive within 2.5 s"
	}},
	"bsp.heartbeat_window_seconds": {value: 600, files: bsp06, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		reg := `{"id": "billing", "name": "Billing", "accepts": ["CancelOrder"], "produces": ["OrderCancelled"]}`
		bspCall(t, f, "POST", "/bsp/io.bsp.agents/services", reg)
		bspCall(t, f, "POST", "/bsp/io.bsp.agents/services/billing/heartbeat", "")
		if err := f.AdvanceClock(context.Background(), 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		_, b := bspCall(t, f, "GET", "/bsp/io.bsp.agents/services/billing", "")
		var s map[string]any
		json.Unmarshal(b, &s)
		return fmt.Sprint(s["status"])
	}},
	"oap.log_size": {value: 2, observe: func(t *testing.T, f *mocktest.Sandbox) string {
		a := agenttest.Agent{T: t, Base: f.URL + "/oap"}
		for range 3 {
			a.Call("POST", "/events", "", map[string]any{"type": "TicketOpened", "data": map[string]any{}, "metadata": map[string]any{}})
		}
		return fmt.Sprint(len(f.OAP().Events(10)))
	}},
}

func jwk(pub any) any {
	raw, _ := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: "ed", Algorithm: "EdDSA", Use: "sig"})
	var out any
	json.Unmarshal(raw, &out)
	return out
}

// acmedbWithFederation is the sample acmedb manifest advertising the test issuer.
func acmedbWithFederation() string {
	raw, err := os.ReadFile("../manifests/samples/providers/acmedb/osp.json")
	if err != nil {
		panic(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	m["extensions"] = map[string]any{"osp_identity_federation": []any{"https://login.example.test"}}
	out, _ := json.MarshalIndent(m, "", "  ")
	return string(out)
}

func oidcToken(t *testing.T, now time.Time) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: oidcKey}, (&jose.SignerOptions{}).WithHeader("kid", "ed").WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "https://login.example.test", Subject: "agent-7", Audience: jwt.Audience{"acmedb.example"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
