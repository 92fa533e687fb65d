// Package scenario runs a namespace's scenario rules (spec/control.md §4): server-side faults,
// latency and failure sequences that an unmodified agent experiences. The host asks the rules
// about every request and carries a fired rule's effect out in the protocol's own terms.
package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/manifests/scenariofile"
	"github.com/ospbox/ospbox/storage"
)

// The rule's parts, as scenariofile decodes them.
type (
	Rule    = scenariofile.Rule
	Match   = scenariofile.Match
	When    = scenariofile.When
	Effect  = scenariofile.Effect
	Problem = scenariofile.Problem
)

// Decode reads one rule strictly (scenariofile.Decode).
func Decode(data []byte, knownCode func(protocol, code string) bool) (Rule, error) {
	return scenariofile.Decode(data, knownCode)
}

// Store keeps a namespace's rules (storage.DB).
type Store interface {
	ScenarioRules(ctx context.Context) ([]storage.ScenarioRule, error)
	ReplaceScenarioRules(ctx context.Context, rules []storage.ScenarioRule) error
	CountScenarioRules(ctx context.Context, counts []storage.ScenarioRule) error
	MarkScenarioFilesLoaded(ctx context.Context) error
}

// Call is one request as the rules see it.
type Call struct {
	Protocol, Provider, Operation, Method, Path string
	Header                                      http.Header
	Body                                        []byte
	// Now reads the workspace clock; it is called only for rules with a time window (the clock
	// takes a lock every request already takes once).
	Now func() time.Time
}

// Decision is a rule firing on a call.
type Decision struct {
	RuleID string
	Effect Effect
	// n is the rule's match count at this call: latency draws are a function of the seed and n,
	// so the same rules and calls give the same delays.
	n    int
	seed uint64
}

