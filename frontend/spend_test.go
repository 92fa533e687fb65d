package frontend

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// api calls the sandbox host as an agent would and decodes the JSON answer.
func (f *fixture) api(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return f.apiWith(t, method, path, body, "")
}

// apiWith is api with a bearer token.
func (f *fixture) apiWith(t *testing.T, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:7410"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.sb.ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// postForm posts a UI form the way htmx does and returns the fragment.
func (f *fixture) postForm(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	return f.htmxPost(t, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// htmxPost sends a POST with the launch token, the CSRF header and HX-Request, as the page does.
func (f *fixture) htmxPost(t *testing.T, path, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(TokenHeader, testToken)
	req.Header.Set(CSRFHeader, csrfFor(testToken))
	req.Header.Set("HX-Request", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cardOf cuts one provider's card out of the Spend page.
func cardOf(page, slug string) string {
	return cutOut(page, `data-provider="`+slug+`"`, "</section>")
}

// cutOut is the part of page from the first start up to the next end (to the page's end
// when there is none); "" when start is not in page.
func cutOut(page, start, end string) string {
	i := strings.Index(page, start)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	if j := strings.Index(rest, end); j >= 0 {
		return rest[:j]
	}
	return rest
}

var (
	totalCell       = regexp.MustCompile(`data-total>([^<]*)<`)
	budgetSpendCell = regexp.MustCompile(`data-budget-spend>([^<]*)<`)
)

func TestSpendPageMatchesTheCostAPIsAndSetsCapsAndBudgets(t *testing.T) {
	f := newFixture(t)
	paid := `{"offering_id":"acmedb/postgres","tier_id":"pro","payment_method":"stripe_spt","payment_proof":"tok","project_name":"shop"}`
	for range 3 {
		if st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", paid); st != 202 && st != 201 {
			t.Fatalf("provision: %d %v", st, b)
		}
	}
	metered := `{"offering_id":"acmedb/postgres","tier_id":"scale","payment_method":"stripe_spt","payment_proof":"tok","project_name":"analytics"}`
	f.api(t, "POST", "/providers/acmedb/osp/v1/provision", metered)
	f.api(t, "POST", "/ospbox/v1/clock/advance", `{"seconds": 1209600}`) // two weeks of metered usage
	if st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/budgets", `{"scope":"project","scope_id":"shop","limit":{"amount":"60.00","currency":"USD"},"enforcement":"soft_block","period":"monthly"}`); st != 201 {
		t.Fatalf("budget: %d %v", st, b)
	}
	if st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", paid); st != 402 {
		t.Fatalf("soft block: %d %v", st, b)
	}
	f.sb.FlushRequestLog()

	_, page := f.get(t, "/ui/spend", authed())
	card := cardOf(page, "acmedb")
	_, summary := f.api(t, "GET", "/providers/acmedb/osp/v1/cost-summary", "")
	m := totalCell.FindStringSubmatch(card)
	if want := money(summary["total_cost"].(string), "USD"); m == nil || m[1] != want {
		t.Errorf("Spend page total %v, cost-summary says %s", m, want)
	}
	_, budgets := f.api(t, "GET", "/providers/acmedb/osp/v1/budgets", "")
	b0 := budgets["budgets"].([]any)[0].(map[string]any)
	if m := budgetSpendCell.FindStringSubmatch(card); m == nil || m[1] != money(b0["current_spend"].(string), "USD") {
		t.Errorf("budget spend on the page %v, budgets API %v", m, b0["current_spend"])
	}
	if !strings.Contains(page, `data-refused="budget_exceeded"`) {
		t.Error("the refused provision is not listed")
	}

	// Lower the cap below the spend from the page: the API refuses the next provision (even with
	// the budget overridden) and the page says the cap is reached.
	if st, frag := f.postForm(t, "/ui/spend/cap", url.Values{"provider": {"acmedb"}, "amount": {"50.00"}, "currency": {"USD"}}); st != 200 || !strings.Contains(cardOf(frag, "acmedb"), "cap reached") {
		t.Errorf("set cap: %d %.300s", st, cardOf(frag, "acmedb"))
	}
	_, caps := f.api(t, "GET", "/ospbox/v1/caps/providers/acmedb", "")
	if caps["monthly_limit"].(map[string]any)["amount"] != "50.00" || caps["limit_source"] != "provider" {
		t.Errorf("caps API after the page set it: %v", caps)
	}
	override := strings.Replace(paid, `"project_name"`, `"budget_override":true,"project_name"`, 1)
	if st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", override); st != 403 {
		t.Errorf("over the cap: %d %v", st, b)
	}
	if st, frag := f.postForm(t, "/ui/spend/cap", url.Values{"provider": {"acmedb"}, "amount": {"lots"}, "currency": {"USD"}}); st != 200 || !strings.Contains(frag, `role="alert"`) {
		t.Errorf("bad cap amount: %d %.200s", st, frag)
	}

	// Raise the budget and add another from the page; the budgets API sees both.
	if st, _ := f.postForm(t, "/ui/spend/budget/limit", url.Values{"provider": {"acmedb"}, "budget": {b0["budget_id"].(string)}, "amount": {"200.00"}}); st != 200 {
		t.Errorf("raise budget: %d", st)
	}
	if st, frag := f.postForm(t, "/ui/spend/budget", url.Values{"provider": {"acmedb"}, "project": {"web"}, "amount": {"10.00"}, "currency": {"USD"},
		"enforcement": {"hard_block"}, "period": {"monthly"}}); st != 200 || !strings.Contains(frag, "proj_web") {
		t.Errorf("add budget: %d", st)
	}
	_, budgets = f.api(t, "GET", "/providers/acmedb/osp/v1/budgets", "")
	list := budgets["budgets"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["limit"].(map[string]any)["amount"] != "200.00" || list[1].(map[string]any)["enforcement"] != "hard_block" {
		t.Errorf("budgets after the page: %v", list)
	}
	if _, frag := f.postForm(t, "/ui/spend/budget", url.Values{"provider": {"acmedb"}, "project": {"web2"}, "amount": {"ten"}, "currency": {"USD"},
		"enforcement": {"hard_block"}, "period": {"monthly"}}); !strings.Contains(frag, "limit.amount is a decimal string") {
		t.Errorf("invalid budget not explained: %.300s", frag)
	}
}

func TestMoneyFormatting(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"1234567.5", "USD"}: "$1,234,567.50", {"0", "EUR"}: "€0.00", {"-3.25", "GBP"}: "−£3.25", {"12.00", "USDC"}: "12.00 USDC", {"", "USD"}: "$0.00",
	} {
		if got := money(in[0], in[1]); got != want {
			t.Errorf("money(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestSpendPageListsBudgetAlerts(t *testing.T) {
	f := newFixture(t)
	st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/budgets", `{"scope":"project","scope_id":"shop","limit":{"amount":"30.00","currency":"USD"},"enforcement":"warn","period":"monthly"}`)
	if st != 201 {
		t.Fatalf("budget: %d %v", st, b)
	}
	f.api(t, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/postgres","tier_id":"pro","payment_method":"stripe_spt","payment_proof":"tok","project_name":"shop"}`)
	_, page := f.get(t, "/ui/spend", authed())
	alerts := page[strings.Index(page, "Budget alerts"):]
	if !strings.Contains(alerts, b["budget_id"].(string)) || !strings.Contains(alerts, `$25.00</span> <span class="nowrap muted">of $30.00`) || !strings.Contains(alerts, "threshold reached") {
		t.Errorf("alerts: %.800s", alerts)
	}
}
