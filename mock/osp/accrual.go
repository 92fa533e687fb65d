package osp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/storage"
)

// Usage accrues by itself with sandbox time so that spend rises in demos and tests can predict
// it: each metered dimension of a live resource's tier grows at a fixed hourly rate, seeded by
// the resource id and the dimension. The rate is the included quantity spread over a 30-day
// month (100 units when nothing is included), scaled by a factor between 0.5 and 1.5. Injected
// usage (POST /ospbox/v1/resources/{id}/usage) adds to it.

// accrualRate is the seeded hourly rate of a dimension, in its units, with six decimals.
func accrualRate(resourceID, dimension, included string) *big.Rat {
	base := ratOr0(included)
	if base.Sign() == 0 {
		base = big.NewRat(100, 1)
	}
	sum := sha256.Sum256([]byte(resourceID + "/" + dimension))
	permille := int64(binary.BigEndian.Uint32(sum[:4])%1000) + 500 // 0.500 … 1.499
	rate := new(big.Rat).Mul(base, big.NewRat(permille, 1000*720))
	rounded, _ := new(big.Rat).SetString(rate.FloatString(6))
	return rounded
}

// accruedIn is the quantity a dimension accrued in the period [from, to) up to now.
func accruedIn(res storage.Resource, dimension, included string, from, to, now time.Time) *big.Rat {
	hours := activeHours(res, from, to, now)
	q := new(big.Rat).Mul(accrualRate(res.ID, dimension, included), hours)
	rounded, _ := new(big.Rat).SetString(q.FloatString(2))
	return rounded
}

// settleAccrual brings accrued usage up to now for every live resource with metered dimensions:
// it records the quantities and posts metered charges for what newly exceeds the included
// quantity (never for sandboxes). The clock stops at month starts, so a period's accrual is
// settled before the next begins.
func (s *Engine) settleAccrual(ctx context.Context, tx *storage.Tx, now time.Time) error {
	live, err := tx.LiveResources(ctx)
	if err != nil {
		return err
	}
	snap := s.view()
	from, to := monthBounds(now)
	period := from.Format("2006-01")
	for _, res := range live {
		p := snap.Provider(res.Provider)
		if p == nil || p.Serving == nil {
			continue
		}
		_, tier, ferr := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
		if ferr != nil {
			continue
		}
		dims := tier.Get("price").Get("metered_dimensions").List()
		if len(dims) == 0 {
			continue
		}
		if err := settleResource(ctx, tx, res, tier, dims, period, from, to, now); err != nil {
			return err
		}
	}
	return nil
}

func settleResource(ctx context.Context, tx *storage.Tx, res storage.Resource, tier *jsondoc.Node, dims []*jsondoc.Node, period string, from, to, now time.Time) error {
	current, err := tx.Usage(ctx, res.ID, period)
	if err != nil {
		return err
	}
	for _, d := range dims {
		metric := d.Str("dimension_id")
		key := "accrued:" + metric
		accrued := accruedIn(res, metric, d.Str("included_quantity"), from, to, now)
		before := ratOr0(current[key])
		if accrued.Cmp(before) <= 0 {
			continue
		}
		if err := tx.SetUsage(ctx, res.ID, period, key, decimalString(accrued)); err != nil {
			return err
		}
		if res.Sandbox {
			continue
		}
		injected := ratOr0(current[metric])
		oldTotal := new(big.Rat).Add(injected, before)
		newTotal := new(big.Rat).Add(injected, accrued)
		floor := ratOr0(d.Str("included_quantity"))
		if oldTotal.Cmp(floor) > 0 {
			floor = oldTotal
		}
		if newTotal.Cmp(floor) <= 0 {
			continue
		}
		amount := new(big.Rat).Mul(new(big.Rat).Sub(newTotal, floor), ratOr0(d.Str("price_per_unit")))
		if Cents(amount) == "0.00" {
			continue
		}
		if err := tx.PostCharge(ctx, storage.Charge{ResourceID: res.ID, ProjectID: res.ProjectID, Provider: res.Provider, Kind: "metered",
			Amount: Cents(amount), Currency: tier.Get("price").Str("currency"), At: now, Metric: metric}); err != nil {
			return err
		}
	}
	return nil
}
