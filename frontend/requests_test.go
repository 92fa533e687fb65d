package frontend

import (
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/check"
	"github.com/ospbox/ospbox/mock/osp"
)

// TestRequestTimesShowTheirDateWhenNotToday: after the clock moved, a row of another day says its
// date, so the times do not seem to jump back.
func TestRequestTimesShowTheirDateWhenNotToday(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 30, 0, 0, time.Local)
	for at, want := range map[time.Time]string{
		now.Add(-time.Hour):                "00:30:00.000",
		now.Add(-3 * time.Hour):            "Dec 1 22:30:00.000",
		now.AddDate(-1, 0, 0):              "2025-12-02 01:30:00.000",
		now.Add(4*time.Hour + time.Minute): "05:31:00.000",
	} {
		if got := requestTime(now, at); got != want {
			t.Errorf("requestTime(%v) = %q, want %q", at, got, want)
		}
	}
}

// TestCheckSummaryInWords: the line under the check results says whether a failure costs
// conformance, and a passed MUST check is not painted red.
func TestCheckSummaryInWords(t *testing.T) {
	for _, tc := range []struct {
		r    check.Report
		want string
	}{
		{check.Report{Passed: 12, Failed: 0, Skipped: 3}, "12 checks passed, 0 failed, 3 skipped."},
		{check.Report{Passed: 12, Failed: 2, Skipped: 1}, "12 checks passed, 2 failed (none of them a MUST: still conformant), 1 skipped."},
		{check.Report{Passed: 1, Failed: 1, MustFailed: 1}, "1 check passed, 1 failed (a MUST: not conformant), 0 skipped."},
		{check.Report{Passed: 5, Failed: 3, MustFailed: 2}, "5 checks passed, 3 failed (2 of them MUST: not conformant), 0 skipped."},
	} {
		if got := checkSummary(&tc.r); got != tc.want {
			t.Errorf("checkSummary(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
	if levelClass(check.Must, check.Pass) != "" || levelClass(check.Must, check.Fail) != "err" {
		t.Error("a MUST badge is red only when the check failed")
	}
}

func TestMiddleKeepsBothEnds(t *testing.T) {
	if got := middle("budget_01m8tjn1rpyszf17r3730nzsa1", 20); got != "budget_01…r3730nzsa1" || len([]rune(got)) != 20 {
		t.Errorf("middle = %q", got)
	}
	if got := middle("short", 20); got != "short" {
		t.Errorf("middle of a short id = %q", got)
	}
}

// TestEventsPageListsAnOSPEventOnce: an OSP event the bridge also publishes on the BSP stream is
// in the event log, and the BSP list says so instead of repeating it.
func TestEventsPageListsAnOSPEventOnce(t *testing.T) {
	f := newFixture(t)
	call(f.sb, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/redis","tier_id":"free"}`)
	deadline := time.Now().Add(10 * time.Second)
	var page string
	for time.Now().Before(deadline) {
		_, page = f.get(t, "/ui/event-log", authed())
		if strings.Contains(page, `id="bsp-mirrored"`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(page, `id="bsp-mirrored"`) || strings.Contains(page, `data-bsp-event="OspResourceProvisioned"`) {
		t.Errorf("the BSP list repeats the OSP event or does not say why it leaves it out: %s", cutOut(page, `id="bsp-events-h"`, `</section>`))
	}
	if !strings.Contains(page, "resource.provisioned") {
		t.Errorf("the event log lacks the OSP event")
	}
}

// TestSpendChartHasAxesCapProjectionAndValues: the chart spans the whole period with money on
// its axis, the cap labelled, the projection drawn when the spend is set to grow, and each day's
// figure on hover.
func TestSpendChartHasAxesCapProjectionAndValues(t *testing.T) {
	usd := func(a string) manifests.MoneyAmount { return manifests.MoneyAmount{Amount: a, Currency: "USD"} }
	p := osp.ProviderSpend{Projected: usd("75.00"), Cumulative: []osp.CapDay{{Date: "2026-12-01", Amount: "10.00"}, {Date: "2026-12-02", Amount: "25.00"}}}
	p.Cap.MonthlyLimit = usd("100.00")
	p.Cap.Period = map[string]string{"start": "2026-12-01", "end": "2026-12-31"}
	c := chartOf(p)
	var ys, xs []string
	for _, tk := range c.YTicks {
		ys = append(ys, tk.Label)
	}
	for _, tk := range c.XTicks {
		xs = append(xs, tk.Label)
	}
	if strings.Join(ys, " ") != "USD 0.00 USD 30.00 USD 60.00 USD 90.00 USD 120.00" && strings.Join(ys, " ") != "$0.00 $30.00 $60.00 $90.00 $120.00" {
		t.Errorf("y ticks %v", ys)
	}
	if xs[0] != "Dec 1" || xs[len(xs)-1] != "Dec 31" || len(xs) < 5 {
		t.Errorf("x ticks %v: the chart must span the period", xs)
	}
	if c.Projection == "" || !strings.Contains(c.CapLabel, "100.00") || len(c.Days) != 2 || !strings.Contains(c.Days[1].Title, "Dec 2") || !strings.Contains(c.Days[1].Title, "25.00") {
		t.Errorf("chart %+v", c)
	}
	if c.CapY <= chartTop || c.CapY >= chartH-chartBottom {
		t.Errorf("the cap line at y %.1f is outside the plot", c.CapY)
	}
}

func TestGlossaryExplainsTheTermsThePagesUse(t *testing.T) {
	f := newFixture(t)
	st, page := f.get(t, "/ui/glossary", authed())
	for _, want := range []string{`id="dialect"`, "compatibility superset", `id="scenario"`, "soft_block"} {
		if st.StatusCode != 200 || !strings.Contains(page, want) {
			t.Errorf("glossary lacks %q", want)
		}
	}
	if _, ov := f.get(t, "/ui/", authed()); !strings.Contains(ov, `href="/ui/glossary#dialect"`) || !strings.Contains(ov, `href="/ui/glossary"`) {
		t.Errorf("the Overview does not link the glossary")
	}
}
