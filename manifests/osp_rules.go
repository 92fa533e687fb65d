package manifests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3,4}$`)

// dialectSignals are the members that identify each dialect, for the mixed_dialect warning.
var dialectSignals = map[string][]string{
	DialectC: {"osp_base_url", "provider_name"},
	DialectB: {"published_at", "provider"},
	DialectA: {"manifest_id", "display_name"},
}

func (r *reporter) mixedDialect(root *jsondoc.Node, dialect string) {
	var others []string
	for _, d := range []string{DialectA, DialectB, DialectC} {
		sigs := dialectSignals[d]
		if d == dialect {
			continue
		}
		for _, s := range sigs {
			if root.Has(s) && !(dialect == DialectB && s == "manifest_id") {
				others = append(others, s+" ("+d+")")
			}
		}
	}
	if len(others) > 0 {
		r.at(SeverityWarning, "", "mixed_dialect", fmt.Sprintf("dialect %s manifest also has members of other dialects: %s; they are kept but not used", dialect, strings.Join(others, ", ")))
	}
}

// ospRules are the checks a schema cannot express (spec/osp.md §2.4–§2.7).
func (r *reporter) ospRules(m *OSPManifest) {
	root := m.Doc.Root
	offerings := items(root.Get("offerings"))
	seenOffering := map[string]string{}
	provider := ""
	allTiers := map[string]bool{}
	for i, on := range offerings {
		ptr := fmt.Sprintf("/offerings/%d", i)
		id := on.Str("offering_id")
		if id != "" {
			if first, dup := seenOffering[id]; dup {
				r.at(SeverityError, ptr+"/offering_id", "duplicate_offering_id", fmt.Sprintf("offering_id %q is already used %s; give each offering its own id", id, r.where(first+"/offering_id")))
			}
			seenOffering[id] = ptr
			if seg, _, ok := strings.Cut(id, "/"); ok {
				if provider == "" {
					provider = seg
				} else if seg != provider {
					r.at(SeverityWarning, ptr+"/offering_id", "offering_prefix_mismatch", fmt.Sprintf("offering_id %q starts with %q but earlier offerings start with %q; one provider normally uses one prefix", id, seg, provider))
				}
			}
		}
		if m.Dialect == DialectC {
			if !on.Has("name") {
				r.at(SeverityWarning, ptr, "name_missing", "offering has no name; agents and the catalog will show its id")
			}
			if !on.Has("category") {
				r.at(SeverityWarning, ptr, "category_missing", "offering has no category; catalogs cannot group it")
			}
			if !on.Has("credentials_schema") {
				r.at(SeverityWarning, ptr, "credentials_schema_missing", "no credentials_schema; ospbox will issue API_URL and API_KEY")
			}
		}
		for _, member := range []string{"credentials_schema", "configuration_schema"} {
			r.compilesAsSchema(on.Get(member), ptr+"/"+member)
		}
		if eps := on.Get("estimated_provision_seconds"); eps != nil && eps.Kind == jsondoc.Number && len(eps.Text) > 0 && !strings.HasPrefix(eps.Text, "-") && numberAbove(eps.Text, 300) {
			r.at(SeverityWarning, ptr+"/estimated_provision_seconds", "provision_time_clamped", "estimated_provision_seconds above 300: ospbox simulates at most 300 seconds")
		}
		r.deprecation(on, ptr)
		seenTier := map[string]string{}
		for j, tn := range items(on.Get("tiers")) {
			tp := fmt.Sprintf("%s/tiers/%d", ptr, j)
			tid := tn.Str("tier_id")
			if tid != "" {
				if first, dup := seenTier[tid]; dup {
					r.at(SeverityError, tp+"/tier_id", "duplicate_tier_id", fmt.Sprintf("tier_id %q is already used %s in this offering; tier ids must be unique", tid, r.where(first+"/tier_id")))
				}
				seenTier[tid] = tp
				allTiers[tid] = true
			}
			if m.Dialect == DialectC {
				if cur := tn.Get("price").Str("currency"); currencyCode.MatchString(cur) && !contains([]string{"USD", "EUR", "GBP", "USDC", "EURC"}, cur) {
					r.at(SeverityWarning, tp+"/price/currency", "currency_unusual", fmt.Sprintf("currency %q is not one of USD, EUR, GBP, USDC, EURC; spending caps count it only with an fx rate (caps.fx_rates)", cur))
				}
			}
			r.deprecation(tn, tp)
			r.paymentMethods(root, on, tn, tp)
		}
	}
	if m.Dialect == DialectC {
		if tt := root.Get("trust_tier_required"); tt != nil && tt.Kind == jsondoc.String {
			r.at(SeverityWarning, "/trust_tier_required", "trust_tier_string", "trust_tier_required should be an integer 0–3 in dialect C; the string is mapped (none=0, basic=1, verified=2, enterprise=3)")
		}
		if u := root.Str("osp_base_url"); u != "" && !strings.HasSuffix(strings.TrimSuffix(u, "/"), "/osp/v1") {
			r.at(SeverityWarning, "/osp_base_url", "base_url_suffix", "osp_base_url normally ends in /osp/v1; clients append the operation paths to it")
		}
	}
	for i, t := range items(root.Get("identity").Get("identity_required_for_tiers")) {
		if t.Kind == jsondoc.String && !allTiers[t.Text] {
			r.at(SeverityWarning, fmt.Sprintf("/identity/identity_required_for_tiers/%d", i), "tier_reference", fmt.Sprintf("no offering has a tier %q", t.Text))
		}
	}
}

// numberAbove reports whether a JSON number literal is greater than limit.
func numberAbove(lit string, limit float64) bool {
	var f float64
	_, err := fmt.Sscan(lit, &f)
	return err == nil && f > limit
}

// compilesAsSchema reports a credentials_schema or configuration_schema that is not a usable
// JSON Schema 2020-12.
func (r *reporter) compilesAsSchema(n *jsondoc.Node, ptr string) {
	if n == nil || n.Kind != jsondoc.Object {
		return
	}
	var src []byte
	if r.doc != nil && n.Start >= 0 {
		src = r.doc.Source()[n.Start:n.End]
	}
	if err := compileEmbedded(n, src); err != nil {
		r.at(SeverityError, ptr, "schema_invalid", "not a valid JSON Schema 2020-12: "+firstLine(err.Error()))
	}
}

// embeddedSchemas compiles authored schemas (credentials_schema, command documents, …). One
// compiler serves them all, so the draft 2020-12 metaschema is compiled once, not per schema;
// results are remembered by content, since manifests repeat schemas and every save
// revalidates.
var embeddedSchemas = schemaCache{results: map[[32]byte]compiledResult{}}

// formatSchemas is the same for BSP command and event data, whose formats are assertions
// (spec/bsp.md §8.3: date, date-time, uri, email, uuid).
var formatSchemas = schemaCache{results: map[[32]byte]compiledResult{}, assertFormat: true}

type schemaCache struct {
	sync.Mutex
	compiler     *jsonschema.Compiler
	results      map[[32]byte]compiledResult
	assertFormat bool
}

type compiledResult struct {
	schema *jsonschema.Schema
	err    error
}

const maxCompiledSchemas = 4096

// compileEmbedded reports whether n compiles (src, when known, is its source text: hashing it is
// cheaper than canonicalising).
func compileEmbedded(n *jsondoc.Node, src []byte) error {
	_, err := compiledEmbeddedSrc(n, src)
	return err
}

func compiledEmbedded(n *jsondoc.Node) (*jsonschema.Schema, error) {
	return compiledEmbeddedSrc(n, nil)
}

func compiledEmbeddedSrc(n *jsondoc.Node, src []byte) (*jsonschema.Schema, error) {
	return embeddedSchemas.compile(n, src)
}

func (e *schemaCache) compile(n *jsondoc.Node, src []byte) (*jsonschema.Schema, error) {
	if src == nil {
		src = jsondoc.Canonical(n)
	}
	key := sha256.Sum256(src)
	e.Lock()
	defer e.Unlock()
	if res, ok := e.results[key]; ok {
		return res.schema, res.err
	}
	if e.compiler == nil || len(e.results) >= maxCompiledSchemas {
		e.compiler = jsonschema.NewCompiler()
		e.compiler.DefaultDraft(jsonschema.Draft2020)
		if e.assertFormat {
			e.compiler.AssertFormat()
		}
		clear(e.results)
	}
	url := "https://schemas.ospbox.invalid/embedded/" + hex.EncodeToString(key[:]) + ".json"
	var res compiledResult
	res.err = e.compiler.AddResource(url, toValue(n))
	if res.err == nil {
		res.schema, res.err = e.compiler.Compile(url)
	}
	e.results[key] = res
	return res.schema, res.err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// deprecation checks sunset_at against deprecated_at (OSP spec §4.5 asks for 90 days' notice).
func (r *reporter) deprecation(n *jsondoc.Node, ptr string) {
	if !n.Has("sunset_at") || !n.Has("deprecated_at") {
		return
	}
	dep, err1 := time.Parse(time.RFC3339, n.Str("deprecated_at"))
	sun, err2 := time.Parse(time.RFC3339, n.Str("sunset_at"))
	if err1 == nil && err2 == nil && sun.Sub(dep) < 90*24*time.Hour {
		r.at(SeverityWarning, ptr+"/sunset_at", "sunset_too_soon", "sunset_at is less than 90 days after deprecated_at; agents are promised 90 days' notice")
	}
}

// paymentMethods warns when the accepted methods cannot pay for a tier (free tier without
// "free", paid tier with only "free").
func (r *reporter) paymentMethods(root, offering, tier *jsondoc.Node, ptr string) {
	methods := tier.Get("accepted_payment_methods")
	if methods == nil {
		methods = root.Get("accepted_payment_methods")
	}
	if methods == nil || methods.Kind != jsondoc.Array {
		return
	}
	var list []string
	for _, it := range methods.Items {
		list = append(list, it.Text)
	}
	amount := tier.Get("price").Str("amount")
	free := amount != "" && strings.Trim(strings.ReplaceAll(amount, ".", ""), "0") == ""
	switch {
	case free && !contains(list, "free"):
		r.at(SeverityWarning, ptr+"/price", "free_not_accepted", "this tier is free but the accepted payment methods do not include \"free\"; agents cannot provision it without paying")
	case !free && amount != "" && len(list) > 0 && allFree(list):
		r.at(SeverityWarning, ptr+"/price", "paid_tier_free_only", "this tier costs "+amount+" but the only accepted payment method is \"free\"")
	}
}

func allFree(list []string) bool {
	for _, m := range list {
		if m != "free" {
			return false
		}
	}
	return true
}
