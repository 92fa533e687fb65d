package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

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
		s += " / " + intervalWord(p.Interval)
	}
	return s
}

func intervalWord(d string) string {
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

var (
	offeringIDPattern = regexp.MustCompile(`^[a-z0-9-]+/[a-z0-9-]+$`)
	tierIDPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	amount2Pattern    = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)
	amountNPattern    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	currencyPattern   = regexp.MustCompile(`^[A-Z]{3,4}$`)
	durationPattern   = regexp.MustCompile(`^P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$`)
)

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
	return ParseOSP(slug, rel, data)
}

// ParseOSP validates an authored OSP manifest and builds its normalised model.
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
	} else {
		r.at(SeverityError, "", "dialect_undetected",
			"cannot tell which OSP dialect this is: add osp_base_url and provider_name (dialect C), or manifest_id with an endpoints map (A)")
		dialect = DialectC
	}
	r.rep.DeclaredVersion = root.Str("osp_version")
	m := &OSPManifest{Slug: slug, File: file, Doc: r.doc, Dialect: dialect}
	switch dialect {
	case DialectC:
		r.requireString(root, "", "osp_version", "provider_id", "provider_name", "osp_base_url")
		if v := root.Str("osp_version"); v != "" && v != "1.0" && v != "1.1" {
			r.at(SeverityError, "/osp_version", "enum", `osp_version must be "1.0" or "1.1"`)
		}
		m.ProviderID, m.ProviderName = root.Str("provider_id"), root.Str("provider_name")
	case DialectA:
		r.requireString(root, "", "manifest_id", "provider_id", "display_name")
		m.ProviderID, m.ProviderName = root.Str("provider_id"), root.Str("display_name")
	case DialectB:
		p := root.Get("provider")
		r.requireString(p, "/provider", "provider_id", "display_name")
		m.ProviderID, m.ProviderName = p.Str("provider_id"), p.Str("display_name")
	}
	m.Offerings = r.offerings(root, dialect)
	r.rep.Signature = verifySignature(r)
	rep := r.finish()
	if !rep.Valid {
		return nil, rep
	}
	return m, rep
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

func (r *reporter) requireString(obj *jsondoc.Node, ptr string, names ...string) {
	if obj == nil || obj.Kind != jsondoc.Object {
		r.at(SeverityError, ptr, "type", fmt.Sprintf("%s must be an object", displayPtr(ptr)))
		return
	}
	for _, name := range names {
		v := obj.Get(name)
		switch {
		case v == nil:
			r.at(SeverityError, ptr, "required", fmt.Sprintf("missing required member %q in %s", name, displayPtr(ptr)))
		case v.Kind != jsondoc.String:
			r.at(SeverityError, ptr+"/"+name, "type", fmt.Sprintf("%s must be a string, not %s", name, v.Kind))
		case strings.TrimSpace(v.Text) == "":
			r.at(SeverityError, ptr+"/"+name, "empty", fmt.Sprintf("%s must not be empty", name))
		}
	}
}

func displayPtr(p string) string {
	if p == "" {
		return "the manifest"
	}
	return p
}

func (r *reporter) offerings(root *jsondoc.Node, dialect string) []Offering {
	arr := root.Get("offerings")
	if arr == nil {
		r.at(SeverityError, "", "required", `missing required member "offerings" — list at least one offering`)
		return nil
	}
	if arr.Kind != jsondoc.Array || len(arr.Items) == 0 {
		r.at(SeverityError, "/offerings", "min_items", "offerings must be an array with at least one offering")
		return nil
	}
	var out []Offering
	seen := map[string]string{}
	for i, on := range arr.Items {
		ptr := fmt.Sprintf("/offerings/%d", i)
		if on.Kind != jsondoc.Object {
			r.at(SeverityError, ptr, "type", "an offering must be an object")
			continue
		}
		r.requireString(on, ptr, "offering_id")
		o := Offering{ID: on.Str("offering_id"), Name: on.Str("name"), Category: on.Str("category"),
			Description: on.Str("description"), SandboxAvailable: true}
		if sa := on.Get("sandbox_available"); sa != nil && sa.Kind == jsondoc.Bool {
			o.SandboxAvailable = sa.Text == "true"
		}
		if o.ID != "" {
			if !offeringIDPattern.MatchString(o.ID) || len(o.ID) > 128 {
				r.at(SeverityError, ptr+"/offering_id", "pattern", `offering_id must look like "provider/service" (lower-case letters, digits and hyphens)`)
			}
			if first, dup := seen[o.ID]; dup {
				r.at(SeverityError, ptr+"/offering_id", "duplicate_offering_id", fmt.Sprintf("offering_id %q is already used %s; give each offering its own id", o.ID, r.where(first+"/offering_id")))
			}
			seen[o.ID] = ptr
		}
		if o.Name == "" && dialect == DialectC {
			r.at(SeverityWarning, ptr, "name_missing", "offering has no name; agents and the catalog will show its id")
		}
		o.Tiers = r.tiers(on, ptr, dialect)
		out = append(out, o)
	}
	return out
}

