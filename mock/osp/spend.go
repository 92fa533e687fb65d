package osp

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/storage"
)

// Spend is what the Spend dashboard shows, computed by the code behind the cost, caps and
// budgets APIs, so its numbers are theirs to the cent.
type Spend struct {
	Now       time.Time
	Providers []ProviderSpend
	Alerts    []SpendAlert       // budget thresholds reached and budgets exceeded, newest first
	Refused   []RefusedProvision // provisioning requests answered 402/403, newest first
}

// ProviderSpend is one provider's spend this period.
type ProviderSpend struct {
	Cap CapView
	// Total is the cost summary's total (GET /osp/v1/cost-summary) in the provider's currency.
	Total manifests.MoneyAmount
	// Projected is the spend at the end of the period if metered usage keeps its rate so far:
	// base and one-time charges are paid up front for the month.
	Projected manifests.MoneyAmount
	// Cumulative is the spend at the end of each day of the period up to today (for the chart).
	Cumulative []CapDay
	Budgets    []BudgetStatus
}

// BudgetStatus is a budget with its spend this period (GET /osp/v1/budgets).
type BudgetStatus struct {
	storage.Budget
	Spend   string
	Percent float64
}

// SpendAlert is a budget alert event.
type SpendAlert struct {
	At                          time.Time
	Provider, ResourceID, Type  string
	BudgetID, Limit, Spend, Cur string
	Action                      string
}

// RefusedProvision is a provisioning request that a budget, cap, payment or trust check refused.
type RefusedProvision struct {
	RequestID       int64
	At              time.Time
	Provider, Agent string
	Status          int
	Code, Message   string
}

// SpendView computes the Spend dashboard now (the UI). It returns the database's error.
func (s *Ledger) SpendView(ctx context.Context) (Spend, error) {
	snap := s.view()
	now := s.clock.Now()
	out := Spend{Now: now}
	for _, p := range snap.Providers {
		if p.Serving == nil {
			continue
		}
		ps, err := s.providerSpend(ctx, p, now)
		if err != nil {
			return out, err
		}
		out.Providers = append(out.Providers, ps)
	}
	events, err := s.db.RecentBudgetAlerts(ctx, 20)
	if err != nil {
		return out, err
	}
	for _, e := range events {
		var envelope struct {
			Data struct {
				BudgetID string `json:"budget_id"`
				Alert    struct {
					Limit    string `json:"budget_limit"`
					Spend    string `json:"current_spend"`
					Currency string `json:"currency"`
					Action   string `json:"action"`
				} `json:"budget_alert"`
			} `json:"data"`
		}
		json.Unmarshal(e.Data, &envelope)
		d := envelope.Data
		out.Alerts = append(out.Alerts, SpendAlert{At: e.At, Provider: e.Provider, ResourceID: e.ResourceID, Type: e.Type,
			BudgetID: d.BudgetID, Limit: d.Alert.Limit, Spend: d.Alert.Spend, Cur: d.Alert.Currency, Action: d.Alert.Action})
	}
	refused, err := s.db.RefusedProvisions(ctx, 20)
	if err != nil {
		return out, err
	}
	for _, r := range refused {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(r.ResponseBody), &body)
		out.Refused = append(out.Refused, RefusedProvision{RequestID: r.ID, At: r.At, Provider: r.Provider, Agent: r.Agent,
			Status: r.Status, Code: body.Error.Code, Message: body.Error.Message})
	}
	return out, nil
}

