// Package scenariofile is the scenario rule as ospbox's API and the workspace's scenarios/*.json
// write it (spec/control.md §4): what it matches, when it fires, its effect, and the strict
// decoding that names the member at fault. mock/scenario runs the rules; the validator checks
// the files with it.
package scenariofile

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Rule is one scenario rule, as the API and the workspace files write it.
type Rule struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Enabled bool   `json:"enabled"`
	Match   Match  `json:"match"`
	When    When   `json:"when"`
	Effect  Effect `json:"effect"`
	// Hits counts the calls the rule's effect was applied to; Matched those its match named
	// (the count nth, every, first and after read). Both are output only.
	Hits    int `json:"hits"`
	Matched int `json:"matched"`
	// Source is where the rule came from: "api", or the workspace file that declares it.
	Source string `json:"source"`
}

// Match names the calls a rule applies to; every member given must hold.
type Match struct {
	Protocol   string            `json:"protocol,omitempty"`
	Provider   string            `json:"provider,omitempty"`
	Operation  string            `json:"operation,omitempty"`
	Method     string            `json:"method,omitempty"`
	Path       string            `json:"path,omitempty"` // a glob: * within a segment, ** across
	OfferingID string            `json:"offering_id,omitempty"`
	TierID     string            `json:"tier_id,omitempty"`
	Header     map[string]string `json:"header,omitempty"` // name → value glob
	Body       map[string]any    `json:"body,omitempty"`   // JSON Pointer → value
}

// When says which matching calls the effect applies to; every member given must hold.
type When struct {
	Nth         int      `json:"nth,omitempty"`
	Every       int      `json:"every,omitempty"`
	First       int      `json:"first,omitempty"`
	After       int      `json:"after,omitempty"`
	Probability *float64 `json:"probability,omitempty"`
	Seed        uint64   `json:"seed,omitempty"`
	Times       int      `json:"times,omitempty"`
	From        string   `json:"from,omitempty"`
	Until       string   `json:"until,omitempty"`
}

// Effect is what happens to a call the rule fires on: exactly one kind.
type Effect struct {
	Error             string   `json:"error,omitempty"`
	RetryAfterSeconds *int     `json:"retry_after_seconds,omitempty"`
	Message           string   `json:"message,omitempty"`
	LatencyMS         *int     `json:"latency_ms,omitempty"`
	Latency           *Latency `json:"latency,omitempty"`
	Network           string   `json:"network,omitempty"`
	Bytes             int      `json:"bytes,omitempty"`
	BytesPerSecond    int      `json:"bytes_per_second,omitempty"`
	Provisioning      string   `json:"provisioning,omitempty"`
	AfterSeconds      int      `json:"after_seconds,omitempty"`
	Webhook           string   `json:"webhook,omitempty"`
	Status            int      `json:"status,omitempty"`
	Stream            string   `json:"stream,omitempty"`
	Events            int      `json:"events,omitempty"`
}

// Latency is a delay drawn from a distribution.
type Latency struct {
	Distribution string  `json:"distribution"`
	MinMS        int     `json:"min_ms,omitempty"`
	MaxMS        int     `json:"max_ms,omitempty"`
	MedianMS     int     `json:"median_ms,omitempty"`
	Sigma        float64 `json:"sigma,omitempty"`
}

// Kind names the effect's kind: error, latency, network, provisioning, webhook or stream.
func (e Effect) Kind() string {
	switch {
	case e.Error != "" && e.Provisioning == "":
		return "error"
	case e.LatencyMS != nil || e.Latency != nil:
		return "latency"
	case e.Network != "":
		return "network"
	case e.Provisioning != "":
		return "provisioning"
	case e.Webhook != "":
		return "webhook"
	case e.Stream != "":
		return "stream"
	}
	return ""
}

// Problem is a rule that cannot be used, with the JSON Pointer of the member at fault.
type Problem struct {
	Pointer string
	Message string
	// Offset is the byte offset of the member in the decoded text (-1 when unknown), so a
	// workspace file's problem has a line and column.
	Offset int
}

func (p *Problem) Error() string {
	if p.Pointer == "" {
		return p.Message
	}
	return p.Pointer + ": " + p.Message
}

