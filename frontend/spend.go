package frontend

import (
	"errors"
	"math"
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
	Error string
}

func (u *UI) spendViewOf(r *http.Request) (spendView, error) {
	s, err := u.Sandbox.OSP().Ledger().SpendView(r.Context())
	_, failure := u.flashOf("spend")
	return spendView{Spend: s, Error: failure}, err
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

// The spend chart is server-rendered SVG: a plot of the period's cumulative spend per day with a
// y axis in money, date ticks over the whole period, the cap labelled, the projection to the
// period's end dashed, and each day's value on hover (an SVG title). No charting library: the
// page already has the numbers, and a static SVG needs no script, prints, and stays readable in
// both themes through CSS.
const (
	chartW, chartH         = 720, 200
	chartLeft, chartBottom = 64, 22 // room for the y labels and the dates
	chartTop, chartRight   = 12, 12
	plotW, plotH           = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
)

// chart is a spend chart's SVG geometry, in viewBox units.
type chart struct {
	Points     int
	Line, Area string
	Projection string // the dashed line from today to the period's end, "" when flat
	CapY       float64
	CapLabel   string
	YTicks     []chartTick
	XTicks     []chartTick
	Days       []chartDay // one hover band per day so far
	From, To   string
	Summary    string
}

type chartTick struct {
	At    float64
	Label string
}

type chartDay struct {
	X, W  float64
	Title string
}

// chartOf lays the cumulative daily spend out over the whole period, scaled to the larger of the
// cap, the spend and the projection.
func chartOf(p osp.ProviderSpend) chart {
	c := chart{Points: len(p.Cumulative)}
	if c.Points == 0 {
		return c
	}
	cur := p.Cap.MonthlyLimit.Currency
	limit := ratFloat(p.Cap.MonthlyLimit.Amount)
	projected := ratFloat(p.Projected.Amount)
	top := max(limit, projected)
	for _, d := range p.Cumulative {
		top = max(top, ratFloat(d.Amount))
	}
	top = niceCeiling(top * 1.05)
	start, end := time.Now(), time.Now()
	days := float64(len(p.Cumulative))
	if s, err := time.Parse(time.DateOnly, p.Cap.Period["start"]); err == nil {
		if e, err := time.Parse(time.DateOnly, p.Cap.Period["end"]); err == nil {
			start, end = s, e
			days = e.Sub(s).Hours()/24 + 1
		}
	}
	x := func(day float64) float64 { return chartLeft + day/days*plotW }
	y := func(v float64) float64 { return chartTop + plotH - v/top*plotH }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	var line, area []string
	area = append(area, f(x(0))+","+f(y(0)))
	for i, d := range p.Cumulative {
		v := y(ratFloat(d.Amount))
		x0, x1 := x(float64(i)), x(float64(i+1))
		line = append(line, f(x0)+","+f(v), f(x1)+","+f(v))
		area = append(area, f(x0)+","+f(v), f(x1)+","+f(v))
		label := d.Date
		if t, err := time.Parse(time.DateOnly, d.Date); err == nil {
			label = t.Format("Jan 2")
		}
		c.Days = append(c.Days, chartDay{X: x0, W: x1 - x0, Title: label + ": " + money(d.Amount, cur) + " so far"})
	}
	lastX := x(float64(len(p.Cumulative)))
	area = append(area, f(lastX)+","+f(y(0)))
	c.Line, c.Area = strings.Join(line, " "), strings.Join(area, " ")
	lastV := ratFloat(p.Cumulative[len(p.Cumulative)-1].Amount)
	if projected > lastV && float64(len(p.Cumulative)) < days {
		c.Projection = f(lastX) + "," + f(y(lastV)) + " " + f(x(days)) + "," + f(y(projected))
	}
	c.CapY = y(limit)
	c.CapLabel = "cap " + money(p.Cap.MonthlyLimit.Amount, cur)
	for i := range 5 {
		v := top * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{At: y(v), Label: money(strconv.FormatFloat(v, 'f', 2, 64), cur)})
	}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 7) {
		c.XTicks = append(c.XTicks, chartTick{At: x(d.Sub(start).Hours() / 24), Label: d.Format("Jan 2")})
	}
	c.XTicks = append(c.XTicks, chartTick{At: x(days), Label: end.Format("Jan 2")})
	c.From, c.To = p.Cumulative[0].Date, p.Cumulative[len(p.Cumulative)-1].Date
	c.Summary = money(p.Cumulative[len(p.Cumulative)-1].Amount, cur) + " by " + c.To + ", projected " +
		money(p.Projected.Amount, p.Projected.Currency) + " by " + end.Format(time.DateOnly) + ", against a cap of " + money(p.Cap.MonthlyLimit.Amount, cur)
	return c
}

// niceCeiling rounds v up to a round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of
// ten), so the axis's quarters read as round figures without much empty room above.
func niceCeiling(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func ratFloat(s string) float64 {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0
	}
	f, _ := r.Float64()
	return f
}
