package osp

import (
	"context"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// costLine is one resource's cost in a period.
type costLine struct {
	res      storage.Resource
	base     *big.Rat // base + one_time + proration
	metered  *big.Rat
	currency string
	parts    map[string]*big.Rat // breakdown dimensions
}

// baseCurrency is a provider's base currency: the currency of its first paid tier, else USD.
func baseCurrency(p *ProviderState) string {
	for _, o := range p.Serving.Manifest.Offerings {
		for _, t := range o.Tiers {
			if !t.Free() {
				return t.Price.Currency
			}
		}
	}
	return "USD"
}

// costLines sums a provider's ledger in [from, to) per resource, keeping only resources kept by
// keep (nil keeps all).
func (s *Ledger) costLines(ctx context.Context, p *ProviderState, from, to time.Time, keep func(storage.Resource) bool) ([]costLine, error) {
	charges, err := s.db.ProviderCharges(ctx, p.Slug, from, to)
	if err != nil {
		return nil, err
	}
	resources, err := s.db.ChargedResources(ctx, p.Slug, from, to)
	if err != nil {
		return nil, err
	}
	lines := map[string]*costLine{}
	var order []string
	for _, c := range charges {
		l := lines[c.ResourceID]
		if l == nil {
			res, ok := resources[c.ResourceID]
			if !ok {
				res = storage.Resource{ID: c.ResourceID, ProjectID: c.ProjectID}
			}
			if keep != nil && !keep(res) {
				continue
			}
			l = &costLine{res: res, base: new(big.Rat), metered: new(big.Rat), currency: c.Currency, parts: map[string]*big.Rat{}}
			lines[c.ResourceID] = l
			order = append(order, c.ResourceID)
		}
		amt, err := ParseAmount(c.Amount)
		if err != nil {
			continue
		}
		dim := map[string]string{"base": "base_price", "one_time": "one_time", "proration": "proration"}[c.Kind]
		if c.Kind == "metered" {
			l.metered.Add(l.metered, amt)
			dim = "metered"
			if c.Metric != "" {
				dim = "metered:" + c.Metric // spec/osp.md §14.4
			}
		} else {
			l.base.Add(l.base, amt)
		}
		if l.parts[dim] == nil {
			l.parts[dim] = new(big.Rat)
		}
		l.parts[dim].Add(l.parts[dim], amt)
	}
	out := make([]costLine, 0, len(order))
	for _, id := range order {
		l := lines[id]
		if l.base.Sign() < 0 {
			l.base.SetInt64(0)
		}
		out = append(out, *l)
	}
	return out, nil
}

// periodOf reads ?period=YYYY-MM (default: the clock's month).
func periodOf(r *http.Request, now time.Time) (time.Time, time.Time, *Error) {
	from, to := monthBounds(now)
	if p := r.URL.Query().Get("period"); p != "" {
		t, err := time.Parse("2006-01", p)
		if err != nil {
			return from, to, InvalidRequest("period must be YYYY-MM", map[string]any{"pointer": "period", "message": "not YYYY-MM"})
		}
		from, to = monthBounds(t)
	}
	return from, to, nil
}

func pageOf(r *http.Request) (int, int, *Error) {
	limit, offset := 100, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return 0, 0, InvalidRequest("limit is an integer from 1 to 500")
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, InvalidRequest("offset is a non-negative integer")
		}
		offset = n
	}
	return limit, offset, nil
}

