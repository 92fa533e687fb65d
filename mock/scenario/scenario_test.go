package scenario

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests/scenariofile"
	"github.com/ospbox/ospbox/storage"
)

type memStore struct{ rows []storage.ScenarioRule }

func (m *memStore) ScenarioRules(context.Context) ([]storage.ScenarioRule, error) { return m.rows, nil }
func (m *memStore) ReplaceScenarioRules(_ context.Context, r []storage.ScenarioRule) error {
	m.rows = append([]storage.ScenarioRule(nil), r...)
	return nil
}
func (m *memStore) CountScenarioRules(_ context.Context, c []storage.ScenarioRule) error {
	for _, x := range c {
		for i := range m.rows {
			if m.rows[i].ID == x.ID {
				m.rows[i].Matched, m.rows[i].Hits = x.Matched, x.Hits
			}
		}
	}
	return nil
}

func (m *memStore) MarkScenarioFilesLoaded(context.Context) error { return nil }

func anyCode(_, code string) bool { return code == "provider_unavailable" || code == "INTERNAL" }

func mustDecode(t testing.TB, s string) Rule {
	t.Helper()
	r, err := scenariofile.Decode([]byte(s), anyCode)
	if err != nil {
		t.Fatalf("Decode(%s): %v", s, err)
	}
	return r
}

func decideN(t *testing.T, s *Set, n int, call Call) string {
	t.Helper()
	var b strings.Builder
	for range n {
		if d, ok := s.Decide(context.Background(), call); ok {
			b.WriteString(d.RuleID[:1])
		} else {
			b.WriteString(".")
		}
	}
	return b.String()
}

func TestWhenPicksExactlyTheCallsItNames(t *testing.T) {
	call := Call{Protocol: "osp", Operation: "osp.provision", Method: "POST", Path: "/osp/v1/provision", Header: http.Header{}}
	for when, want := range map[string]string{
		`{"nth":3}`:             "..x.....",
		`{"every":3}`:           "..x..x..",
		`{"first":2}`:           "xx......",
		`{"after":5}`:           ".....xxx",
		`{"after":1,"times":2}`: ".xx.....",
		`{"every":2,"times":3}`: ".x.x.x..",
	} {
		s, _ := Open(context.Background(), &memStore{})
		if _, err := s.Create(context.Background(), mustDecode(t, `{"id":"x","when":`+when+`,"effect":{"error":"provider_unavailable"}}`), "api"); err != nil {
			t.Fatal(err)
		}
		if got := decideN(t, s, 8, call); got != want {
			t.Errorf("when %s: %s, want %s", when, got, want)
		}
	}
}

func TestProbabilityRepeatsWithItsSeed(t *testing.T) {
	call := Call{Protocol: "osp", Method: "GET", Path: "/x", Header: http.Header{}}
	run := func(seed int) string {
		s, _ := Open(context.Background(), &memStore{})
		s.Create(context.Background(), mustDecode(t, fmt.Sprintf(`{"id":"p","when":{"probability":0.3,"seed":%d},"effect":{"latency_ms":1}}`, seed)), "api")
		return decideN(t, s, 200, call)
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("seed 7 gave two sequences:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same sequence")
	}
	if n := strings.Count(a, "p"); n < 40 || n > 80 {
		t.Errorf("probability 0.3 fired %d of 200 times", n)
	}
}

func TestMatchNamesOnlyItsCalls(t *testing.T) {
	s, _ := Open(context.Background(), &memStore{})
	s.Create(context.Background(), mustDecode(t, `{"id":"m","match":{"provider":"acmedb","method":"POST","path":"/osp/v1/**","offering_id":"acmedb/postgres","header":{"user-agent":"agent/*"}},"effect":{"latency_ms":1}}`), "api")
	h := http.Header{"User-Agent": {"agent/1.0"}}
	hit := Call{Protocol: "osp", Provider: "acmedb", Method: "POST", Path: "/osp/v1/provision", Header: h, Body: []byte(`{"offering_id":"acmedb/postgres","tier_id":"free"}`)}
	for name, c := range map[string]Call{
		"other provider": {Protocol: "osp", Provider: "skyhost", Method: "POST", Path: hit.Path, Header: h, Body: hit.Body},
		"other method":   {Protocol: "osp", Provider: "acmedb", Method: "GET", Path: hit.Path, Header: h, Body: hit.Body},
		"other path":     {Protocol: "osp", Provider: "acmedb", Method: "POST", Path: "/.well-known/osp.json", Header: h, Body: hit.Body},
		"other offering": {Protocol: "osp", Provider: "acmedb", Method: "POST", Path: hit.Path, Header: h, Body: []byte(`{"offering_id":"acmedb/redis"}`)},
		"other agent":    {Protocol: "osp", Provider: "acmedb", Method: "POST", Path: hit.Path, Header: http.Header{"User-Agent": {"curl/8"}}, Body: hit.Body},
		"not JSON":       {Protocol: "osp", Provider: "acmedb", Method: "POST", Path: hit.Path, Header: h, Body: []byte(`offering_id=acmedb/postgres`)},
	} {
		if _, ok := s.Decide(context.Background(), c); ok {
			t.Errorf("%s: the rule fired", name)
		}
	}
	if _, ok := s.Decide(context.Background(), hit); !ok {
		t.Error("the call the rule names did not fire it")
	}
	if r, _ := s.Get("m"); r.Hits != 1 || r.Matched != 1 {
		t.Errorf("counters %d hits, %d matched; want 1, 1", r.Hits, r.Matched)
	}
}

