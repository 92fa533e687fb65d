package osp

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// Catalog is the aggregated, Stripe-Projects-style catalog of every OSP provider in the
// workspace (spec/catalog.md). It is ospbox's own API, not part of OSP.
type Catalog struct {
	OK        bool        `json:"ok"`
	Command   string      `json:"command"`
	Version   string      `json:"version"`
	Data      CatalogData `json:"data"`
	Warnings  []string    `json:"warnings"`
	NextSteps []string    `json:"next_steps"`
	Meta      CatalogMeta `json:"meta"`
}

// CatalogData is the catalog's payload.
type CatalogData struct {
	LastUpdated    string            `json:"last_updated"`
	ProviderFilter *string           `json:"provider_filter"`
	CategoryFilter *string           `json:"category_filter"`
	Source         string            `json:"source"`
	Providers      []CatalogProvider `json:"providers"`
	Services       []CatalogService  `json:"services"`
}

// CatalogMeta names the workspace and where it listens.
type CatalogMeta struct {
	Workspace string `json:"workspace"`
	Listen    string `json:"listen"`
}

// CatalogProvider summarises one provider (spec/catalog.md §3).
type CatalogProvider struct {
	ProviderSlug    string     `json:"provider_slug"`
	ProviderID      string     `json:"provider_id"`
	ProviderName    string     `json:"provider_name"`
	ManifestURL     string     `json:"manifest_url"`
	OSPBaseURL      string     `json:"osp_base_url"`
	Dialect         string     `json:"dialect"`
	SignatureStatus string     `json:"signature_status"`
	Availability    string     `json:"availability"`
	Cap             CapSummary `json:"cap"`
}

// CapSummary is a provider's spend against its monthly cap.
type CapSummary struct {
	MonthlyLimit manifests.MoneyAmount `json:"monthly_limit"`
	CurrentSpend manifests.MoneyAmount `json:"current_spend"`
	Remaining    manifests.MoneyAmount `json:"remaining"`
	PercentUsed  float64               `json:"percent_used"`
	Status       string                `json:"status"`
}

// CatalogService is one offering (spec/catalog.md §4).
type CatalogService struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	OfferingID          string          `json:"offering_id"`
	ProviderSlug        string          `json:"provider_slug"`
	ProviderID          string          `json:"provider_id"`
	ProviderName        string          `json:"provider_name"`
	Name                string          `json:"name"`
	Description         *string         `json:"description"`
	Categories          []string        `json:"categories"`
	Scope               string          `json:"scope"`
	Availability        string          `json:"availability"`
	Development         bool            `json:"development"`
	Livemode            bool            `json:"livemode"`
	LLMContext          *string         `json:"llm_context"`
	Pricing             Pricing         `json:"pricing"`
	DefaultTier         string          `json:"default_tier"`
	Tiers               []CatalogTier   `json:"tiers"`
	ConfigurationSchema json.RawMessage `json:"configuration_schema"`
	CredentialsSchema   json.RawMessage `json:"credentials_schema"`
	Provision           ProvisionHint   `json:"provision"`
}

// Pricing is the Stripe-style price summary.
type Pricing struct {
	Type     string `json:"type"`
	Freeform string `json:"freeform,omitempty"`
}

// CatalogTier is one tier of a service (spec/catalog.md §4.1).
type CatalogTier struct {
	TierID            string                 `json:"tier_id"`
	Name              string                 `json:"name"`
	Description       *string                `json:"description,omitempty"`
	Price             TierPrice              `json:"price"`
	MonthlyEquivalent *manifests.MoneyAmount `json:"monthly_equivalent"`
	Pricing           Pricing                `json:"pricing"`
	Limits            json.RawMessage        `json:"limits"`
	Features          json.RawMessage        `json:"features"`
	SandboxAvailable  bool                   `json:"sandbox_available"`
	TrustTierRequired int                    `json:"trust_tier_required"`
	UpdateableTo      []string               `json:"updateable_to"`
	AllowedUpdates    []TierUpdate           `json:"allowed_updates"`
	CountsAgainstCap  bool                   `json:"counts_against_cap"`
}

// TierPrice is a price in the served form; Interval is null for one-time prices.
type TierPrice struct {
	Amount   string  `json:"amount"`
	Currency string  `json:"currency"`
	Interval *string `json:"interval"`
}

// TierUpdate is an allowed tier change.
type TierUpdate struct {
	Direction string `json:"direction"`
	TierID    string `json:"tier_id"`
}