func (r *reporter) tiers(on *jsondoc.Node, ptr, dialect string) []Tier {
	arr := on.Get("tiers")
	if arr == nil || arr.Kind != jsondoc.Array || len(arr.Items) == 0 {
		at := ptr + "/tiers"
		if arr == nil {
			at = ptr
		}
		r.at(SeverityError, at, "empty_offering", "an offering needs a tiers array with at least one tier")
		return nil
	}
	var out []Tier
	seen := map[string]string{}
	for j, tn := range arr.Items {
		tp := fmt.Sprintf("%s/tiers/%d", ptr, j)
		if tn.Kind != jsondoc.Object {
			r.at(SeverityError, tp, "type", "a tier must be an object")
			continue
		}
		r.requireString(tn, tp, "tier_id", "name")
		t := Tier{ID: tn.Str("tier_id"), Name: tn.Str("name")}
		if t.ID != "" {
			if !tierIDPattern.MatchString(t.ID) {
				r.at(SeverityError, tp+"/tier_id", "pattern", "tier_id must be lower-case letters, digits, '-' or '_' (at most 64)")
			}
			if first, dup := seen[t.ID]; dup {
				r.at(SeverityError, tp+"/tier_id", "duplicate_tier_id", fmt.Sprintf("tier_id %q is already used %s in this offering; tier ids must be unique", t.ID, r.where(first+"/tier_id")))
			}
			seen[t.ID] = tp
		}
		t.Price = r.price(tn.Get("price"), tp, dialect)
		out = append(out, t)
	}
	return out
}

func (r *reporter) price(pn *jsondoc.Node, tp, dialect string) Price {
	pp := tp + "/price"
	if pn == nil {
		r.at(SeverityError, tp, "required", `missing required member "price", e.g. {"amount": "0", "currency": "USD"}`)
		return Price{}
	}
	r.requireString(pn, pp, "amount", "currency")
	p := Price{Amount: pn.Str("amount"), Currency: pn.Str("currency")}
	amountRule := amount2Pattern
	if dialect == DialectB {
		amountRule = amountNPattern
	}
	if p.Amount != "" && !amountRule.MatchString(p.Amount) {
		r.at(SeverityError, pp+"/amount", "pattern", `amount must be a decimal string such as "25.00"`)
	}
	if p.Currency != "" && !currencyPattern.MatchString(p.Currency) {
		r.at(SeverityError, pp+"/currency", "pattern", `currency must be three or four upper-case letters such as "USD"`)
	}
	iv := pn.Get("interval")
	switch {
	case iv == nil || iv.Kind == jsondoc.Null:
	case iv.Kind != jsondoc.String:
		r.at(SeverityError, pp+"/interval", "type", "interval must be a string or null")
	case dialect == DialectB:
		d, ok := bIntervals[iv.Text]
		if !ok {
			r.at(SeverityError, pp+"/interval", "enum", "interval must be one of one_time, hourly, daily, monthly, yearly")
		}
		p.Interval = d
	default:
		if iv.Text == "P" || iv.Text == "PT" || !durationPattern.MatchString(iv.Text) {
			r.at(SeverityError, pp+"/interval", "duration", `interval must be an ISO 8601 duration such as "P1M" or "P1Y", or null for a one-time price`)
		}
		p.Interval = iv.Text
	}
	return p
}