// costReport renders the cost-summary shape of spec/osp.md §14.3 for the given lines.
func costReport(projectID string, from, to time.Time, currency string, lines, previous []costLine, limit, offset int) map[string]any {
	total := new(big.Rat)
	var rows []map[string]any
	for _, l := range lines {
		sum := new(big.Rat).Add(l.base, l.metered)
		if l.currency == currency {
			total.Add(total, sum)
		}
		rows = append(rows, map[string]any{"resource_id": l.res.ID, "service": l.res.OfferingID, "tier": l.res.TierID,
			"base_cost": Cents(l.base), "metered_cost": Cents(l.metered), "total": Cents(sum), "currency": l.currency})
	}
	prev := new(big.Rat)
	for _, l := range previous {
		if l.currency == currency {
			prev.Add(prev, l.base).Add(prev, l.metered)
		}
	}
	change := "n/a"
	if prev.Sign() != 0 {
		pct, _ := new(big.Rat).Quo(new(big.Rat).Mul(new(big.Rat).Sub(total, prev), big.NewRat(100, 1)), prev).Float64()
		change = strconv.FormatFloat(pct, 'f', 1, 64) + "%"
		if pct >= 0 {
			change = "+" + change
		}
	}
	count := len(rows)
	page := rows[min(offset, count):min(offset+limit, count)]
	var next any
	if offset+limit < count {
		next = strconv.Itoa(offset + limit)
	}
	if page == nil {
		page = []map[string]any{}
	}
	return map[string]any{
		"project_id":  projectID,
		"period":      map[string]string{"start": from.Format(time.DateOnly), "end": to.AddDate(0, 0, -1).Format(time.DateOnly)},
		"total":       map[string]string{"amount": Cents(total), "currency": currency},
		"by_resource": page,
		"comparison":  map[string]any{"previous_period": Cents(prev), "change_percent": change, "cost_alerts": []any{}},
		"limit":       limit, "offset": offset, "total_count": count, "next_cursor": next,
	}
}

// serveProjectCost is GET /osp/v1/projects/{project_id}/cost (spec/osp.md §14.3).
func (s *Ledger) serveProjectCost(w http.ResponseWriter, r *http.Request, p *ProviderState, project string) {
	if !Allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if _, ok := s.callerOf(w, r, p); !ok {
		return
	}
	if !strings.HasPrefix(project, "proj_") {
		project = "proj_" + project
	}
	now := s.clock.Now()
	from, to, perr := periodOf(r, now)
	if perr == nil {
		var limit, offset int
		limit, offset, perr = pageOf(r)
		if perr == nil {
			s.writeCost(w, r, p, project, from, to, limit, offset, func(res storage.Resource) bool { return res.ProjectID == project }, nil)
			return
		}
	}
	WriteError(w, perr)
}

// serveCostSummary is GET /osp/v1/cost-summary (spec/osp.md §14.4).
func (s *Ledger) serveCostSummary(w http.ResponseWriter, r *http.Request, p *ProviderState) {
	if !Allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	who, ok := s.callerOf(w, r, p)
	if !ok {
		return
	}
	// An authenticated caller sees its own resources only (spec/osp.md §14.4, §19.5).
	var keep func(storage.Resource) bool
	if !who.anyone() {
		keep = who.owns
	}
	q := r.URL.Query()
	from, to := monthBounds(s.clock.Now())
	// The period as given is echoed verbatim (spec/osp.md §14.4). A date end is its whole day; a
	// timestamp end is the instant the period ends, so a charge at or after it does not count
	// (docs/profile-decisions.md).
	echo := map[string]string{}
	for i, name := range []string{"period_start", "period_end"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		dateOnly := false
		if err != nil {
			t, err = time.Parse(time.DateOnly, v)
			dateOnly = err == nil
		}
		if err != nil {
			WriteError(w, InvalidRequest(name+" must be RFC 3339 or YYYY-MM-DD", map[string]any{"pointer": name, "message": "unparseable"}))
			return
		}
		echo[name] = v
		switch {
		case i == 0:
			from = t
		case dateOnly:
			to = t.AddDate(0, 0, 1)
		default:
			to = t
		}
	}
	if !to.After(from) {
		WriteError(w, InvalidRequest("period_end must be after period_start", map[string]any{"pointer": "period_end", "message": "not after period_start"}))
		return
	}
	if c := q.Get("currency"); c != "" && c != baseCurrency(p) {
		WriteError(w, InvalidRequest("this provider reports in "+baseCurrency(p)+"; ospbox does not convert currencies"))
		return
	}
	limit, offset, perr := pageOf(r)
	if perr != nil {
		WriteError(w, perr)
		return
	}
	s.writeCost(w, r, p, "*", from, to, limit, offset, keep, echo)
}