func (s *Ledger) providerSpend(ctx context.Context, p *ProviderState, now time.Time) (ProviderSpend, error) {
	cv, err := s.capSummary(ctx, p)
	if err != nil {
		return ProviderSpend{}, err
	}
	from, to := monthBounds(now)
	rows, err := s.db.DailySpend(ctx, p.Slug, from, to)
	if err != nil {
		return ProviderSpend{}, err
	}
	rolled := rollUp(rows)
	currency := baseCurrency(p)
	total, metered := of(rolled.total, currency), of(rolled.metered, currency)
	if rolled.negatives > 0 {
		// A credit can take a resource's base below zero, which the cost summary floors per
		// resource: add it up the way the cost summary does.
		lines, err := s.costLines(ctx, p, from, to, nil)
		if err != nil {
			return ProviderSpend{}, err
		}
		total.SetInt64(0)
		for _, l := range lines {
			if l.currency == currency {
				total.Add(total, l.base).Add(total, l.metered)
			}
		}
	}
	projected := new(big.Rat).Set(total)
	if elapsed := now.Sub(from); elapsed > 0 {
		rate := new(big.Rat).Quo(metered, new(big.Rat).SetInt64(int64(elapsed/time.Second)))
		projected.Add(projected, rate.Mul(rate, new(big.Rat).SetInt64(int64(to.Sub(now)/time.Second))))
	}
	ps := ProviderSpend{Cap: cv, Total: manifests.MoneyAmount{Amount: Cents(total), Currency: currency},
		Projected: manifests.MoneyAmount{Amount: Cents(projected), Currency: currency}}
	// Cumulative spend per day, in the cap's currency.
	byDay := map[string]*big.Rat{}
	for _, d := range cv.Daily {
		byDay[d.Date] = ratOr0(d.Amount)
	}
	running := new(big.Rat)
	for day := from; !day.After(now) && day.Before(to); day = day.AddDate(0, 0, 1) {
		key := day.Format(time.DateOnly)
		if v := byDay[key]; v != nil {
			running.Add(running, v)
		}
		ps.Cumulative = append(ps.Cumulative, CapDay{Date: key, Amount: Cents(running)})
	}
	budgets, err := s.db.Budgets(ctx, p.Slug)
	if err != nil {
		return ps, err
	}
	for _, b := range budgets {
		st, err := s.budgetStatus(ctx, b)
		if err != nil {
			return ps, err
		}
		ps.Budgets = append(ps.Budgets, st)
	}
	sort.SliceStable(ps.Budgets, func(i, j int) bool { return ps.Budgets[i].Percent > ps.Budgets[j].Percent })
	return ps, nil
}

// budgetStatus is a budget's spend this period, read from one snapshot.
func (s *Ledger) budgetStatus(ctx context.Context, b storage.Budget) (BudgetStatus, error) {
	var spend *big.Rat
	err := s.db.View(ctx, func(tx *storage.Tx) error {
		var err error
		spend, err = budgetSpend(ctx, tx, b.Provider, b, s.clock.Now())
		return err
	})
	if err != nil {
		return BudgetStatus{}, err
	}
	st := BudgetStatus{Budget: b, Spend: Cents(spend)}
	if limit := ratOr0(b.Limit); limit.Sign() > 0 {
		f, _ := new(big.Rat).Quo(new(big.Rat).Mul(spend, big.NewRat(100, 1)), limit).Float64()
		st.Percent = float64(int64(f*100+0.5)) / 100
	}
	return st, nil
}

// SetProviderCap sets the monthly spending cap of the provider with slug (the Spend page; the
// caps API's PUT /ospbox/v1/caps/providers/{id} does the same). It returns an error for an
// unknown provider or an invalid amount, or the database's.
func (s *Ledger) SetProviderCap(ctx context.Context, slug string, limit manifests.MoneyAmount) error {
	p := s.view().Provider(slug)
	if p == nil || p.Serving == nil {
		return errors.New("no provider " + slug + " is being served")
	}
	if err := validMoney(limit); err != nil {
		return err
	}
	return s.db.SetCap(ctx, p.Serving.Manifest.ProviderID, &storage.Cap{Scope: p.Serving.Manifest.ProviderID,
		Amount: limit.Amount, Currency: limit.Currency, UpdatedAt: s.clock.Now()})
}

// SetBudgetLimit changes the limit of a provider's budget (the Spend page). It returns an error
// for an invalid amount, storage.ErrNotFound for an unknown budget, or the database's.
func (s *Ledger) SetBudgetLimit(ctx context.Context, slug, budgetID, amount string) error {
	if !amount2.MatchString(amount) {
		return errors.New(`the limit is a decimal amount such as "50.00"`)
	}
	return s.db.SetBudgetLimit(ctx, slug, budgetID, amount)
}

// validMoney checks a cap amount: a non-negative decimal string and a currency code.
func validMoney(m manifests.MoneyAmount) error {
	if _, err := ParseAmount(m.Amount); err != nil || strings.HasPrefix(m.Amount, "-") {
		return errBadAmount
	}
	if !currencyPattern.MatchString(m.Currency) {
		return errors.New("the currency is a code such as USD")
	}
	return nil
}