// Operations are the names match.operation accepts.
var Operations = []string{
	"osp.discover", "osp.provision", "osp.status", "osp.deprovision", "osp.credentials", "osp.rotate",
	"osp.upgrade", "osp.usage", "osp.cost", "osp.budgets", "osp.webhooks", "osp.health", "osp.events",
	"osp.promote", "osp.webhook_delivery",
	"bsp.discover", "bsp.command", "bsp.events", "bsp.stream", "bsp.query", "bsp.subscriptions", "bsp.webhook_delivery",
	"oap.discover", "oap.agents", "oap.event", "oap.traces",
	"ospbox.control",
}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	protocols      = []string{"osp", "bsp", "oap", "ospbox"}
	networkFaults  = []string{"reset", "close_after_headers", "truncate", "dribble", "hang"}
	distributions  = []string{"uniform", "lognormal"}
	maxLatencyMS   = 10 * 60 * 1000
	effectMembers  = map[string][]string{"error": {"error", "retry_after_seconds", "message"}, "latency": {"latency_ms", "latency"}, "network": {"network", "bytes", "bytes_per_second"}, "provisioning": {"provisioning", "after_seconds", "error", "message"}, "webhook": {"webhook", "status"}, "stream": {"stream", "events"}}
	effectKindKeys = []string{"error", "latency_ms", "latency", "network", "provisioning", "webhook", "stream"}
)

// Decode reads one rule strictly: unknown members, wrong types and impossible values are a
// Problem naming the member. knownCode reports whether an error code exists in a protocol ("" when
// the rule names none; the code must then exist in some protocol).
func Decode(data []byte, knownCode func(protocol, code string) bool) (Rule, error) {
	doc, err := jsondoc.Parse(data)
	if err != nil {
		return Rule{}, &Problem{Message: "the rule is not valid JSON: " + err.Error(), Offset: -1}
	}
	return DecodeNode(doc.Root, "", knownCode)
}

// DecodeNode reads a rule from a parsed value; at is its JSON Pointer in the document.
func DecodeNode(n *jsondoc.Node, at string, knownCode func(protocol, code string) bool) (Rule, error) {
	v := validator{at: at}
	v.rule(n, knownCode)
	if v.problem != nil {
		return Rule{}, v.problem
	}
	var r Rule
	if err := json.Unmarshal(jsondoc.Compact(n), &r); err != nil {
		return Rule{}, &Problem{Pointer: at, Message: err.Error(), Offset: n.Start}
	}
	if n.Get("enabled") == nil {
		r.Enabled = true
	}
	r.Hits, r.Matched, r.Source = 0, 0, ""
	return r, nil
}

type validator struct {
	at      string
	problem *Problem
}

func (v *validator) fail(n *jsondoc.Node, pointer, format string, args ...any) {
	if v.problem == nil {
		off := -1
		if n != nil {
			off = n.Start
		}
		v.problem = &Problem{Pointer: v.at + pointer, Message: fmt.Sprintf(format, args...), Offset: off}
	}
}

func (v *validator) object(n *jsondoc.Node, pointer string, allowed ...string) bool {
	if n.Kind != jsondoc.Object {
		v.fail(n, pointer, "must be an object")
		return false
	}
	for _, m := range n.Members {
		if !slices.Contains(allowed, m.Name) {
			v.fail(m.Value, pointer+"/"+jsondoc.PointerToken(m.Name), "%q is not a member ospbox knows here (known: %s)", m.Name, strings.Join(allowed, ", "))
			return false
		}
	}
	return true
}

func (v *validator) str(n *jsondoc.Node, pointer string, allowed []string) string {
	if n == nil {
		return ""
	}
	if n.Kind != jsondoc.String {
		v.fail(n, pointer, "must be a string")
		return ""
	}
	if allowed != nil && !slices.Contains(allowed, n.Text) {
		v.fail(n, pointer, "must be one of %s, not %q", strings.Join(allowed, ", "), n.Text)
	}
	return n.Text
}

func (v *validator) integer(n *jsondoc.Node, pointer string, lo, hi int) {
	if n == nil {
		return
	}
	var i int
	if n.Kind != jsondoc.Number || json.Unmarshal([]byte(n.Text), &i) != nil {
		v.fail(n, pointer, "must be an integer")
		return
	}
	if i < lo || i > hi {
		v.fail(n, pointer, "must be between %d and %d, not %d", lo, hi, i)
	}
}