// writeCost answers a cost report over [from, to); echo holds period_start and period_end as the
// client gave them, which the report's period repeats in place of the computed dates.
func (s *Ledger) writeCost(w http.ResponseWriter, r *http.Request, p *ProviderState, project string, from, to time.Time, limit, offset int, keep func(storage.Resource) bool, echo map[string]string) {
	lines, err := s.costLines(r.Context(), p, from, to, keep)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	pf, pt := monthBounds(from.AddDate(0, -1, 0))
	previous, err := s.costLines(r.Context(), p, pf, pt, keep)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	if project != "*" && len(lines) == 0 && len(previous) == 0 {
		exists, err := s.db.ProjectExists(r.Context(), p.Slug, project)
		if err != nil || !exists {
			WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: "project " + project + " has never had a resource at this provider"})
			return
		}
	}
	currency := baseCurrency(p)
	report := costReport(project, from, to, currency, lines, previous, limit, offset)
	if period := report["period"].(map[string]string); len(echo) > 0 {
		if v, ok := echo["period_start"]; ok {
			period["start"] = v
		}
		if v, ok := echo["period_end"]; ok {
			period["end"] = v
		}
	}
	if project == "*" {
		report["total_cost"] = report["total"].(map[string]string)["amount"]
		report["currency"] = currency
		var resources []map[string]any
		for _, l := range lines {
			var bd []map[string]string
			for _, dim := range slices.Sorted(maps.Keys(l.parts)) {
				bd = append(bd, map[string]string{"dimension": dim, "amount": Cents(l.parts[dim])})
			}
			resources = append(resources, map[string]any{"resource_id": l.res.ID, "offering_id": l.res.OfferingID, "tier_id": l.res.TierID,
				"cost": Cents(new(big.Rat).Add(l.base, l.metered)), "currency": l.currency, "breakdown": bd})
		}
		if resources == nil {
			resources = []map[string]any{}
		}
		report["resources"] = resources
		report["projected_monthly"] = s.projectedMonthly(r.Context(), p, lines, currency, keep)
	}
	kernel.WriteJSON(w, http.StatusOK, report)
}

// projectedMonthly is the monthly-equivalent price of active paid resources kept by keep (nil
// keeps all) plus this period's metered cost.
func (s *Ledger) projectedMonthly(ctx context.Context, p *ProviderState, lines []costLine, currency string, keep func(storage.Resource) bool) string {
	total := new(big.Rat)
	resources, _ := s.db.ProviderResources(ctx, p.Slug)
	for _, res := range resources {
		if res.Sandbox || res.Status == "deprovisioned" || keep != nil && !keep(res) {
			continue
		}
		_, tier, err := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
		if err != nil {
			continue
		}
		price := tier.Get("price")
		if price.Str("currency") != currency {
			continue
		}
		if eq, recurring, err := MonthlyEquivalent(price.Str("amount"), price.Str("interval")); err == nil && recurring {
			if v, err := ParseAmount(eq); err == nil {
				total.Add(total, v)
			}
		}
	}
	for _, l := range lines {
		if l.currency == currency {
			total.Add(total, l.metered)
		}
	}
	return Cents(total)
}

// ResourceCost is a resource's cost in the clock's month, from the lines the cost endpoints add
// up (the resource page). It returns the database's error.
func (s *Ledger) ResourceCost(ctx context.Context, res storage.Resource) (base, metered, total string, currency string, err error) {
	p := s.view().Provider(res.Provider)
	if p == nil || p.Serving == nil {
		return "0.00", "0.00", "0.00", "USD", nil
	}
	from, to := monthBounds(s.clock.Now())
	lines, err := s.costLines(ctx, p, from, to, func(r storage.Resource) bool { return r.ID == res.ID })
	if err != nil {
		return "", "", "", "", err
	}
	currency = baseCurrency(p)
	b, m := new(big.Rat), new(big.Rat)
	for _, l := range lines {
		b.Add(b, l.base)
		m.Add(m, l.metered)
		currency = l.currency
	}
	return Cents(b), Cents(m), Cents(new(big.Rat).Add(b, m)), currency, nil
}
