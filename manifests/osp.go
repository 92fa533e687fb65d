package manifests

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// OSP dialects (spec/osp.md §1).
const (
	DialectA = "A"
	DialectB = "B"
	DialectC = "C"
)

// OSPManifest is a provider's authored manifest, parsed and normalised. It is immutable once
// built; a new file version gives a new OSPManifest.
type OSPManifest struct {
	Slug         string
	File         string // relative to the workspace
	Doc          *jsondoc.Document
	Dialect      string
	ProviderID   string
	ProviderName string
	Offerings    []Offering
}

// Offering is one service a provider sells, in the canonical (C) model.
type Offering struct {
	ID               string
	Name             string
	Category         string
	Description      string
	SandboxAvailable bool
	Tiers            []Tier
}

// Tier is one plan of an offering.
type Tier struct {
	ID    string
	Name  string
	Price Price
}

// Price is a decimal amount in a currency; Interval is an ISO 8601 duration, "" for one-time.
type Price struct {
	Amount   string
	Currency string
	Interval string
}

// Free reports whether the tier costs nothing.
func (t Tier) Free() bool {
	return strings.Trim(strings.ReplaceAll(t.Price.Amount, ".", ""), "0") == ""
}

// Label renders a price for people: "Free", "USD 25.00 / P1M".
func (p Price) Label() string {
	if strings.Trim(strings.ReplaceAll(p.Amount, ".", ""), "0") == "" {
		return "Free"
	}
	s := p.Currency + " " + p.Amount
	if p.Interval != "" {
		s += " / " + IntervalWord(p.Interval)
	}
	return s
}

// IntervalWord names an ISO 8601 billing interval in words ("P1M" is "month"); "" is one-time.
func IntervalWord(d string) string {
	if d == "" {
		return "one-time"
	}
	switch d {
	case "P1M":
		return "month"
	case "P1Y":
		return "year"
	case "P1D":
		return "day"
	case "PT1H":
		return "hour"
	case "P7D", "P1W":
		return "week"
	}
	return d
}

var bIntervals = map[string]string{"one_time": "", "hourly": "PT1H", "daily": "P1D", "monthly": "P1M", "yearly": "P1Y"}

// LoadOSP reads and validates provider slug's authored manifest. The manifest is nil when the
// file cannot be read or has errors; the report says why.
func (w *Workspace) LoadOSP(slug string) (*OSPManifest, Report) {
	rel := OSPPath(slug)
	data, err := os.ReadFile(filepath.Join(w.Dir, filepath.FromSlash(rel)))
	if err != nil {
		r := newReporter(rel, "osp")
		r.at(SeverityError, "", "unreadable", err.Error())
		return nil, r.finish()
	}
	m, rep := ParseOSP(slug, rel, data)
	w.checkServedBaseURL(slug, data, &rep)
	return m, rep
}

// checkServedBaseURL warns when osp_base_url points at this machine but not at a place where
// ospbox serves the provider: a production URL is fine (ospbox rewrites it in the served copy),
// a loopback URL that misses the mount is a mistake clients would follow.
func (w *Workspace) checkServedBaseURL(slug string, data []byte, rep *Report) {
	doc, err := jsondoc.Parse(data)
	if err != nil || doc.Root.Kind != jsondoc.Object {
		return
	}
	raw := doc.Root.Str("osp_base_url")
	u, err := url.Parse(raw)
	if raw == "" || err != nil || !isLoopbackHost(u.Hostname()) {
		return
	}
	_, port, _ := strings.Cut(w.Config.Listen, ":")
	want := []string{"/providers/" + slug + "/osp/v1"}
	if w.Config.OSP.DefaultProvider == slug {
		want = append(want, "/osp/v1")
	}
	path := strings.TrimSuffix(u.Path, "/")
	hostOK := u.Port() == port && (u.Hostname() != slug+".localhost" || path == "/osp/v1")
	if hostOK && (contains(want, path) || u.Hostname() == slug+".localhost") {
		return
	}
	r := &reporter{file: rep.File, doc: doc, rep: rep}
	r.at(SeverityWarning, "/osp_base_url", "base_url_not_served", fmt.Sprintf("osp_base_url points at this machine but ospbox serves %s at http://%s/providers/%s/osp/v1 (or http://%s.localhost:%s/osp/v1); clients reading the authored file would miss it", slug, w.Config.Listen, slug, slug, port))
	rep.Valid = len(rep.Errors) == 0
}