func TestClockWindowAndCountersSurviveReopen(t *testing.T) {
	st := &memStore{}
	s, _ := Open(context.Background(), st)
	s.Create(context.Background(), mustDecode(t, `{"id":"w","when":{"from":"2026-12-01T10:00:00Z","until":"2026-12-01T11:00:00Z","nth":2},"effect":{"latency_ms":1}}`), "api")
	at := func(hm string) Call {
		now, _ := time.Parse(time.RFC3339, "2026-12-01T"+hm+":00Z")
		return Call{Method: "GET", Path: "/", Header: http.Header{}, Now: func() time.Time { return now }}
	}
	if _, ok := s.Decide(context.Background(), at("09:59")); ok {
		t.Error("fired before from")
	}
	s.Decide(context.Background(), at("10:00")) // first match
	s2, _ := Open(context.Background(), st)     // a restart between the calls
	if _, ok := s2.Decide(context.Background(), at("10:30")); !ok {
		t.Error("the second matching call after a restart did not fire")
	}
	if _, ok := s2.Decide(context.Background(), at("11:00")); ok {
		t.Error("fired at until")
	}
}

func TestLatencyStaysInItsDistribution(t *testing.T) {
	for _, eff := range []string{`{"distribution":"uniform","min_ms":20,"max_ms":40}`, `{"distribution":"lognormal","median_ms":30,"sigma":0.5,"min_ms":20,"max_ms":40}`} {
		s, _ := Open(context.Background(), &memStore{})
		s.Create(context.Background(), mustDecode(t, `{"id":"l","effect":{"latency":`+eff+`}}`), "api")
		for range 200 {
			d, _ := s.Decide(context.Background(), Call{Header: http.Header{}})
			if ms := d.Delay().Milliseconds(); ms < 20 || ms > 40 {
				t.Fatalf("%s: delay %d ms", eff, ms)
			}
		}
	}
}

// BenchmarkDecide is the cost the rules add to a request none of them names: 100 rules of the
// kinds BenchmarkScenarioRulesThatDoNotMatch (mock) installs, asked about a discovery call.
func BenchmarkDecide(b *testing.B) {
	s, _ := Open(context.Background(), &memStore{})
	for i := range 100 {
		var match string
		switch i % 5 {
		case 0:
			match = `{"protocol": "bsp", "operation": "bsp.command"}`
		case 1:
			match = `{"operation": "osp.rotate"}`
		case 2:
			match = fmt.Sprintf(`{"provider": "nobody-%d"}`, i)
		case 3:
			match = fmt.Sprintf(`{"path": "/osp/v1/never-%d/**", "header": {"x-tenant": "t-*"}}`, i)
		case 4:
			match = fmt.Sprintf(`{"operation": "osp.provision", "offering_id": "acmedb/other-%d"}`, i)
		}
		s.Create(context.Background(), mustDecode(b, `{"match": `+match+`, "effect": {"latency_ms": 1}}`), "api")
	}
	call := Call{Protocol: "osp", Provider: "acmedb", Operation: "osp.discover", Method: "GET", Path: "/.well-known/osp.json", Header: http.Header{"Accept": {"*/*"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Decide(context.Background(), call); ok {
			b.Fatal("a rule fired")
		}
	}
}

func TestANamespaceHoldsAtMostMaxRules(t *testing.T) {
	s, _ := Open(context.Background(), &memStore{})
	for i := range MaxRules {
		if _, err := s.Create(context.Background(), mustDecode(t, `{"effect": {"latency_ms": 1}}`), "api"); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
	}
	if _, err := s.Create(context.Background(), mustDecode(t, `{"effect": {"latency_ms": 1}}`), "api"); !errors.Is(err, ErrTooMany) {
		t.Errorf("rule %d: %v, want ErrTooMany", MaxRules+1, err)
	}
}
