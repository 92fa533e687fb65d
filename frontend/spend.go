package frontend

import (
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/osp"
)

// spendView is the Spend page: the engine's spend view, and the error of the last action.
type spendView struct {
	Spend osp.Spend
	// Tokens counts the orchestrator's payment tokens by status, and what was redeemed.
	Tokens tokenCounts
	Error  string
}

// tokenCounts is the orchestrator's payment tokens at a glance.
type tokenCounts struct {
	Issued, Redeemed, Released int
	RedeemedAmount, Currency   string
}

func (u *UI) spendViewOf(r *http.Request) (spendView, error) {
	s, err := u.Sandbox.OSP().Ledger().SpendView(r.Context())
	if err != nil {
		return spendView{}, err
	}
	_, failure := u.flashOf("spend")
	v := spendView{Spend: s, Error: failure}
	user, _, err := u.Sandbox.Orchestrator().Spend(r.Context()) // releases expired tokens first
	if err != nil {
		return v, err
	}
	byStatus, err := u.DB.PaymentTokenCounts(r.Context())
	v.Tokens.Issued, v.Tokens.Redeemed, v.Tokens.Released = byStatus["issued"], byStatus["redeemed"], byStatus["released"]
	v.Tokens.RedeemedAmount, v.Tokens.Currency = user.Redeemed.Amount, user.Redeemed.Currency
	return v, err
}

func (u *UI) spend(w http.ResponseWriter, r *http.Request) {
	v, err := u.spendViewOf(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, spendPage(u.meta("Spend", "spend"), v))
}

func (u *UI) spendFragment(w http.ResponseWriter, r *http.Request) {
	u.spendAfter(w, r, nil)
}

// spendAfter answers a Spend action: the live fragment (with the action's error, if any) for
// htmx, or a redirect back to the page for a plain form post.
func (u *UI) spendAfter(w http.ResponseWriter, r *http.Request, actionErr error) {
	if r.Method == http.MethodPost && !u.recordAction(w, r, "spend", "/ui/spend", "", actionErr) {
		return
	}
	v, err := u.spendViewOf(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, spendLive(v))
}

// setCap sets a provider's monthly spending cap, through the engine the caps API uses.
func (u *UI) setCap(w http.ResponseWriter, r *http.Request) {
	limit := manifests.MoneyAmount{Amount: strings.TrimSpace(r.PostFormValue("amount")), Currency: r.PostFormValue("currency")}
	err := u.Sandbox.OSP().Ledger().SetProviderCap(r.Context(), r.PostFormValue("provider"), limit)
	u.spendAfter(w, r, err)
}

// addBudget creates a project budget, through the engine the budgets API uses.
func (u *UI) addBudget(w http.ResponseWriter, r *http.Request) {
	p := u.Sandbox.Snapshot().Provider(r.PostFormValue("provider"))
	if p == nil || p.Serving == nil {
		u.spendAfter(w, r, errors.New("no provider "+r.PostFormValue("provider")+" is being served"))
		return
	}
	_, oerr := u.Sandbox.OSP().Ledger().AddBudget(r.Context(), p, osp.BudgetSpec{Scope: "project", ScopeID: strings.TrimSpace(r.PostFormValue("project")),
		Amount: strings.TrimSpace(r.PostFormValue("amount")), Currency: r.PostFormValue("currency"),
		Enforcement: r.PostFormValue("enforcement"), Period: r.PostFormValue("period")})
	var err error
	if oerr != nil {
		err = errors.New(oerr.Message + budgetErrorDetail(oerr))
	}
	u.spendAfter(w, r, err)
}

// budgetErrorDetail lists the field messages of an invalid budget.
func budgetErrorDetail(e *osp.Error) string {
	errs, _ := e.Details["errors"].([]map[string]any)
	var parts []string
	for _, fe := range errs {
		if m, ok := fe["message"].(string); ok {
			parts = append(parts, m)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// setBudgetLimit raises or lowers a budget's limit.
func (u *UI) setBudgetLimit(w http.ResponseWriter, r *http.Request) {
	err := u.Sandbox.OSP().Ledger().SetBudgetLimit(r.Context(), r.PostFormValue("provider"), r.PostFormValue("budget"), strings.TrimSpace(r.PostFormValue("amount")))
	u.spendAfter(w, r, err)
}

// money formats a decimal amount with its currency: "$12.50", "€3.00", "12.50 USDC".
func money(amount, currency string) string {
	if amount == "" {
		amount = "0.00"
	}
	neg := strings.HasPrefix(amount, "-")
	amount = strings.TrimPrefix(amount, "-")
	whole, frac, _ := strings.Cut(amount, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	n := b.String() + "." + frac
	sign := ""
	if neg {
		sign = "−"
	}
	switch currency {
	case "USD":
		return sign + "$" + n
	case "EUR":
		return sign + "€" + n
	case "GBP":
		return sign + "£" + n
	}
	return sign + n + " " + currency
}

// ago says how long before now t was, in the largest whole unit.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
}

func capSourceText(source string) string {
	switch source {
	case "provider":
		return "set for this provider"
	case "global":
		return "the global cap"
	}
	return "the workspace default"
}

func enforcementClass(e string) string {
	switch e {
	case "hard_block":
		return "err"
	case "soft_block":
		return "warn"
	}
	return "accent"
}

// chartOf lays a provider's cumulative daily spend out over the whole period, against its cap.
func chartOf(p osp.ProviderSpend) chart {
	cur := p.Cap.MonthlyLimit.Currency
	s := series{Projected: ratFloat(p.Projected.Amount), Limit: ratFloat(p.Cap.MonthlyLimit.Amount),
		LimitLabel: "cap " + money(p.Cap.MonthlyLimit.Amount, cur),
		Format:     func(v float64) string { return money(strconv.FormatFloat(v, 'f', 2, 64), cur) }}
	for _, d := range p.Cumulative {
		s.Values = append(s.Values, ratFloat(d.Amount))
	}
	if len(p.Cumulative) == 0 {
		return chart{}
	}
	s.Start, _ = time.Parse(time.DateOnly, p.Cumulative[0].Date)
	s.End = s.Start.AddDate(0, 0, len(p.Cumulative)-1)
	if st, err := time.Parse(time.DateOnly, p.Cap.Period["start"]); err == nil {
		if e, err := time.Parse(time.DateOnly, p.Cap.Period["end"]); err == nil {
			s.Start, s.End = st, e
		}
	}
	c := s.chart()
	c.Summary = money(p.Cumulative[len(p.Cumulative)-1].Amount, cur) + " by " + c.To + ", projected " +
		money(p.Projected.Amount, p.Projected.Currency) + " by " + s.End.Format(time.DateOnly) + ", against a cap of " + money(p.Cap.MonthlyLimit.Amount, cur)
	return c
}

func ratFloat(s string) float64 {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0
	}
	f, _ := r.Float64()
	return f
}