func isLoopbackHost(h string) bool {
	h = strings.ToLower(h)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ParseOSP validates an authored OSP manifest and builds its normalised model: strict JSON,
// dialect detection, ospbox's schema for that dialect, then the semantic rules (ospRules).
func ParseOSP(slug, file string, data []byte) (*OSPManifest, Report) {
	r := newReporter(file, "osp")
	if !r.parse(data) {
		return nil, r.finish()
	}
	root := r.doc.Root
	dialect, signals := DetectOSPDialect(root)
	r.rep.Signals = signals
	if dialect != "" {
		r.rep.Dialect = &dialect
		r.mixedDialect(root, dialect)
	} else {
		r.at(SeverityError, "", "dialect_undetected",
			"cannot tell which OSP dialect this is: add osp_base_url and provider_name (dialect C), or manifest_id with an endpoints map (A)")
		dialect = DialectC
	}
	r.rep.DeclaredVersion = root.Str("osp_version")
	// The schema and the semantic rules read the same immutable tree: run them side by side
	// (a 1 MB manifest validates in about half the time on two cores), then merge the findings
	// in the order a sequential run would produce them.
	schema, rules := r.fork(), r.fork()
	var wg sync.WaitGroup
	wg.Go(func() { schema.checkSchema("osp/"+strings.ToLower(dialect)+".json", root) })
	m := buildOSP(slug, file, r.doc, dialect)
	rules.ospRules(m)
	r.rep.Signature = verifySignature(rules)
	wg.Wait()
	r.merge(schema)
	r.merge(rules)
	rep := r.finish()
	if !rep.Valid {
		return nil, rep
	}
	return m, rep
}

// buildOSP reads the canonical model out of a manifest of any dialect. It tolerates anything
// (the schema has already reported what is wrong).
func buildOSP(slug, file string, doc *jsondoc.Document, dialect string) *OSPManifest {
	root := doc.Root
	m := &OSPManifest{Slug: slug, File: file, Doc: doc, Dialect: dialect}
	switch dialect {
	case DialectA:
		m.ProviderID, m.ProviderName = root.Str("provider_id"), root.Str("display_name")
	case DialectB:
		p := root.Get("provider")
		m.ProviderID, m.ProviderName = p.Str("provider_id"), p.Str("display_name")
	default:
		m.ProviderID, m.ProviderName = root.Str("provider_id"), root.Str("provider_name")
	}
	for _, on := range items(root.Get("offerings")) {
		o := Offering{ID: on.Str("offering_id"), Name: on.Str("name"), Category: on.Str("category"),
			Description: on.Str("description"), SandboxAvailable: true}
		if sa := on.Get("sandbox_available"); sa != nil && sa.Kind == jsondoc.Bool {
			o.SandboxAvailable = sa.Text == "true"
		}
		for _, tn := range items(on.Get("tiers")) {
			pn := tn.Get("price")
			t := Tier{ID: tn.Str("tier_id"), Name: tn.Str("name"), Price: Price{Amount: pn.Str("amount"), Currency: pn.Str("currency"), Interval: pn.Str("interval")}}
			if dialect == DialectB {
				t.Price.Interval = bIntervals[pn.Str("interval")]
			}
			o.Tiers = append(o.Tiers, t)
		}
		m.Offerings = append(m.Offerings, o)
	}
	return m
}

// items returns an array's elements, or nothing for a missing or non-array value.
func items(n *jsondoc.Node) []*jsondoc.Node {
	if n == nil || n.Kind != jsondoc.Array {
		return nil
	}
	return n.Items
}

// DetectOSPDialect applies spec/osp.md §2.1 and returns the dialect ("" when undetected) and the
// signals present.
func DetectOSPDialect(root *jsondoc.Node) (string, []string) {
	signals := []string{}
	for _, s := range []string{"osp_base_url", "provider_name", "manifest_id", "published_at"} {
		if root.Has(s) {
			signals = append(signals, s)
		}
	}
	provider := root.Get("provider")
	endpoints := root.Get("endpoints")
	if provider != nil && provider.Kind == jsondoc.Object {
		signals = append(signals, "provider")
	}
	if endpoints != nil && endpoints.Kind == jsondoc.Object {
		signals = append(signals, "endpoints")
		if endpoints.Has("base_url") {
			signals = append(signals, "endpoints.base_url")
		}
	}
	has := func(s string) bool {
		for _, x := range signals {
			if x == s {
				return true
			}
		}
		return false
	}
	switch {
	case has("osp_base_url") || has("provider_name"):
		return DialectC, signals
	case has("provider") && has("published_at") && has("endpoints.base_url"):
		return DialectB, signals
	case has("manifest_id") && has("endpoints"):
		return DialectA, signals
	}
	return "", signals
}
