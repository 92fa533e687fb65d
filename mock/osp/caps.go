package osp

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// monthBounds is the calendar month (UTC) containing t: [start, next start).
func monthBounds(t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// capFor resolves a provider's cap: its own setting, else the global one, else the workspace
// default (spec/osp.md §16.1).
func capFor(ctx context.Context, read func(context.Context, string) (*storage.Cap, error), cfg manifests.Config, providerID string) (manifests.MoneyAmount, string, *time.Time, error) {
	for _, scope := range []struct{ key, source string }{{providerID, "provider"}, {"global", "global"}} {
		c, err := read(ctx, scope.key)
		if err != nil {
			return manifests.MoneyAmount{}, "", nil, err
		}
		if c != nil {
			return manifests.MoneyAmount{Amount: c.Amount, Currency: c.Currency}, scope.source, &c.UpdatedAt, nil
		}
	}
	return cfg.Caps.DefaultMonthlyLimit, "default", nil, nil
}

// inCapCurrency converts an amount to the cap currency: the same currency, USDC as USD, or an
// fx rate from caps.fx_rates; ok is false when it cannot be counted.
func inCapCurrency(amount, currency, capCurrency string, cfg manifests.Config) (*big.Rat, bool) {
	a, err := ParseAmount(amount)
	if err != nil {
		return nil, false
	}
	return convert(a, currency, capCurrency, cfg)
}

// convert is inCapCurrency for an amount already read.
func convert(a *big.Rat, currency, capCurrency string, cfg manifests.Config) (*big.Rat, bool) {
	a = new(big.Rat).Set(a)
	switch {
	case currency == capCurrency, capCurrency == "USD" && currency == "USDC", capCurrency == "USDC" && currency == "USD":
		return a, true
	}
	if rate, ok := cfg.Caps.FXRates[currency]; ok {
		if r, err := ParseAmount(rate); err == nil {
			return a.Mul(a, r), true
		}
	}
	return nil, false
}

// checkCap refuses a charge that would take the provider past its cap; it runs inside the write
// transaction that then posts the charge, so the check and the spend are one atomic step.
func (s *Ledger) checkCap(ctx context.Context, tx *storage.Tx, p *ProviderState, mount, what, amount, currency string, now time.Time) error {
	cfg := *s.view().Config
	m := p.Serving.Manifest
	limit, _, _, err := capFor(ctx, tx.CapSetting, cfg, m.ProviderID)
	if err != nil {
		return err
	}
	requested, ok := inCapCurrency(amount, currency, limit.Currency, cfg)
	if !ok {
		return nil // not counted against the cap (the catalog warns about it)
	}
	from, to := monthBounds(now)
	rows, err := tx.DailySpend(ctx, p.Slug, from, to)
	if err != nil {
		return err
	}
	spend := in(rollUp(rows).total, limit.Currency, cfg)
	lim, err := ParseAmount(limit.Amount)
	if err != nil {
		return err
	}
	projected := new(big.Rat).Add(spend, requested)
	if projected.Cmp(lim) <= 0 {
		return nil
	}
	return &Error{Status: 403, Code: "budget_exceeded",
		Message: what + " would exceed the monthly spending cap for " + m.ProviderID,
		Details: map[string]any{
			"budget_id": "cap_" + p.Slug, "scope": "provider_cap", "provider_id": m.ProviderID,
			"limit": Cents(lim), "current_spend": Cents(spend), "requested_cost": Cents(requested), "projected_spend": Cents(projected),
			"enforcement": "hard_block", "override_available": false,
			"raise_url": originOf(mount) + "/ospbox/v1/caps/providers/" + m.ProviderID,
		}}
}

// CapView is the caps dashboard's view of one provider (spec/osp.md §16.3).
type CapView struct {
	ProviderID   string                `json:"provider_id"`
	ProviderSlug string                `json:"provider_slug"`
	ProviderName string                `json:"provider_name"`
	MonthlyLimit manifests.MoneyAmount `json:"monthly_limit"`
	LimitSource  string                `json:"limit_source"`
	CurrentSpend manifests.MoneyAmount `json:"current_spend"`
	Remaining    manifests.MoneyAmount `json:"remaining"`
	PercentUsed  float64               `json:"percent_used"`
	Status       string                `json:"status"`
	Period       map[string]string     `json:"period"`
	Resources    []CapResource         `json:"resources"`
	Daily        []CapDay              `json:"daily"`
	UpdatedAt    *string               `json:"updated_at"`
}

// CapResource is a resource's spend this period.
type CapResource struct {
	ResourceID string `json:"resource_id"`
	OfferingID string `json:"offering_id"`
	TierID     string `json:"tier_id"`
	ProjectID  string `json:"project_id"`
	Spend      string `json:"spend"`
}

// CapDay is the spend of one day.
type CapDay struct {
	Date   string `json:"date"`
	Amount string `json:"amount"`
}

// CapView computes a provider's cap view now, with the spend of each resource (the UI, the
// catalog and the caps API). It returns the database's error.
func (s *Ledger) CapView(ctx context.Context, p *ProviderState) (CapView, error) {
	v, err := s.capSummary(ctx, p)
	if err != nil {
		return v, err
	}
	cfg := *s.view().Config
	from, to := monthBounds(s.clock.Now())
	charges, err := s.db.ProviderCharges(ctx, p.Slug, from, to)
	if err != nil {
		return CapView{}, err
	}
	byRes := map[string]*big.Rat{}
	var order []string
	for _, c := range charges {
		amt, ok := inCapCurrency(c.Amount, c.Currency, v.MonthlyLimit.Currency, cfg)
		if !ok {
			continue
		}
		if byRes[c.ResourceID] == nil {
			byRes[c.ResourceID] = new(big.Rat)
			order = append(order, c.ResourceID)
		}
		byRes[c.ResourceID].Add(byRes[c.ResourceID], amt)
	}
	resources, err := s.db.ChargedResources(ctx, p.Slug, from, to)
	if err != nil {
		return CapView{}, err
	}
	for _, id := range order {
		cr := CapResource{ResourceID: id, Spend: Cents(byRes[id])}
		if res, ok := resources[id]; ok {
			cr.OfferingID, cr.TierID, cr.ProjectID = res.OfferingID, res.TierID, res.ProjectID
		}
		v.Resources = append(v.Resources, cr)
	}
	return v, nil
}

// capSummary is the cap view without the per-resource list, from the ledger rollup: its cost
// does not grow with the number of charges.
func (s *Ledger) capSummary(ctx context.Context, p *ProviderState) (CapView, error) {
	cfg := *s.view().Config
	m := p.Serving.Manifest
	limit, source, updated, err := capFor(ctx, s.db.CapSetting, cfg, m.ProviderID)
	if err != nil {
		return CapView{}, err
	}
	now := s.clock.Now()
	from, to := monthBounds(now)
	rows, err := s.db.DailySpend(ctx, p.Slug, from, to)
	if err != nil {
		return CapView{}, err
	}
	rolled := rollUp(rows)
	spend := in(rolled.total, limit.Currency, cfg)
	lim, _ := ParseAmount(limit.Amount)
	if lim == nil {
		lim = new(big.Rat)
	}
	remaining := new(big.Rat).Sub(lim, spend)
	if remaining.Sign() < 0 {
		remaining.SetInt64(0)
	}
	percent := 0.0
	if lim.Sign() > 0 {
		f, _ := new(big.Rat).Quo(new(big.Rat).Mul(spend, big.NewRat(100, 1)), lim).Float64()
		percent = float64(int64(f*100+0.5)) / 100
	}
	status := "ok"
	switch {
	case percent >= 100:
		status = "exceeded"
	case percent >= 80:
		status = "warning"
	}
	v := CapView{ProviderID: m.ProviderID, ProviderSlug: p.Slug, ProviderName: m.ProviderName,
		MonthlyLimit: manifests.MoneyAmount{Amount: Cents(lim), Currency: limit.Currency}, LimitSource: source,
		CurrentSpend: manifests.MoneyAmount{Amount: Cents(spend), Currency: limit.Currency},
		Remaining:    manifests.MoneyAmount{Amount: Cents(remaining), Currency: limit.Currency},
		PercentUsed:  percent, Status: status,
		Period:    map[string]string{"start": from.Format(time.DateOnly), "end": to.AddDate(0, 0, -1).Format(time.DateOnly)},
		Resources: []CapResource{}, Daily: []CapDay{}}
	if updated != nil {
		u := rfc3339(*updated)
		v.UpdatedAt = &u
	}
	for day, amounts := range rolled.byDay {
		if convertible(amounts, limit.Currency, cfg) {
			v.Daily = append(v.Daily, CapDay{Date: day, Amount: Cents(in(amounts, limit.Currency, cfg))})
		}
	}
	sort.Slice(v.Daily, func(i, j int) bool { return v.Daily[i].Date < v.Daily[j].Date })
	return v, nil
}

// convertible reports whether any of amounts counts in the target currency.
func convertible(amounts map[string]*big.Rat, target string, cfg manifests.Config) bool {
	for currency := range amounts {
		if _, ok := convert(new(big.Rat), currency, target, cfg); ok {
			return true
		}
	}
	return false
}

// ServeCaps is the caps API of spec/osp.md §16.3 under /ospbox/v1/caps; the host's control
// API routes to it. Every failure is answered in OSP's envelope.
func (s *Ledger) ServeCaps(w http.ResponseWriter, r *http.Request) {
	snap := s.view()
	rest := strings.TrimPrefix(r.URL.Path, "/ospbox/v1/caps")
	byID := func(id string) *ProviderState {
		for _, p := range snap.Providers {
			if p.Serving != nil && (p.Serving.Manifest.ProviderID == id || p.Slug == id) {
				return p
			}
		}
		return nil
	}
	switch {
	case rest == "" || rest == "/":
		if !Allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		out := map[string]any{"global": nil, "providers": []CapView{}}
		if g, err := s.db.CapSetting(r.Context(), "global"); err == nil && g != nil {
			out["global"] = map[string]any{"monthly_limit": manifests.MoneyAmount{Amount: g.Amount, Currency: g.Currency}, "updated_at": rfc3339(g.UpdatedAt)}
		}
		var views []CapView
		for _, p := range snap.Providers {
			if p.Serving == nil {
				continue
			}
			v, err := s.CapView(r.Context(), p)
			if err != nil {
				WriteError(w, asError(err))
				return
			}
			views = append(views, v)
		}
		if views != nil {
			out["providers"] = views
		}
		kernel.WriteJSON(w, http.StatusOK, out)
	case rest == "/global":
		s.setCap(w, r, "global", nil)
	case strings.HasPrefix(rest, "/providers/"):
		p := byID(strings.TrimPrefix(rest, "/providers/"))
		if p == nil {
			WriteError(w, &Error{Status: 404, Code: "not_found", Message: "no provider " + strings.TrimPrefix(rest, "/providers/") + " in this workspace"})
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			v, err := s.CapView(r.Context(), p)
			if err != nil {
				WriteError(w, asError(err))
				return
			}
			kernel.WriteJSON(w, http.StatusOK, v)
			return
		}
		s.setCap(w, r, p.Serving.Manifest.ProviderID, p)
	default:
		WriteError(w, NewError("not_found", "no caps route "+r.URL.Path))
	}
}

// setCap is PUT (set) or DELETE (unset) of a cap; p is nil for the global cap.
func (s *Ledger) setCap(w http.ResponseWriter, r *http.Request, scope string, p *ProviderState) {
	if !Allow(w, r, http.MethodPut, http.MethodDelete) || RefuseBrowser(w, r) {
		return
	}
	var c *storage.Cap
	if r.Method == http.MethodPut {
		var body struct {
			MonthlyLimit *manifests.MoneyAmount `json:"monthly_limit"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		err := dec.Decode(&body)
		if err == nil && body.MonthlyLimit != nil {
			err = validMoney(*body.MonthlyLimit)
		}
		if err != nil || body.MonthlyLimit == nil {
			WriteError(w, InvalidRequest(`the body is {"monthly_limit": {"amount": "250.00", "currency": "USD"}}`, map[string]any{"pointer": "/monthly_limit", "message": "an amount (decimal string) and a currency are required"}))
			return
		}
		c = &storage.Cap{Scope: scope, Amount: body.MonthlyLimit.Amount, Currency: body.MonthlyLimit.Currency, UpdatedAt: s.clock.Now()}
	}
	if err := s.db.SetCap(r.Context(), scope, c); err != nil {
		WriteError(w, asError(err))
		return
	}
	if p == nil {
		var out any
		if c != nil {
			out = map[string]any{"monthly_limit": manifests.MoneyAmount{Amount: c.Amount, Currency: c.Currency}, "updated_at": rfc3339(c.UpdatedAt)}
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"global": out})
		return
	}
	v, err := s.CapView(r.Context(), p)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	kernel.WriteJSON(w, http.StatusOK, v)
}
