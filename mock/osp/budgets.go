package osp

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// budgetPeriod is the current window of a budget period in UTC: [start, end) and a key naming it.
func budgetPeriod(period string, now time.Time) (time.Time, time.Time, string) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case "daily":
		return day, day.AddDate(0, 0, 1), day.Format(time.DateOnly)
	case "weekly":
		start := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)) // ISO weeks start on Monday
		return start, start.AddDate(0, 0, 7), "W" + start.Format(time.DateOnly)
	case "quarterly":
		q := (int(now.Month()) - 1) / 3
		start := time.Date(now.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 3, 0), start.Format("2006") + "Q" + strconv.Itoa(q+1)
	case "yearly":
		start := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(1, 0, 0), start.Format("2006")
	}
	start, end := monthBounds(now)
	return start, end, start.Format("2006-01")
}

// chargeScope is what budget scopes match a charge by.
type chargeScope struct {
	ProjectID, Team, Principal string
}

func scopeOf(res storage.Resource) chargeScope {
	d := decodeData(res)
	principal := res.Owner
	if principal == "" {
		principal = d.PrincipalID
	}
	return chargeScope{ProjectID: res.ProjectID, Team: d.Metadata["team"], Principal: principal}
}

// budgetCovers reports whether a budget's scope includes a charge's.
func budgetCovers(b storage.Budget, sc chargeScope) bool {
	switch b.Scope {
	case "global":
		return true
	case "project":
		return sc.ProjectID == b.ScopeID
	case "team":
		return sc.Team != "" && sc.Team == b.ScopeID
	case "principal":
		return sc.Principal != "" && sc.Principal == b.ScopeID
	}
	return false
}

// budgetSpend sums the charges of a budget's current period in its currency and scope: project
// and global budgets from the ledger rollup, team and principal budgets (which need each charge's
// resource) from the ledger.
func budgetSpend(ctx context.Context, tx *storage.Tx, provider string, b storage.Budget, now time.Time) (*big.Rat, error) {
	from, to, _ := budgetPeriod(b.Period, now)
	if b.Scope == "project" || b.Scope == "global" {
		rows, err := tx.DailySpend(ctx, provider, from, to)
		if err != nil {
			return nil, err
		}
		rolled := rollUp(rows)
		if b.Scope == "global" {
			return of(rolled.total, b.Currency), nil
		}
		return of(rolled.byProject[b.ScopeID], b.Currency), nil
	}
	charges, err := tx.ProviderCharges(ctx, provider, from, to)
	if err != nil {
		return nil, err
	}
	resources, err := tx.ChargedResources(ctx, provider, from, to)
	if err != nil {
		return nil, err
	}
	total := new(big.Rat)
	for _, c := range charges {
		if c.Currency != b.Currency {
			continue
		}
		res, ok := resources[c.ResourceID]
		sc := chargeScope{ProjectID: c.ProjectID}
		if ok {
			sc = scopeOf(res)
		}
		if budgetCovers(b, sc) {
			total.Add(total, ratOr0(c.Amount))
		}
	}
	return total, nil
}

var enforcementRank = map[string]int{"warn": 1, "soft_block": 2, "hard_block": 3}

// budgetVerdict is what the budgets say about a charge: warnings to attach, budgets exceeded
// (for the budget.exceeded event), or a refusal.
type budgetVerdict struct {
	Warnings []map[string]any
	Exceeded []storage.Budget
}