func (v *validator) rule(n *jsondoc.Node, knownCode func(protocol, code string) bool) {
	if !v.object(n, "", "id", "name", "enabled", "match", "when", "effect", "hits", "matched", "source") {
		return
	}
	if id := n.Get("id"); id != nil {
		if s := v.str(id, "/id", nil); v.problem == nil && !idPattern.MatchString(s) {
			v.fail(id, "/id", "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		}
	}
	v.str(n.Get("name"), "/name", nil)
	if e := n.Get("enabled"); e != nil && e.Kind != jsondoc.Bool {
		v.fail(e, "/enabled", "must be true or false")
	}
	protocol := ""
	if m := n.Get("match"); m != nil {
		protocol = v.match(m)
	}
	if w := n.Get("when"); w != nil {
		v.when(w)
	}
	e := n.Get("effect")
	if e == nil {
		v.fail(n, "", "a rule needs an effect")
		return
	}
	v.effect(e, protocol, knownCode)
}

func (v *validator) match(m *jsondoc.Node) string {
	if !v.object(m, "/match", "protocol", "provider", "operation", "method", "path", "offering_id", "tier_id", "header", "body") {
		return ""
	}
	protocol := v.str(m.Get("protocol"), "/match/protocol", protocols)
	if op := v.str(m.Get("operation"), "/match/operation", Operations); op != "" && protocol == "" {
		protocol, _, _ = strings.Cut(op, ".")
	}
	v.str(m.Get("provider"), "/match/provider", nil)
	if meth := v.str(m.Get("method"), "/match/method", nil); meth != "" && meth != strings.ToUpper(meth) {
		v.fail(m.Get("method"), "/match/method", "methods are upper case (%s)", strings.ToUpper(meth))
	}
	if p := v.str(m.Get("path"), "/match/path", nil); p != "" {
		if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil || !strings.HasPrefix(p, "/") {
			v.fail(m.Get("path"), "/match/path", "must be a glob starting with / (* within a segment, ** across)")
		}
	}
	v.str(m.Get("offering_id"), "/match/offering_id", nil)
	v.str(m.Get("tier_id"), "/match/tier_id", nil)
	if h := m.Get("header"); h != nil && v.object(h, "/match/header", memberNames(h)...) {
		for _, mem := range h.Members {
			v.str(mem.Value, "/match/header/"+jsondoc.PointerToken(mem.Name), nil)
		}
	}
	if b := m.Get("body"); b != nil && v.object(b, "/match/body", memberNames(b)...) {
		for _, mem := range b.Members {
			if mem.Name != "" && !strings.HasPrefix(mem.Name, "/") {
				v.fail(mem.Value, "/match/body/"+jsondoc.PointerToken(mem.Name), "names a JSON Pointer into the request body, starting with /")
			}
		}
	}
	return protocol
}

func (v *validator) when(w *jsondoc.Node) {
	if !v.object(w, "/when", "nth", "every", "first", "after", "probability", "seed", "times", "from", "until") {
		return
	}
	for _, k := range []string{"nth", "every", "first", "times"} {
		v.integer(w.Get(k), "/when/"+k, 1, 1<<31-1)
	}
	v.integer(w.Get("after"), "/when/after", 0, 1<<31-1)
	if p := w.Get("probability"); p != nil {
		var f float64
		if p.Kind != jsondoc.Number || json.Unmarshal([]byte(p.Text), &f) != nil || f < 0 || f > 1 {
			v.fail(p, "/when/probability", "must be a number from 0 to 1")
		}
	}
	if s := w.Get("seed"); s != nil {
		var u uint64
		if s.Kind != jsondoc.Number || json.Unmarshal([]byte(s.Text), &u) != nil {
			v.fail(s, "/when/seed", "must be a non-negative integer")
		}
	}
	var times [2]time.Time
	for i, k := range []string{"from", "until"} {
		if t := w.Get(k); t != nil {
			var err error
			if times[i], err = time.Parse(time.RFC3339, v.str(t, "/when/"+k, nil)); err != nil && v.problem == nil {
				v.fail(t, "/when/"+k, "must be an RFC 3339 time on the workspace clock (2026-12-01T10:00:00Z)")
			}
		}
	}
	if !times[0].IsZero() && !times[1].IsZero() && !times[1].After(times[0]) {
		v.fail(w.Get("until"), "/when/until", "must be after from")
	}
}

func (v *validator) effect(e *jsondoc.Node, protocol string, knownCode func(protocol, code string) bool) {
	if e.Kind != jsondoc.Object {
		v.fail(e, "/effect", "must be an object")
		return
	}
	var kinds []string
	for _, k := range effectKindKeys {
		if e.Get(k) != nil {
			kinds = append(kinds, k)
		}
	}
	kind := ""
	switch {
	case e.Get("provisioning") != nil:
		kind = "provisioning" // it names its error code too
	case len(kinds) == 1:
		kind = kinds[0]
		if kind == "latency_ms" {
			kind = "latency"
		}
	case len(kinds) == 0:
		v.fail(e, "/effect", "needs one of %s", strings.Join(effectKindKeys, ", "))
		return
	default:
		v.fail(e, "/effect", "has more than one effect (%s); a rule has one", strings.Join(kinds, ", "))
		return
	}
	if !v.object(e, "/effect", effectMembers[kind]...) {
		return
	}
	code := func(n *jsondoc.Node, pointer string) {
		c := v.str(n, pointer, nil)
		if n != nil && v.problem == nil && c == "" {
			v.fail(n, pointer, "must name an error code")
		}
		if v.problem == nil && c != "" && knownCode != nil && !knownCode(protocol, c) {
			where := "in OSP, BSP or OAP"
			if protocol != "" {
				where = "in " + strings.ToUpper(protocol)
			}
			v.fail(n, pointer, "%q is not an error code %s", c, where)
		}
	}
	switch kind {
	case "error":
		code(e.Get("error"), "/effect/error")
		v.integer(e.Get("retry_after_seconds"), "/effect/retry_after_seconds", 0, 86400)
		v.str(e.Get("message"), "/effect/message", nil)
	case "latency":
		if e.Get("latency_ms") != nil && e.Get("latency") != nil {
			v.fail(e, "/effect", "has latency_ms and latency; give one")
		}
		v.integer(e.Get("latency_ms"), "/effect/latency_ms", 0, maxLatencyMS)
		if l := e.Get("latency"); l != nil && v.object(l, "/effect/latency", "distribution", "min_ms", "max_ms", "median_ms", "sigma") {
			dist := v.str(l.Get("distribution"), "/effect/latency/distribution", distributions)
			if l.Get("distribution") == nil {
				v.fail(l, "/effect/latency", "needs a distribution (uniform or lognormal)")
			}
			for _, k := range []string{"min_ms", "max_ms", "median_ms"} {
				v.integer(l.Get(k), "/effect/latency/"+k, 0, maxLatencyMS)
			}
			var lat Latency
			json.Unmarshal(jsondoc.Compact(l), &lat)
			switch {
			case v.problem != nil:
			case dist == "uniform" && (l.Get("max_ms") == nil || lat.MaxMS < lat.MinMS):
				v.fail(l, "/effect/latency/max_ms", "a uniform latency needs max_ms, at least min_ms")
			case dist == "lognormal" && l.Get("median_ms") == nil:
				v.fail(l, "/effect/latency/median_ms", "a lognormal latency needs median_ms")
			case dist == "lognormal" && (lat.Sigma < 0 || lat.Sigma > 5):
				v.fail(l.Get("sigma"), "/effect/latency/sigma", "must be from 0 to 5")
			case lat.MaxMS > 0 && lat.MaxMS < lat.MinMS:
				v.fail(l.Get("max_ms"), "/effect/latency/max_ms", "must be at least min_ms")
			}
		}
	case "network":
		fault := v.str(e.Get("network"), "/effect/network", networkFaults)
		v.integer(e.Get("bytes"), "/effect/bytes", 0, 1<<30)
		v.integer(e.Get("bytes_per_second"), "/effect/bytes_per_second", 1, 1<<30)
		switch {
		case v.problem != nil:
		case fault == "truncate" && e.Get("bytes") == nil:
			v.fail(e, "/effect/bytes", "truncate needs bytes: how much of the body is sent")
		case fault == "dribble" && e.Get("bytes_per_second") == nil:
			v.fail(e, "/effect/bytes_per_second", "dribble needs bytes_per_second")
		case fault != "truncate" && e.Get("bytes") != nil:
			v.fail(e.Get("bytes"), "/effect/bytes", "only truncate takes bytes")
		case fault != "dribble" && e.Get("bytes_per_second") != nil:
			v.fail(e.Get("bytes_per_second"), "/effect/bytes_per_second", "only dribble takes bytes_per_second")
		}
	case "provisioning":
		v.str(e.Get("provisioning"), "/effect/provisioning", []string{"fail"})
		v.integer(e.Get("after_seconds"), "/effect/after_seconds", 0, 86400)
		code(e.Get("error"), "/effect/error")
		v.str(e.Get("message"), "/effect/message", nil)
	case "webhook":
		mode := v.str(e.Get("webhook"), "/effect/webhook", []string{"fail", "drop"})
		v.integer(e.Get("status"), "/effect/status", 400, 599)
		if mode == "drop" && e.Get("status") != nil {
			v.fail(e.Get("status"), "/effect/status", "a dropped delivery has no status")
		}
	case "stream":
		v.str(e.Get("stream"), "/effect/stream", []string{"drop_after"})
		v.integer(e.Get("events"), "/effect/events", 0, 1<<30)
		if e.Get("events") == nil {
			v.fail(e, "/effect/events", "drop_after needs events: how many are sent before the cut")
		}
	}
}

func memberNames(n *jsondoc.Node) []string {
	out := make([]string, 0, len(n.Members))
	for _, m := range n.Members {
		out = append(out, m.Name)
	}
	return out
}
