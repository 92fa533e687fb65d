package frontend

import (
	"testing"
	"time"
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
