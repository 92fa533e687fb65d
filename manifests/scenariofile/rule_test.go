package scenariofile

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"testing"
)

func anyCode(_, code string) bool { return code == "provider_unavailable" || code == "INTERNAL" }

func mustDecode(t *testing.T, s string) Rule {
	t.Helper()
	r, err := Decode([]byte(s), anyCode)
	if err != nil {
		t.Fatalf("Decode(%s): %v", s, err)
	}
	return r
}

func TestDecodeNamesTheMemberAtFault(t *testing.T) {
	for in, want := range map[string]string{
		`{"effect":{"error":"provider_unavailable"},"colour":1}`:                   "/colour",
		`{"match":{"protocol":"ftp"},"effect":{"error":"provider_unavailable"}}`:   "/match/protocol",
		`{"match":{"operation":"osp.provison"},"effect":{"latency_ms":1}}`:         "/match/operation",
		`{"when":{"nth":0},"effect":{"latency_ms":1}}`:                             "/when/nth",
		`{"when":{"probability":1.5},"effect":{"latency_ms":1}}`:                   "/when/probability",
		`{"when":{"from":"tomorrow"},"effect":{"latency_ms":1}}`:                   "/when/from",
		`{"effect":{"error":"no_such_code"}}`:                                      "/effect/error",
		`{"effect":{"error":"provider_unavailable","latency_ms":5}}`:               "/effect",
		`{"effect":{"network":"truncate"}}`:                                        "/effect/bytes",
		`{"effect":{"latency":{"distribution":"uniform","min_ms":10,"max_ms":5}}}`: "/effect/latency/max_ms",
		`{"effect":{"webhook":"drop","status":500}}`:                               "/effect/status",
		`{"id":"no spaces","effect":{"latency_ms":1}}`:                             "/id",
		`{"match":{"body":{"offering_id":"x"}},"effect":{"latency_ms":1}}`:         "/match/body/offering_id",
		`{"match":{"path":"osp/v1/*"},"effect":{"latency_ms":1}}`:                  "/match/path",
		`{}`: "",
	} {
		_, err := Decode([]byte(in), anyCode)
		var p *Problem
		if !errors.As(err, &p) || p.Pointer != want {
			t.Errorf("Decode(%s) = %v, want a problem at %q", in, err, want)
		}
	}
	r := mustDecode(t, `{"match":{"operation":"osp.provision"},"effect":{"error":"provider_unavailable","retry_after_seconds":5}}`)
	if !r.Enabled || r.Effect.Kind() != "error" || *r.Effect.RetryAfterSeconds != 5 {
		t.Errorf("decoded %+v", r)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"match":{"operation":"osp.provision"},"when":{"nth":3},"effect":{"error":"provider_unavailable","retry_after_seconds":5}}`))
	f.Add([]byte(`{"effect":{"latency":{"distribution":"lognormal","median_ms":30,"sigma":0.5}}}`))
	f.Add([]byte(`{"match":{"body":{"/a":[1,{"b":null}]},"header":{"x":"*"}},"effect":{"network":"truncate","bytes":10}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data, anyCode)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %v is not a Problem", err)
			}
			return
		}
		if r.Effect.Kind() == "" {
			t.Fatalf("a decoded rule has no effect: %s", data)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTheRecipesAreRules: every rule in docs/scenarios.md decodes, so the recipes a user copies
// work as written.
func TestTheRecipesAreRules(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 8 {
		t.Fatalf("%d rules in docs/scenarios.md, want the recipes' 8 or more", len(blocks))
	}
	for _, b := range blocks {
		if _, err := Decode(b[1], func(_, code string) bool {
			return code == "provider_unavailable" || code == "capacity_exhausted"
		}); err != nil {
			t.Errorf("recipe %s: %v", b[1], err)
		}
	}
}
