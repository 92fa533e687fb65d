package osp

import (
	"context"
	"math/big"
	"sort"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// DimensionHistory is one metered dimension's usage in the current period, day by day: what a
// resource's page charts. Usage accrues by a fixed seeded rate (accrual.go), so every past day's
// quantity is exact; injected usage is stored as a period total without a time, so it counts
// from today on.
type DimensionHistory struct {
	Dimension, Unit string
	Included        float64
	// Daily is the quantity at the end of each day from PeriodStart; the last is today's, as the
	// usage report has it now.
	Daily []float64
	// Projected is the quantity at the period's end if the resource stays live.
	Projected float64
	// Injected is the injected part of the last value.
	Injected float64
	// PeriodStart is the month's first day; PeriodEnd the next month's (exclusive).
	PeriodStart, PeriodEnd time.Time
}

// UsageHistory is the current period's usage of res per metered dimension of its tier, sorted by
// dimension; none when the tier meters nothing or the provider no longer serves it.
func (l *Ledger) UsageHistory(ctx context.Context, res storage.Resource) ([]DimensionHistory, error) {
	p := l.view().Provider(res.Provider)
	if p == nil || p.Serving == nil {
		return nil, nil
	}
	_, tier, ferr := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
	if ferr != nil {
		return nil, nil
	}
	now := l.clock.Now()
	from, to := monthBounds(now)
	stored, err := l.db.Usage(ctx, res.ID, from.Format("2006-01"))
	if err != nil {
		return nil, err
	}
	var out []DimensionHistory
	for metric, d := range dimensionsOf(tier) {
		d = d.orDefault()
		injected := ratFloat(ratOr0(stored[metric]))
		h := DimensionHistory{Dimension: metric, Unit: d.unit, Included: ratFloat(ratOr0(d.included)), Injected: injected, PeriodStart: from, PeriodEnd: to}
		for day := from; day.Before(now); day = day.AddDate(0, 0, 1) {
			end := day.AddDate(0, 0, 1)
			if !end.Before(now) {
				// Today: the settled quantity, as the usage report shows it.
				// (never below yesterday's: the last settle may predate midnight).
				today := ratFloat(ratOr0(stored["accrued:"+metric])) + injected
				if n := len(h.Daily); n > 0 {
					today = max(today, h.Daily[n-1])
				}
				h.Daily = append(h.Daily, today)
				break
			}
			h.Daily = append(h.Daily, ratFloat(accruedIn(res, metric, d.included, from, to, end)))
		}
		h.Projected = ratFloat(accruedIn(res, metric, d.included, from, to, to)) + injected
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dimension < out[j].Dimension })
	return out, nil
}

func ratFloat(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}