// ProvisionHint is the request an agent makes to provision the default tier.
type ProvisionHint struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Body   map[string]string `json:"body"`
}

// CatalogQuery filters the catalog.
type CatalogQuery struct {
	Provider       string // slug or provider_id
	Category       string
	IncludeInvalid bool
}

// BuildCatalog assembles the catalog from what is being served now; origin is the sandbox host
// as the client reached it. The UI and ServeCatalog call it; problems with a provider become the
// catalog's warnings, never an error.
func (s *Engine) BuildCatalog(ctx context.Context, origin string, q CatalogQuery) Catalog {
	snap := s.view()
	now := s.clock.Now()
	cat := Catalog{OK: true, Command: "catalog", Version: "0.1", Warnings: []string{}, NextSteps: []string{},
		Meta: CatalogMeta{Workspace: s.ws.Name(), Listen: origin}}
	cat.Data = CatalogData{Source: "workspace", Providers: []CatalogProvider{}, Services: []CatalogService{}}
	if q.Provider != "" {
		cat.Data.ProviderFilter = &q.Provider
	}
	if q.Category != "" {
		cat.Data.CategoryFilter = &q.Category
	}
	capCfg := snap.Config.Caps
	var lastUpdated time.Time
	for _, p := range snap.Providers {
		if p.Serving == nil {
			if q.IncludeInvalid || q.Provider == "" || q.Provider == p.Slug {
				cat.Warnings = append(cat.Warnings, "provider "+p.Slug+" has no valid manifest yet ("+p.Report.File+"); it is not in the catalog")
			}
			continue
		}
		m := p.Serving.Manifest
		if q.Provider != "" && q.Provider != p.Slug && q.Provider != m.ProviderID {
			continue
		}
		if p.Serving.LoadedAt.After(lastUpdated) {
			lastUpdated = p.Serving.LoadedAt
		}
		mount := origin + "/providers/" + p.Slug
		served, err := jsondoc.Parse(p.Serving.body(mount, snap.Config.OSP.EndpointStyle).Body)
		if err != nil {
			continue
		}
		availability := "available"
		if p.Stale() {
			availability = "degraded"
		}
		sig := "unsigned"
		if p.Report.Signature != nil && p.Report.Signature.Status == "valid" {
			sig = "valid"
		}
		cap := capSummary(capCfg.DefaultMonthlyLimit)
		if v, err := s.ledger.CapView(ctx, p); err == nil {
			cap = CapSummary{MonthlyLimit: v.MonthlyLimit, CurrentSpend: v.CurrentSpend, Remaining: v.Remaining, PercentUsed: v.PercentUsed, Status: v.Status}
		}
		cat.Data.Providers = append(cat.Data.Providers, CatalogProvider{
			ProviderSlug: p.Slug, ProviderID: m.ProviderID, ProviderName: m.ProviderName,
			ManifestURL: mount + "/.well-known/osp.json", OSPBaseURL: mount + "/osp/v1",
			Dialect: m.Dialect, SignatureStatus: sig, Availability: availability, Cap: cap,
		})
		rootTrust := served.Root.Get("trust_tier_required").Int()
		for _, on := range served.Root.Get("offerings").List() {
			svc, ok := catalogService(p.Slug, m, on, mount, rootTrust, capCfg, now)
			if !ok || (q.Category != "" && !slices.Contains(svc.Categories, q.Category)) {
				continue
			}
			for _, t := range svc.Tiers {
				if t.Pricing.Type == "paid" && !t.CountsAgainstCap {
					cat.Warnings = append(cat.Warnings, svc.ID+" tier "+t.TierID+" is priced in "+t.Price.Currency+", which the "+capCfg.DefaultMonthlyLimit.Currency+" caps do not count (set caps.fx_rates)")
				}
			}
			cat.Data.Services = append(cat.Data.Services, svc)
		}
	}
	sort.SliceStable(cat.Data.Services, func(i, j int) bool {
		a, b := cat.Data.Services[i], cat.Data.Services[j]
		if a.ProviderSlug != b.ProviderSlug {
			return a.ProviderSlug < b.ProviderSlug
		}
		return a.OfferingID < b.OfferingID
	})
	if !lastUpdated.IsZero() {
		cat.Data.LastUpdated = lastUpdated.UTC().Format(time.RFC3339)
	}
	for _, svc := range cat.Data.Services {
		if svc.Pricing.Type != "paid" {
			body, _ := json.Marshal(svc.Provision.Body)
			cat.NextSteps = append(cat.NextSteps, "POST "+svc.Provision.URL+" with "+string(body))
			break
		}
	}
	cat.NextSteps = append(cat.NextSteps, "GET "+origin+"/ospbox/v1/caps to see spend against the spending caps")
	return cat
}