// Delay is the latency of a latency effect.
func (d Decision) Delay() time.Duration {
	e := d.Effect
	switch {
	case e.LatencyMS != nil:
		return time.Duration(*e.LatencyMS) * time.Millisecond
	case e.Latency == nil:
		return 0
	}
	l := e.Latency
	rng := rand.New(rand.NewPCG(d.seed^0x9e3779b97f4a7c15, uint64(d.n)))
	var ms float64
	switch l.Distribution {
	case "uniform":
		ms = float64(l.MinMS) + rng.Float64()*float64(l.MaxMS-l.MinMS)
	case "lognormal":
		ms = float64(l.MedianMS) * math.Exp(l.Sigma*rng.NormFloat64())
		if l.MaxMS > 0 {
			ms = math.Min(ms, float64(l.MaxMS))
		}
		ms = math.Max(ms, float64(l.MinMS))
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// ErrNotFound is a rule id the set does not have; ErrExists one it already has.
var (
	ErrNotFound = errors.New("scenario: no such rule")
	ErrExists   = errors.New("scenario: a rule with this id exists")
	ErrTooMany  = fmt.Errorf("scenario: a namespace holds at most %d rules", MaxRules)
)

// MaxRules bounds a namespace's rules, so asking them stays a small cost on every request.
const MaxRules = 1000

// Set is one namespace's rules. Decide is on every request's path: with no rules it is one atomic
// load, and a rule that does not match costs a few string comparisons.
type Set struct {
	store Store
	// mu guards rules and the counters in them. A call no rule names (nearly every call) is
	// told so under the read lock, so concurrent requests never wait for each other.
	mu    sync.RWMutex
	rules []*compiled
	count atomic.Int32
	seq   int
}

type compiled struct {
	Rule
	// pathPrefix is the literal start of the path glob: most calls are told apart by it
	// without running the pattern.
	pathPrefix string
	path       *regexp.Regexp
	header     map[string]*regexp.Regexp // canonical name → value pattern
	body       map[string]string         // pointer → compact JSON of the wanted value
	from       time.Time
	until      time.Time
}

// Open reads a namespace's rules from its store.
func Open(ctx context.Context, store Store) (*Set, error) {
	s := &Set{store: store}
	return s, s.Reread(ctx)
}

// Reread takes the rules from the store again, after the state under the set was replaced (a
// reset or an import of the default namespace).
func (s *Set) Reread(ctx context.Context) error {
	rows, err := s.store.ScenarioRules(ctx)
	if err != nil {
		return err
	}
	var rules []*compiled
	for _, row := range rows {
		var r Rule
		if err := json.Unmarshal([]byte(row.Rule), &r); err != nil {
			continue // a row ospbox wrote cannot be broken; an old one is dropped, not fatal
		}
		r.Matched, r.Hits = row.Matched, row.Hits
		rules = append(rules, compile(r))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = rules
	s.count.Store(int32(len(rules)))
	return nil
}

func compile(r Rule) *compiled {
	c := &compiled{Rule: r}
	if r.Match.Path != "" {
		c.path = Glob(r.Match.Path, true)
		c.pathPrefix = r.Match.Path
		if i := strings.IndexAny(r.Match.Path, "*?"); i >= 0 {
			c.pathPrefix = r.Match.Path[:i]
		}
	}
	for name, v := range r.Match.Header {
		if c.header == nil {
			c.header = map[string]*regexp.Regexp{}
		}
		c.header[http.CanonicalHeaderKey(name)] = Glob(v, false)
	}
	body := map[string]any{}
	for k, v := range r.Match.Body {
		body[k] = v
	}
	if r.Match.OfferingID != "" {
		body["/offering_id"] = r.Match.OfferingID
	}
	if r.Match.TierID != "" {
		body["/tier_id"] = r.Match.TierID
	}
	for k, v := range body {
		if c.body == nil {
			c.body = map[string]string{}
		}
		b, _ := json.Marshal(v)
		if doc, err := jsondoc.Parse(b); err == nil {
			b = jsondoc.Compact(doc.Root)
		}
		c.body[k] = string(b)
	}
	c.from, _ = time.Parse(time.RFC3339, r.When.From)
	c.until, _ = time.Parse(time.RFC3339, r.When.Until)
	return c
}

// Glob turns a glob into an anchored pattern: ** is anything, ? one character, and * anything
// within a path segment (inSegment) or anything at all. The request journal's path globs are
// the same.
func Glob(g string, inSegment bool) *regexp.Regexp {
	star := ".*"
	if inSegment {
		star = "[^/]*"
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch {
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(".*")
			i++
		case g[i] == '*':
			b.WriteString(star)
		case g[i] == '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// lazyBody parses a call's body once, for the rules that look into it.
type lazyBody struct {
	raw    []byte
	tried  bool
	parsed *jsondoc.Document
}

func (l *lazyBody) doc() *jsondoc.Document {
	if !l.tried {
		l.tried = true
		if doc, err := jsondoc.Parse(l.raw); err == nil {
			l.parsed = doc
		}
	}
	return l.parsed
}

// matches reports whether the call is one the rule names, at the call's time. The cheap
// comparisons come first: on a call no rule names, most rules stop at the first.
func (c *compiled) matches(call *Call, body *lazyBody) bool {
	m := &c.Match
	switch {
	case m.Protocol != "" && m.Protocol != call.Protocol,
		m.Operation != "" && m.Operation != call.Operation,
		m.Provider != "" && m.Provider != call.Provider,
		m.Method != "" && m.Method != call.Method,
		c.path != nil && (!strings.HasPrefix(call.Path, c.pathPrefix) || !c.path.MatchString(call.Path)):
		return false
	}
	if !c.from.IsZero() || !c.until.IsZero() {
		now := call.Now()
		if !c.from.IsZero() && now.Before(c.from) || !c.until.IsZero() && !now.Before(c.until) {
			return false
		}
	}
	for name, re := range c.header {
		if !re.MatchString(call.Header.Get(name)) {
			return false
		}
	}
	if len(c.body) > 0 {
		doc := body.doc()
		if doc == nil {
			return false
		}
		for p, want := range c.body {
			n := doc.Lookup(p)
			if n == nil || string(jsondoc.Compact(n)) != want {
				return false
			}
		}
	}
	return true
}

// fires reports whether the when conditions hold for the n-th matching call.
func (c *compiled) fires(n int) bool {
	w := c.When
	switch {
	case w.Nth > 0 && n != w.Nth,
		w.Every > 0 && n%w.Every != 0,
		w.First > 0 && n > w.First,
		w.After > 0 && n <= w.After,
		w.Times > 0 && c.Hits >= w.Times:
		return false
	}
	if w.Probability != nil {
		draw := rand.New(rand.NewPCG(w.Seed, uint64(n))).Float64()
		return draw < *w.Probability
	}
	return true
}

// Decide counts the call against every enabled rule that matches it and returns the first rule
// whose when holds. ok is false when no rule fires.
// Empty reports whether s has no rules, so a caller can skip building the Call.
func (s *Set) Empty() bool { return s == nil || s.count.Load() == 0 }

func (s *Set) Decide(ctx context.Context, call Call) (Decision, bool) {
	if s.Empty() {
		return Decision{}, false
	}
	body := lazyBody{raw: call.Body}
	s.mu.RLock()
	named := false
	for _, c := range s.rules {
		if c.Enabled && c.matches(&call, &body) {
			named = true
			break
		}
	}
	s.mu.RUnlock()
	if !named {
		return Decision{}, false
	}
	s.mu.Lock()
	var d Decision
	fired := false
	var counts []storage.ScenarioRule
	for _, c := range s.rules {
		if !c.Enabled || !c.matches(&call, &body) {
			continue
		}
		c.Matched++
		if !fired && c.fires(c.Matched) {
			c.Hits++
			fired = true
			d = Decision{RuleID: c.ID, Effect: c.Effect, n: c.Matched, seed: c.When.Seed}
		}
		counts = append(counts, storage.ScenarioRule{ID: c.ID, Matched: c.Matched, Hits: c.Hits})
	}
	s.mu.Unlock()
	if len(counts) > 0 {
		// The counters are state: a restart must not replay "the third call". A failed write
		// leaves them right in memory; the next one stores them.
		s.store.CountScenarioRules(context.WithoutCancel(ctx), counts)
	}
	return d, fired
}

// List returns the rules in order.
func (s *Set) List() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.Rule
	}
	return out
}

// Get returns one rule.
func (s *Set) Get(id string) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.index(id); i >= 0 {
		return s.rules[i].Rule, nil
	}
	return Rule{}, ErrNotFound
}

func (s *Set) index(id string) int {
	for i, c := range s.rules {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// Create adds a rule at the end (an id is made when it has none) and returns it.
func (s *Set) Create(ctx context.Context, r Rule, source string) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ID == "" {
		for {
			s.seq++
			r.ID = "rule_" + strconv.Itoa(s.seq)
			if s.index(r.ID) < 0 {
				break
			}
		}
	} else if s.index(r.ID) >= 0 {
		return Rule{}, ErrExists
	}
	if len(s.rules) >= MaxRules {
		return Rule{}, ErrTooMany
	}
	r.Source, r.Hits, r.Matched = source, 0, 0
	return r, s.save(ctx, append(append([]*compiled{}, s.rules...), compile(r)))
}

// Replace puts r in the place of rule id; its counters start again.
func (s *Set) Replace(ctx context.Context, id string, r Rule) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(id)
	if i < 0 {
		return Rule{}, ErrNotFound
	}
	r.ID, r.Source, r.Hits, r.Matched = id, s.rules[i].Source, 0, 0
	next := append([]*compiled{}, s.rules...)
	next[i] = compile(r)
	return r, s.save(ctx, next)
}

// Delete removes rule id.
func (s *Set) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(id)
	if i < 0 {
		return ErrNotFound
	}
	next := append(append([]*compiled{}, s.rules[:i]...), s.rules[i+1:]...)
	return s.save(ctx, next)
}

// SetEnabled turns rule id on or off, keeping its counters.
func (s *Set) SetEnabled(ctx context.Context, id string, on bool) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(id)
	if i < 0 {
		return Rule{}, ErrNotFound
	}
	c := *s.rules[i]
	c.Enabled = on
	next := append([]*compiled{}, s.rules...)
	next[i] = &c
	return c.Rule, s.save(ctx, next)
}

// LoadFiles makes files the set's workspace-file rules (those whose Source is a file under
// scenarios/), keeping the rules the API added, first, as they are. A file rule that is
// unchanged keeps its counters; a new or edited one starts again.
func (s *Set) LoadFiles(ctx context.Context, files []Rule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := map[string]*compiled{}
	var next []*compiled
	for _, c := range s.rules {
		if fromFile(c.Rule) {
			old[c.ID] = c
		} else {
			next = append(next, c)
		}
	}
	for _, r := range files {
		if c := old[r.ID]; c != nil && sameRule(c.Rule, r) {
			next = append(next, c)
			continue
		}
		r.Hits, r.Matched = 0, 0
		next = append(next, compile(r))
	}
	if err := s.save(ctx, next); err != nil {
		return err
	}
	return s.store.MarkScenarioFilesLoaded(ctx)
}

func fromFile(r Rule) bool { return strings.HasPrefix(r.Source, "scenarios/") }

// sameRule compares two rules without their counters.
func sameRule(a, b Rule) bool {
	a.Hits, a.Matched, b.Hits, b.Matched = 0, 0, 0, 0
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// save stores next and makes it the set's rules; the caller holds mu.
func (s *Set) save(ctx context.Context, next []*compiled) error {
	rows := make([]storage.ScenarioRule, len(next))
	for i, c := range next {
		r := c.Rule
		r.Hits, r.Matched = 0, 0
		b, _ := json.Marshal(r)
		rows[i] = storage.ScenarioRule{ID: c.ID, Rule: string(b), Matched: c.Matched, Hits: c.Hits}
	}
	if err := s.store.ReplaceScenarioRules(ctx, rows); err != nil {
		return err
	}
	s.rules = next
	s.count.Store(int32(len(next)))
	return nil
}
