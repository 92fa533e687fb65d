package osp

import (
	"math/big"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/storage"
)

// rolledSpend sums rows of the ledger rollup (storage.DailySpend): exact, since every charge is
// whole cents, and independent of how many charges there were.
type rolledSpend struct {
	total     map[string]*big.Rat            // currency → amount
	metered   map[string]*big.Rat            // currency → metered amount
	byDay     map[string]map[string]*big.Rat // day → currency → amount
	byProject map[string]map[string]*big.Rat // project → currency → amount
	negatives int64                          // credits among the charges
}

func rollUp(rows []storage.DailySpend) rolledSpend {
	r := rolledSpend{total: map[string]*big.Rat{}, metered: map[string]*big.Rat{}, byDay: map[string]map[string]*big.Rat{}, byProject: map[string]map[string]*big.Rat{}}
	add := func(m map[string]*big.Rat, key string, v *big.Rat) {
		if m[key] == nil {
			m[key] = new(big.Rat)
		}
		m[key].Add(m[key], v)
	}
	for _, row := range rows {
		v := big.NewRat(row.Cents, 100)
		add(r.total, row.Currency, v)
		if row.Kind == "metered" {
			add(r.metered, row.Currency, v)
		}
		if r.byDay[row.Day] == nil {
			r.byDay[row.Day] = map[string]*big.Rat{}
		}
		add(r.byDay[row.Day], row.Currency, v)
		if r.byProject[row.ProjectID] == nil {
			r.byProject[row.ProjectID] = map[string]*big.Rat{}
		}
		add(r.byProject[row.ProjectID], row.Currency, v)
		r.negatives += row.Negatives
	}
	return r
}

// in converts per-currency amounts to target the way the cap counts them (inCapCurrency),
// leaving out currencies it cannot convert.
func in(amounts map[string]*big.Rat, target string, cfg manifests.Config) *big.Rat {
	sum := new(big.Rat)
	for currency, v := range amounts {
		if c, ok := convert(v, currency, target, cfg); ok {
			sum.Add(sum, c)
		}
	}
	return sum
}

// of is the amount in exactly currency (no conversion), zero when there is none.
func of(amounts map[string]*big.Rat, currency string) *big.Rat {
	if v := amounts[currency]; v != nil {
		return new(big.Rat).Set(v)
	}
	return new(big.Rat)
}
