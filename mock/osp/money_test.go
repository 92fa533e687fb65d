package osp

import "testing"

func TestMonthlyEquivalent(t *testing.T) {
	tests := []struct {
		amount, interval, want string
		recurring              bool
	}{
		{"25.00", "P1M", "25.00", true},
		{"60.00", "P1Y", "5.00", true},
		{"100", "P1Y", "8.33", true},
		{"0.01", "PT1H", "7.20", true},
		{"7", "P1W", "30.00", true},
		{"10", "P3M", "3.33", true},
		{"0.125", "P1M", "0.13", true}, // half away from zero
		{"5", "P1D", "150.00", true},
		{"99.00", "", "", false},
	}
	for _, tt := range tests {
		got, recurring, err := MonthlyEquivalent(tt.amount, tt.interval)
		if err != nil || got != tt.want || recurring != tt.recurring {
			t.Errorf("MonthlyEquivalent(%s, %s) = %q %v %v, want %q %v", tt.amount, tt.interval, got, recurring, err, tt.want, tt.recurring)
		}
	}
	for _, bad := range [][2]string{{"abc", "P1M"}, {"1", "P"}, {"1", "PT0H"}, {"1", "monthly"}} {
		if _, _, err := MonthlyEquivalent(bad[0], bad[1]); err == nil {
			t.Errorf("MonthlyEquivalent(%q, %q) must fail", bad[0], bad[1])
		}
	}
}

func TestCentsRoundsHalfAwayFromZero(t *testing.T) {
	for in, want := range map[string]string{"0.005": "0.01", "-0.005": "-0.01", "1.994": "1.99", "0": "0.00", "12": "12.00", "-0.004": "0.00"} {
		r, err := ParseAmount(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Cents(r); got != want {
			t.Errorf("Cents(%s) = %s, want %s", in, got, want)
		}
	}
}
