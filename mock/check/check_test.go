package check

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// sandbox starts an ospbox mock on the sample workspace.
func sandbox(t *testing.T) *mock.Sandbox { return mocktest.New(t).Sandbox }

func statuses(rep *Report) map[string]Status {
	out := map[string]Status{}
	for _, r := range rep.Results {
		out[r.ID] = r.Status
	}
	return out
}

func TestTheMockPassesItsOwnChecker(t *testing.T) {
	srv := httptest.NewServer(sandbox(t))
	defer srv.Close()
	rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "osp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Protocol != "osp" || len(rep.Results) != len(ospChecks) {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Results {
		if r.Status != Pass {
			t.Errorf("%s %s: %s (%s)", r.ID, r.Status, r.Evidence, r.Request)
		}
	}
}

// TestAutoChecksEveryProtocolTheTargetServes: without --protocol every protocol whose discovery
// document answers is checked and reported; the BSP checks that need the declared credential
// are skipped, naming the flag, until --api-key gives it — and then they all run and pass.
func TestAutoChecksEveryProtocolTheTargetServes(t *testing.T) {
	sb := sandbox(t)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	rep, err := Run(t.Context(), Options{Target: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Protocol != "osp+bsp+oap" || len(rep.Results) != len(ospChecks)+len(bspChecks)+len(oapChecks) || rep.Failed != 0 {
		t.Fatalf("auto: protocol %s, %d results, %d failed", rep.Protocol, len(rep.Results), rep.Failed)
	}
	needKey := 0
	for _, r := range rep.Results {
		if r.Status == Skip && strings.Contains(r.Evidence, "pass --api-key") {
			needKey++
		}
	}
	if needKey < 6 {
		t.Errorf("%d checks say they need --api-key; the sample's BSP declares an API key", needKey)
	}
	key := sb.Snapshot().Config.BSP.Credentials[0].Token
	rep, err = Run(t.Context(), Options{Target: srv.URL, APIKey: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Status == Fail || strings.Contains(r.Evidence, "pass --api-key") {
			t.Errorf("with --api-key: %s %s: %s", r.ID, r.Status, r.Evidence)
		}
	}
}

// mutation breaks one rule of the mock: it may answer itself, or edit the mock's response.
type mutation struct {
	before func(w http.ResponseWriter, r *http.Request, body []byte) bool // true: answered
	after  func(r *http.Request, status int, h http.Header, body []byte) (int, []byte)
}

// broken serves the mock through one mutation.
func broken(next http.Handler, m mutation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if m.before != nil && m.before(w, r, body) {
			return
		}
		if strings.HasSuffix(r.URL.Path, "/events/stream") {
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r) // a stream never ends: it cannot be recorded first
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		status, out := rec.Code, rec.Body.Bytes()
		if m.after != nil {
			status, out = m.after(r, status, rec.Header(), out)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(status)
		w.Write(out)
	})
}

func isDiscovery(r *http.Request) bool { return r.URL.Path == "/.well-known/osp.json" }

// editJSON applies fn to a JSON object body.
func editJSON(body []byte, fn func(map[string]any)) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	fn(m)
	out, _ := json.Marshal(m)
	return out
}

func TestEachCheckFailsOnAProviderBreakingItsRule(t *testing.T) {
	const key = "osp_ak_checker_test_key"
	mutations := map[string]mutation{
		"osp.discovery.status": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if isDiscovery(r) {
				return http.StatusNonAuthoritativeInfo, b
			}
			return st, b
		}},
		"osp.discovery.content-type": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if isDiscovery(r) {
				h.Set("Content-Type", "text/plain")
			}
			return st, b
		}},
		"osp.discovery.public": {}, // the wrapper below refuses discovery without the key
		"osp.discovery.schema": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if !isDiscovery(r) {
				return st, b
			}
			return st, editJSON(b, func(m map[string]any) {
				m["osp_version"] = 1
				delete(m, "provider_signature")
			})
		}},
		"osp.discovery.signature": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if !isDiscovery(r) {
				return st, b
			}
			return st, editJSON(b, func(m map[string]any) {
				sig := []byte(m["provider_signature"].(string))
				sig[3] ^= 1
				m["provider_signature"] = string(sig)
			})
		}},
		"osp.headers.request-id": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			h.Del("X-Request-Id")
			return st, b
		}},
		"osp.provision.method": {before: func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
			if r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/provision") {
				w.WriteHeader(http.StatusNotFound)
				return true
			}
			return false
		}},
		"osp.errors.unknown-offering": {after: rewriteCode("invalid_offering", 404, "not_found")},
		"osp.errors.unknown-tier":     {after: rewriteCode("invalid_tier", 400, "invalid_request")},
		"osp.errors.malformed-json": {before: func(w http.ResponseWriter, r *http.Request, body []byte) bool {
			if r.Method == "POST" && len(body) > 0 && len(body) < 1<<20 && !json.Valid(body) {
				w.WriteHeader(http.StatusInternalServerError)
				return true
			}
			return false
		}},
		"osp.errors.envelope": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if st < 400 {
				return st, b
			}
			return st, editJSON(b, func(m map[string]any) {
				if e, ok := m["error"].(map[string]any); ok && e["code"] == "invalid_offering" {
					delete(e, "message")
				}
			})
		}},
		"osp.errors.oversize": {before: func(w http.ResponseWriter, r *http.Request, body []byte) bool {
			if len(body) > 1<<20 {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":{"code":"invalid_request","message":"too big"}}`))
				return true
			}
			return false
		}},
		"osp.sandbox.round-trip": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if !strings.HasSuffix(r.URL.Path, "/provision") || st >= 300 {
				return st, b
			}
			return st, editJSON(b, func(m map[string]any) {
				if bundle, ok := m["credentials_bundle"].(map[string]any); ok {
					if ec, ok := bundle["encrypted_credentials"].(map[string]any); ok {
						ec["ciphertext"] = "AAAA" + ec["ciphertext"].(string)[4:]
					}
				}
			})
		}},
		"osp.auth.wrong-token": {before: func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
			if strings.Contains(r.Header.Get("Authorization"), "ospboxcheckwrongtoken") {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{}`))
				return true
			}
			return false
		}},
		"osp.nonce.replay": {after: func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
			if st == http.StatusConflict {
				return http.StatusCreated, []byte(`{"resource_id":"res_replayed"}`)
			}
			return st, b
		}},
	}
	if len(mutations) != len(ospChecks) {
		t.Fatalf("%d mutations for %d checks", len(mutations), len(ospChecks))
	}
	for id, m := range mutations {
		t.Run(id, func(t *testing.T) {
			sb := sandbox(t)
			var h http.Handler = broken(sb, m)
			opts := Options{Target: "", Protocol: "osp"}
			if id == "osp.discovery.public" { // the other requests carry a key the provider accepts
				opts.APIKey = key
				inner := h
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					noKey := r.Header.Get("Authorization") == "" // the public check's request
					if r.Header.Get("Authorization") == "Bearer "+key {
						r.Header.Del("Authorization")
					}
					if noKey && isDiscovery(r) {
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					inner.ServeHTTP(w, r)
				})
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			opts.Target, opts.InPlace = srv.URL, true // the mutations wrap the root
			rep, err := Run(t.Context(), opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			for rid, st := range statuses(rep) {
				if rid == id && st != Fail {
					t.Errorf("%s did not fail on a provider that breaks it", id)
				}
				if rid != id && st == Fail {
					t.Errorf("breaking %s also failed %s", id, rid)
				}
			}
		})
	}
}

// rewriteCode turns an error with code from into status/to.
func rewriteCode(from string, status int, to string) func(*http.Request, int, http.Header, []byte) (int, []byte) {
	return func(r *http.Request, st int, h http.Header, b []byte) (int, []byte) {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return st, b
		}
		if e, ok := m["error"].(map[string]any); ok && e["code"] == from {
			e["code"] = to
			out, _ := json.Marshal(m)
			return status, out
		}
		return st, b
	}
}

func TestUnreachableAndOutputs(t *testing.T) {
	if _, err := Run(t.Context(), Options{Target: "http://127.0.0.1:1"}, nil); err == nil || !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("unreachable: %v", err)
	}
	srv := httptest.NewServer(sandbox(t))
	defer srv.Close()
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Options{Target: srv.URL, NonDestructive: true, Level: "must"}, Progress(&progress))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Level != Must {
			t.Errorf("--level must ran %s (%s)", r.ID, r.Level)
		}
		if r.ID == "osp.sandbox.round-trip" && r.Status != Skip {
			t.Errorf("--non-destructive ran the round trip")
		}
	}
	var text, js, junit bytes.Buffer
	WriteSummary(&text, rep)
	WriteJSON(&js, rep)
	WriteJUnit(&junit, rep)
	if !strings.Contains(progress.String(), "osp.errors.unknown-offering") || !strings.Contains(text.String(), "conformant") {
		t.Errorf("text output:\n%s%s", progress.String(), text.String())
	}
	var back Report
	if json.Unmarshal(js.Bytes(), &back) != nil || len(back.Results) != len(rep.Results) {
		t.Errorf("json output: %s", js.String())
	}
	if !strings.Contains(junit.String(), `<testsuite name="ospbox check osp`) || !strings.Contains(junit.String(), "<skipped") {
		t.Errorf("junit output: %s", junit.String())
	}
}

// TestCheckingOspboxLeavesItsStateAlone: against an ospbox the checks run in a throwaway
// namespace, so a default namespace whose sandbox quota is used up still checks conformant,
// and the namespace is gone afterwards.
func TestCheckingOspboxLeavesItsStateAlone(t *testing.T) {
	sb := mocktest.New(t)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	a := agenttest.Agent{T: t, Base: srv.URL + "/osp/v1"}
	for range 10 {
		a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "sandbox": map[string]any{"enabled": true}})
	}
	before, _ := sb.DB.Counts(t.Context())
	rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "osp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 {
		for _, r := range rep.Results {
			if r.Status == Fail {
				t.Errorf("%s: %s", r.ID, r.Evidence)
			}
		}
	}
	after, _ := sb.DB.Counts(t.Context())
	if after.Resources != before.Resources {
		t.Errorf("the checks changed the default namespace: %d resources, then %d", before.Resources, after.Resources)
	}
	_, _, list := agenttest.Agent{T: t, Base: srv.URL}.Call("GET", "/ospbox/v1/namespaces", "", nil)
	if n := len(list["namespaces"].([]any)); n != 1 {
		t.Errorf("the throwaway namespace is still there: %v", list)
	}
}