// capSummary is a cap with nothing spent, for when the ledger cannot be read.
func capSummary(limit manifests.MoneyAmount) CapSummary {
	zero := manifests.MoneyAmount{Amount: "0.00", Currency: limit.Currency}
	rem := limit
	if r, err := ParseAmount(limit.Amount); err == nil {
		rem.Amount = Cents(r)
	}
	return CapSummary{MonthlyLimit: rem, CurrentSpend: zero, Remaining: rem, PercentUsed: 0, Status: "ok"}
}

func catalogService(slug string, m *manifests.OSPManifest, on *jsondoc.Node, mount string, rootTrust int, caps manifests.CapsConfig, now time.Time) (CatalogService, bool) {
	offeringID := on.Str("offering_id")
	availability := "available"
	if sunset, err := time.Parse(time.RFC3339, on.Str("sunset_at")); err == nil && !now.Before(sunset) {
		return CatalogService{}, false
	}
	if dep := on.Get("deprecated"); dep != nil && dep.Text == "true" {
		availability = "deprecated"
	} else if at, err := time.Parse(time.RFC3339, on.Str("deprecated_at")); err == nil && !now.Before(at) {
		availability = "deprecated"
	}
	_, offSlug, found := strings.Cut(offeringID, "/")
	if !found {
		offSlug = offeringID
	}
	sandbox := true
	if sa := on.Get("sandbox_available"); sa != nil && sa.Text == "false" {
		sandbox = false
	}
	svc := CatalogService{
		ID: slug + "/" + offSlug, Object: "ospbox.catalog.service", OfferingID: offeringID,
		ProviderSlug: slug, ProviderID: m.ProviderID, ProviderName: m.ProviderName,
		Name: on.Str("name"), Categories: []string{}, Scope: "project", Availability: availability,
		Development: sandbox, Livemode: false,
		ConfigurationSchema: on.Get("configuration_schema").RawOr("{}"),
		CredentialsSchema:   on.Get("credentials_schema").RawOr(`{"type":"object"}`),
	}
	if svc.Name == "" {
		svc.Name = offeringID
	}
	if d := on.Get("description"); d != nil && d.Kind == jsondoc.String {
		svc.Description = &d.Text
	}
	if c := on.Str("category"); c != "" {
		svc.Categories = []string{c}
	}
	if u := on.Get("documentation_url"); u != nil && u.Kind == jsondoc.String {
		svc.LLMContext = &u.Text
	}
	offTrust := max(rootTrust, on.Get("trust_tier_required").Int())
	type priced struct {
		id      string
		monthly *big.Rat
	}
	var monthly []priced
	free, paid := 0, 0
	for _, tn := range on.Get("tiers").List() {
		pn := tn.Get("price")
		t := CatalogTier{
			TierID: tn.Str("tier_id"), Name: tn.Str("name"),
			Price:             TierPrice{Amount: pn.Str("amount"), Currency: pn.Str("currency")},
			Limits:            tn.Get("limits").RawOr("{}"),
			Features:          tn.Get("features").RawOr("[]"),
			SandboxAvailable:  sandbox,
			TrustTierRequired: max(offTrust, tn.Get("trust_tier_required").Int()),
			UpdateableTo:      []string{}, AllowedUpdates: []TierUpdate{},
		}
		if d := tn.Get("description"); d != nil && d.Kind == jsondoc.String {
			t.Description = &d.Text
		}
		if iv := pn.Str("interval"); iv != "" {
			t.Price.Interval = &iv
		}
		amount, _ := ParseAmount(t.Price.Amount)
		isFree := amount == nil || amount.Sign() == 0
		m := new(big.Rat)
		if eq, recurring, err := MonthlyEquivalent(t.Price.Amount, pn.Str("interval")); err == nil && recurring {
			t.MonthlyEquivalent = &manifests.MoneyAmount{Amount: eq, Currency: t.Price.Currency}
			m, _ = ParseAmount(eq)
		}
		if isFree {
			free++
			t.MonthlyEquivalent = nil
			t.Pricing = Pricing{Type: "free"}
		} else {
			paid++
			t.Pricing = Pricing{Type: "paid", Freeform: t.Price.Currency + " " + Cents(amount) + " / " + manifests.IntervalWord(pn.Str("interval"))}
			t.CountsAgainstCap = countsAgainstCap(t.Price.Currency, caps)
		}
		monthly = append(monthly, priced{t.TierID, m})
		svc.Tiers = append(svc.Tiers, t)
	}
	for i := range svc.Tiers {
		for j, other := range monthly {
			if i == j {
				continue
			}
			svc.Tiers[i].UpdateableTo = append(svc.Tiers[i].UpdateableTo, other.id)
			dir := "up"
			if other.monthly.Cmp(monthly[i].monthly) < 0 {
				dir = "down"
			}
			svc.Tiers[i].AllowedUpdates = append(svc.Tiers[i].AllowedUpdates, TierUpdate{Direction: dir, TierID: other.id})
		}
	}
	switch {
	case paid == 0:
		svc.Pricing = Pricing{Type: "free"}
	case free == 0:
		svc.Pricing = Pricing{Type: "paid"}
	default:
		svc.Pricing = Pricing{Type: "mixed"}
	}
	for _, t := range svc.Tiers {
		if t.Pricing.Type == "free" {
			svc.DefaultTier = t.TierID
			break
		}
	}
	if svc.DefaultTier == "" && len(svc.Tiers) > 0 {
		svc.DefaultTier = svc.Tiers[0].TierID
	}
	svc.Provision = ProvisionHint{Method: "POST", URL: mount + "/osp/v1/provision",
		Body: map[string]string{"offering_id": offeringID, "tier_id": svc.DefaultTier}}
	return svc, true
}

