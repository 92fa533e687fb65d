package osp

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
)

// Money amounts are decimal strings; ospbox computes with exact rationals and rounds half away
// from zero to the cent after every multiplication (spec/README.md, Money).

// ParseAmount reads a decimal string such as "25.00".
func ParseAmount(s string) (*big.Rat, error) {
	if !decimalPattern.MatchString(s) {
		return nil, errors.New("not a decimal amount: " + strconv.Quote(s))
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, errors.New("not a decimal amount: " + strconv.Quote(s))
	}
	return r, nil
}

var decimalPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Cents rounds r half away from zero to two fraction digits and formats it ("25.00").
func Cents(r *big.Rat) string {
	scaled := new(big.Rat).Mul(r, big.NewRat(100, 1))
	num, den := scaled.Num(), scaled.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// Half away from zero: compare 2·|remainder| with the denominator.
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	neg := q.Sign() < 0
	q.Abs(q)
	s := q.String()
	for len(s) < 3 {
		s = "0" + s
	}
	out := s[:len(s)-2] + "." + s[len(s)-2:]
	if neg {
		out = "-" + out
	}
	return out
}

var durationParts = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// DurationHours converts an ISO 8601 duration to hours with ospbox's calendar: 1 Y = 12 M,
// 1 M = 30 D, 1 W = 7 D, 1 D = 24 H (spec/osp.md §14.1).
func DurationHours(d string) (*big.Rat, error) {
	m := durationParts.FindStringSubmatch(d)
	if m == nil || d == "P" || d == "PT" {
		return nil, errors.New("not an ISO 8601 duration: " + strconv.Quote(d))
	}
	weights := []*big.Rat{
		big.NewRat(12*30*24, 1), big.NewRat(30*24, 1), big.NewRat(7*24, 1), big.NewRat(24, 1),
		big.NewRat(1, 1), big.NewRat(1, 60), big.NewRat(1, 3600),
	}
	total := new(big.Rat)
	for i, part := range m[1:] {
		if part == "" {
			continue
		}
		n, _ := new(big.Rat).SetString(part)
		total.Add(total, n.Mul(n, weights[i]))
	}
	if total.Sign() == 0 {
		return nil, errors.New("a zero duration has no monthly equivalent")
	}
	return total, nil
}

// MonthlyEquivalent is a price per month: amount × 30 days / interval, rounded to the cent; ok is
// false for a one-time price (no interval).
func MonthlyEquivalent(amount, interval string) (string, bool, error) {
	if interval == "" {
		return "", false, nil
	}
	a, err := ParseAmount(amount)
	if err != nil {
		return "", false, err
	}
	h, err := DurationHours(interval)
	if err != nil {
		return "", false, err
	}
	month := big.NewRat(30*24, 1)
	return Cents(new(big.Rat).Quo(new(big.Rat).Mul(a, month), h)), true, nil
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3,4}$`)

var errBadAmount = errors.New("amount must be a non-negative decimal string")