// checkBudgets evaluates every budget in scope before a positive charge (spec/osp.md §15.3); it
// runs inside the transaction that posts the charge.
func checkBudgets(ctx context.Context, tx *storage.Tx, provider string, sc chargeScope, amount, currency string, override bool, now time.Time) (budgetVerdict, error) {
	var v budgetVerdict
	budgets, err := tx.Budgets(ctx, provider)
	if err != nil {
		return v, err
	}
	requested := ratOr0(amount)
	type hit struct {
		b         storage.Budget
		spend     *big.Rat
		headroom  *big.Rat
		projected *big.Rat
	}
	var hits []hit
	for _, b := range budgets {
		if b.Currency != currency || !budgetCovers(b, sc) {
			continue
		}
		spend, err := budgetSpend(ctx, tx, provider, b, now)
		if err != nil {
			return v, err
		}
		projected := new(big.Rat).Add(spend, requested)
		limit := ratOr0(b.Limit)
		if projected.Cmp(limit) > 0 {
			hits = append(hits, hit{b, spend, new(big.Rat).Sub(limit, spend), projected})
		}
	}
	if len(hits) == 0 {
		return v, nil
	}
	sort.SliceStable(hits, func(i, j int) bool {
		ri, rj := enforcementRank[hits[i].b.Enforcement], enforcementRank[hits[j].b.Enforcement]
		if ri != rj {
			return ri > rj
		}
		return hits[i].headroom.Cmp(hits[j].headroom) < 0
	})
	top := hits[0]
	details := map[string]any{"budget_id": top.b.ID, "limit": Cents(ratOr0(top.b.Limit)), "current_spend": Cents(top.spend),
		"requested_cost": Cents(requested), "projected_spend": Cents(top.projected), "enforcement": top.b.Enforcement,
		"override_available": top.b.Enforcement == "soft_block", "scope": top.b.Scope, "scope_id": top.b.ScopeID,
		"period": top.b.Period, "currency": top.b.Currency}
	switch {
	case top.b.Enforcement == "hard_block":
		return v, &Error{Status: 403, Code: "budget_exceeded", Message: "this charge would exceed budget " + top.b.ID + " (hard block)", Details: details}
	case top.b.Enforcement == "soft_block" && !override:
		yes := true
		return v, &Error{Status: 402, Code: "budget_exceeded", Retryable: &yes, Message: "this charge would exceed budget " + top.b.ID + "; repeat with \"budget_override\": true to proceed", Details: details}
	}
	for _, h := range hits {
		v.Exceeded = append(v.Exceeded, h.b)
	}
	if top.b.Enforcement == "warn" {
		v.Warnings = append(v.Warnings, map[string]any{"code": "budget_exceeded", "message": "this charge exceeds budget " + top.b.ID + " (warn only)", "details": details})
	}
	return v, nil
}