// countsAgainstCap reports whether a currency is counted by caps in the cap currency: the same
// currency, USDC for USD, or any currency with an fx rate (spec/osp.md §16.1).
func countsAgainstCap(currency string, caps manifests.CapsConfig) bool {
	capCur := caps.DefaultMonthlyLimit.Currency
	if currency == capCur || (capCur == "USD" && currency == "USDC") {
		return true
	}
	_, ok := caps.FXRates[currency]
	return ok
}

// ServeCatalog is GET /ospbox/v1/catalog, which the host's control API routes here.
func (s *Engine) ServeCatalog(w http.ResponseWriter, r *http.Request, origin string) {
	if !Allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	q := r.URL.Query()
	kernel.WriteJSON(w, http.StatusOK, s.BuildCatalog(r.Context(), origin, CatalogQuery{
		Provider: q.Get("provider"), Category: q.Get("category"), IncludeInvalid: q.Get("include_invalid") == "true",
	}))
}

// PastableProvision is a provision body for svc that this sandbox answers with 201 or 202 when
// an agent developer pastes it: the catalog's hint (offering and default tier), as a sandbox
// when the offering has one, and otherwise, for a paid default tier, with the first payment
// method the tier accepts and a simulated proof (spec/osp.md §6.3). The UI's copy-ready commands
// use it; the catalog API keeps the profile's {offering_id, tier_id}.
func PastableProvision(p *ProviderState, svc CatalogService) map[string]any {
	body := map[string]any{"offering_id": svc.OfferingID, "tier_id": svc.DefaultTier}
	if svc.Development {
		body["sandbox"] = map[string]bool{"enabled": true}
		return body
	}
	if p == nil || p.Serving == nil {
		return body
	}
	_, tier, err := findOffering(p.Serving.Manifest, svc.OfferingID, svc.DefaultTier, time.Time{})
	if err != nil || tier.Get("price").Str("amount") == "" || isZeroAmount(tier.Get("price").Str("amount")) {
		return body
	}
	methods := tier.Get("accepted_payment_methods")
	if methods == nil {
		methods = p.Serving.Manifest.Doc.Root.Get("accepted_payment_methods")
	}
	list := methods.Strings()
	if methods == nil {
		list = manifests.PaymentMethods
	}
	for _, m := range list {
		if m != "free" {
			body["payment_method"], body["payment_proof"] = m, "tok_ospbox_sandbox"
			break
		}
	}
	return body
}

// isZeroAmount reports whether a price amount is zero ("0", "0.00").
func isZeroAmount(amount string) bool {
	a, err := ParseAmount(amount)
	return err == nil && a.Sign() == 0
}
