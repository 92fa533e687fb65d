package osp

import (
	"testing"
	"time"
)

// TestProrationMatchesTheSpecExample is spec/examples.md §1.8: free → pro (USD 25.00) at
// 2026-04-10T09:45:00Z posts USD 17.16.
func TestProrationMatchesTheSpecExample(t *testing.T) {
	f, start, end := remainingFraction(time.Date(2026, 4, 10, 9, 45, 0, 0, time.UTC))
	if f.FloatString(6) != "0.686458" || start.Day() != 1 || end.Month() != time.May {
		t.Fatalf("fraction %s", f.FloatString(6))
	}
	amount, _ := ParseAmount("25.00")
	if got := Cents(amount.Mul(amount, f)); got != "17.16" {
		t.Errorf("proration %s", got)
	}
}
