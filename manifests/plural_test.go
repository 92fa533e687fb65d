package manifests

import "testing"

func TestPluralReadsAsEnglish(t *testing.T) {
	for _, c := range []struct {
		n          int
		noun, want string
	}{{1, "metered dimension", "1 metered dimension"}, {3, "MUST check", "3 MUST checks"}, {0, "notice", "0 notices"}, {2, "box", "2 boxes"}} {
		if got := Plural(c.n, c.noun); got != c.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
