package osp

import (
	"testing"
	"time"
)

func TestBudgetPeriods(t *testing.T) {
	now := time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC) // a Wednesday
	for period, want := range map[string][2]string{
		"daily": {"2026-04-15", "2026-04-16"}, "weekly": {"2026-04-13", "2026-04-20"}, "monthly": {"2026-04-01", "2026-05-01"},
		"quarterly": {"2026-04-01", "2026-07-01"}, "yearly": {"2026-01-01", "2027-01-01"},
	} {
		from, to, _ := budgetPeriod(period, now)
		if from.Format(time.DateOnly) != want[0] || to.Format(time.DateOnly) != want[1] {
			t.Errorf("%s: %s – %s", period, from, to)
		}
	}
}