// afterCharge emits budget.exceeded for budgets passed with warn or an override, and
// budget.threshold_reached for alert thresholds crossed, once per threshold and period.
func (s *Ledger) afterCharge(ctx context.Context, tx *storage.Tx, res storage.Resource, v budgetVerdict, now time.Time) error {
	for _, b := range v.Exceeded {
		action := "alert"
		if b.Enforcement == "soft_block" {
			action = "block"
		}
		spend, err := budgetSpend(ctx, tx, res.Provider, b, now)
		if err != nil {
			return err
		}
		if err := s.event(ctx, tx, res, "budget.exceeded", "", now, map[string]any{"budget_id": b.ID,
			"budget_alert": map[string]any{"budget_limit": b.Limit, "current_spend": Cents(spend), "currency": b.Currency, "action": action}}); err != nil {
			return err
		}
	}
	budgets, err := tx.Budgets(ctx, res.Provider)
	if err != nil {
		return err
	}
	sc := scopeOf(res)
	for _, b := range budgets {
		if !budgetCovers(b, sc) {
			continue
		}
		spend, err := budgetSpend(ctx, tx, res.Provider, b, now)
		if err != nil {
			return err
		}
		limit := ratOr0(b.Limit)
		if limit.Sign() == 0 {
			continue
		}
		pct, _ := new(big.Rat).Quo(new(big.Rat).Mul(spend, big.NewRat(100, 1)), limit).Float64()
		var thresholds []int
		json.Unmarshal([]byte(b.AlertThresholds), &thresholds)
		_, _, key := budgetPeriod(b.Period, now)
		for _, t := range thresholds {
			if pct < float64(t) {
				continue
			}
			fresh, err := tx.MarkBudgetAlert(ctx, b.ID, key, t)
			if err != nil {
				return err
			}
			if fresh {
				if err := s.event(ctx, tx, res, "budget.threshold_reached", "", now, map[string]any{"budget_id": b.ID,
					"budget_alert": map[string]any{"budget_limit": b.Limit, "current_spend": Cents(spend), "percent_used": float64(int64(pct*100+0.5)) / 100,
						"currency": b.Currency, "action": "alert"}}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// budgetView is the Budget object of spec/osp.md §15.1.
func (s *Ledger) budgetView(ctx context.Context, b storage.Budget) (map[string]any, error) {
	st, err := s.budgetStatus(ctx, b)
	if err != nil {
		return nil, err
	}
	var thresholds []int
	json.Unmarshal([]byte(b.AlertThresholds), &thresholds)
	return map[string]any{"budget_id": b.ID, "scope": b.Scope, "scope_id": b.ScopeID,
		"limit": map[string]string{"amount": b.Limit, "currency": b.Currency}, "enforcement": b.Enforcement, "period": b.Period,
		"alert_thresholds": thresholds, "current_spend": st.Spend, "utilization_percent": st.Percent, "created_at": rfc3339(b.CreatedAt)}, nil
}

var (
	budgetPath   = regexp.MustCompile(`^/osp/v1/budgets(?:/([^/]+))?$`)
	amount2      = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)
	budgetScopes = []string{"project", "team", "principal", "global"}
	enforcements = []string{"warn", "soft_block", "hard_block"}
	periods      = []string{"daily", "weekly", "monthly", "quarterly", "yearly"}
)

// serveBudgets answers /osp/v1/budgets and /osp/v1/budgets/{id} (spec/osp.md §15.1).
func (s *Ledger) serveBudgets(w http.ResponseWriter, r *http.Request, p *ProviderState, id string) {
	if _, ok := s.callerOf(w, r, p); !ok {
		return
	}
	if id != "" {
		if !Allow(w, r, http.MethodGet, http.MethodHead, http.MethodDelete) {
			return
		}
		if r.Method == http.MethodDelete {
			err := s.db.DeleteBudget(r.Context(), p.Slug, id)
			if errors.Is(err, storage.ErrNotFound) {
				WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: "no budget " + id})
				return
			}
			if err != nil {
				WriteError(w, asError(err))
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		budgets, err := s.db.Budgets(r.Context(), p.Slug)
		if err != nil {
			WriteError(w, asError(err))
			return
		}
		for _, b := range budgets {
			if b.ID == id {
				v, err := s.budgetView(r.Context(), b)
				if err != nil {
					WriteError(w, asError(err))
					return
				}
				kernel.WriteJSON(w, http.StatusOK, v)
				return
			}
		}
		WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: "no budget " + id})
		return
	}
	if !Allow(w, r, http.MethodGet, http.MethodHead, http.MethodPost) {
		return
	}
	if r.Method == http.MethodPost {
		s.createBudget(w, r, p)
		return
	}
	budgets, err := s.db.Budgets(r.Context(), p.Slug)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	q := r.URL.Query()
	out := []map[string]any{}
	for _, b := range budgets {
		if (q.Get("scope") != "" && q.Get("scope") != b.Scope) || (q.Get("scope_id") != "" && q.Get("scope_id") != b.ScopeID) {
			continue
		}
		v, err := s.budgetView(r.Context(), b)
		if err != nil {
			WriteError(w, asError(err))
			return
		}
		out = append(out, v)
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"budgets": out})
}

func (s *Ledger) createBudget(w http.ResponseWriter, r *http.Request, p *ProviderState) {
	body, oerr := optionalBody(r)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	spec := BudgetSpec{Scope: body.Str("scope"), ScopeID: body.Str("scope_id"), Amount: body.Get("limit").Str("amount"),
		Currency: body.Get("limit").Str("currency"), Enforcement: body.Str("enforcement"), Period: body.Str("period")}
	var errs []map[string]any
	if t := body.Get("alert_thresholds"); t != nil {
		spec.Thresholds = []int{}
		for i, it := range t.List() {
			n, err := strconv.Atoi(it.Text)
			if it.Kind != jsondoc.Number || err != nil || n < 1 || n > 100 {
				errs = append(errs, map[string]any{"pointer": "/alert_thresholds/" + strconv.Itoa(i), "message": "thresholds are integers from 1 to 100"})
				continue
			}
			spec.Thresholds = append(spec.Thresholds, n)
		}
		if t.Kind != jsondoc.Array {
			errs = append(errs, map[string]any{"pointer": "/alert_thresholds", "message": "alert_thresholds is an array of percentages"})
		}
	}
	if len(errs) > 0 {
		WriteError(w, InvalidRequest("the budget is not valid", errs...))
		return
	}
	b, berr := s.AddBudget(r.Context(), p, spec)
	if berr != nil {
		WriteError(w, berr)
		return
	}
	v, err := s.budgetView(r.Context(), b)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	kernel.WriteJSON(w, http.StatusCreated, v)
}

// BudgetSpec is a budget to create (spec/osp.md §15.1). Thresholds nil means the default
// 80 and 100 percent.
type BudgetSpec struct {
	Scope, ScopeID, Amount, Currency, Enforcement, Period string
	Thresholds                                            []int
}

// AddBudget validates and stores a budget for provider p; the budgets API and the Spend page
// both create budgets through it. It returns the budget, or an invalid_request or conflict
// Error (provider_error for a database failure).
func (s *Ledger) AddBudget(ctx context.Context, p *ProviderState, spec BudgetSpec) (storage.Budget, *Error) {
	var errs []map[string]any
	bad := func(ptr, msg string) { errs = append(errs, map[string]any{"pointer": ptr, "message": msg}) }
	b := storage.Budget{ID: kernel.NewID("budget_", s.clock.Now()), Provider: p.Slug, Scope: spec.Scope, ScopeID: spec.ScopeID,
		Limit: spec.Amount, Currency: spec.Currency, Enforcement: spec.Enforcement, Period: spec.Period, CreatedAt: s.clock.Now()}
	if !slices.Contains(budgetScopes, b.Scope) {
		bad("/scope", "scope is project, team, principal or global")
	}
	if b.ScopeID == "" || (b.Scope == "global" && b.ScopeID != "*") {
		bad("/scope_id", `scope_id is required ("*" for global)`)
	}
	if b.Scope == "project" && !strings.HasPrefix(b.ScopeID, "proj_") && b.ScopeID != "" {
		b.ScopeID = "proj_" + b.ScopeID
	}
	if !amount2.MatchString(b.Limit) {
		bad("/limit/amount", `limit.amount is a decimal string such as "50.00"`)
	}
	if !slices.Contains([]string{"USD", "EUR", "GBP", "USDC", "EURC"}, b.Currency) {
		bad("/limit/currency", "limit.currency is USD, EUR, GBP, USDC or EURC")
	}
	if !slices.Contains(enforcements, b.Enforcement) {
		bad("/enforcement", "enforcement is warn, soft_block or hard_block")
	}
	if !slices.Contains(periods, b.Period) {
		bad("/period", "period is daily, weekly, monthly, quarterly or yearly")
	}
	if len(errs) > 0 {
		return b, InvalidRequest("the budget is not valid", errs...)
	}
	thresholds := spec.Thresholds
	if thresholds == nil {
		thresholds = []int{80, 100}
	}
	tj, _ := json.Marshal(thresholds)
	b.AlertThresholds = string(tj)
	if err := s.db.PutBudget(ctx, b); errors.Is(err, storage.ErrDuplicate) {
		return b, &Error{Status: 409, Code: "conflict", Message: "a budget for this scope, scope_id and period exists already"}
	} else if err != nil {
		return b, asError(err)
	}
	return b, nil
}

// requestCeiling applies a provisioning request's own budget (spec/osp.md §15.4).
func requestCeiling(b *jsondoc.Node, tier *jsondoc.Node, ttlSeconds int) *Error {
	if b == nil || b.Kind != jsondoc.Object {
		return nil
	}
	price := tier.Get("price")
	if c := b.Str("currency"); c != "" && c != price.Str("currency") {
		return InvalidRequest("budget.currency must be the tier's currency, " + price.Str("currency"))
	}
	monthly := monthlyPrice(tier)
	refuse := func(limit string, requested *big.Rat) *Error {
		return &Error{Status: 402, Code: "budget_exceeded", Message: "the tier costs more than the request's budget allows",
			Details: map[string]any{"budget_id": nil, "enforcement": "request_ceiling", "limit": limit, "requested_cost": Cents(requested), "override_available": false}}
	}
	if mm := b.Get("max_monthly_cost"); mm != nil {
		limit := ratOr0(strings.Trim(string(jsondoc.Compact(mm)), `"`))
		if monthly.Cmp(limit) > 0 {
			return refuse(Cents(limit), monthly)
		}
	}
	if mt := b.Get("max_total_cost"); mt != nil && ttlSeconds > 0 {
		limit := ratOr0(strings.Trim(string(jsondoc.Compact(mt)), `"`))
		total := new(big.Rat).Mul(monthly, new(big.Rat).SetFrac64(int64(ttlSeconds), 30*24*3600))
		if total.Cmp(limit) > 0 {
			return refuse(Cents(limit), total)
		}
	}
	return nil
}

func truthy(n *jsondoc.Node) bool {
	if n == nil {
		return false
	}
	switch n.Kind {
	case jsondoc.Bool:
		return n.Text == "true"
	case jsondoc.Object:
		return len(n.Members) > 0
	case jsondoc.String:
		return n.Text != ""
	}
	return false
}
