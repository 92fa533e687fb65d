package osp

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// dimension is how a metric is priced: from the tier's metered_dimensions, else unit "unit",
// price 0, nothing included (spec/osp.md §13.2).
type dimension struct {
	unit, price, included string
}

func dimensionsOf(tier *jsondoc.Node) map[string]dimension {
	out := map[string]dimension{}
	for _, d := range tier.Get("price").Get("metered_dimensions").List() {
		out[d.Str("dimension_id")] = dimension{unit: d.Str("unit"), price: d.Str("price_per_unit"), included: d.Str("included_quantity")}
	}
	return out
}

func (d dimension) orDefault() dimension {
	if d.unit == "" {
		d.unit = "unit"
	}
	if d.price == "" {
		d.price = "0"
	}
	return d
}

func ratOr0(s string) *big.Rat {
	if v, err := ParseAmount(s); err == nil {
		return v
	}
	return new(big.Rat)
}

// decimalString writes a quantity without trailing zeros ("0.23", "1200").
func decimalString(r *big.Rat) string {
	s := r.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ServeUsageInjection is POST /ospbox/v1/resources/{id}/usage (spec/osp.md §13.2): record usage,
// post metered charges for newly exceeded quantities, announce 80 % and 100 % of limits. The
// host's control API routes here; failures are answered in OSP's envelope.
func (s *Engine) ServeUsageInjection(w http.ResponseWriter, r *http.Request, id string) {
	if !Allow(w, r, http.MethodPost) || RefuseBrowser(w, r) {
		return
	}
	var body struct {
		Metrics map[string]json.Number `json:"metrics"`
		Mode    string                 `json:"mode"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || len(body.Metrics) == 0 || (body.Mode != "" && body.Mode != "add" && body.Mode != "set") {
		WriteError(w, InvalidRequest(`the body is {"metrics": {"<metric>": <number ≥ 0>}, "mode": "add" | "set"}`))
		return
	}
	quantities := map[string]*big.Rat{}
	for k, v := range body.Metrics {
		q, ok := new(big.Rat).SetString(v.String())
		if !ok || q.Sign() < 0 || k == "" {
			WriteError(w, InvalidRequest("metric "+k+" must be a number of at least 0", map[string]any{"pointer": "/metrics/" + jsondoc.PointerToken(k), "message": "not a non-negative number"}))
			return
		}
		quantities[k] = q
	}
	snap := s.view()
	now := s.clock.Now()
	period := now.UTC().Format("2006-01")
	var out map[string]string
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		res, err := tx.ResourceByID(r.Context(), id)
		if err != nil {
			return err
		}
		if res.Status == "deprovisioned" {
			return &Error{Status: 409, Code: "conflict", Message: id + " is deprovisioned; it records no usage"}
		}
		p := snap.Provider(res.Provider)
		if p == nil || p.Serving == nil {
			return &Error{Status: 409, Code: "conflict", Message: "the resource's provider has no valid manifest"}
		}
		_, tier, ferr := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
		if ferr != nil {
			return ferr
		}
		current, err := tx.Usage(r.Context(), id, period)
		if err != nil {
			return err
		}
		dims := dimensionsOf(tier)
		names := make([]string, 0, len(quantities))
		for k := range quantities {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, metric := range names {
			old := ratOr0(current[metric])
			injected := new(big.Rat).Set(quantities[metric])
			if body.Mode != "set" {
				injected.Add(injected, old)
			}
			if err := tx.SetUsage(r.Context(), id, period, metric, decimalString(injected)); err != nil {
				return err
			}
			current[metric] = decimalString(injected)
			// Totals include what accrued by itself this period.
			accrued := ratOr0(current["accrued:"+metric])
			oldTotal := new(big.Rat).Add(old, accrued)
			next := new(big.Rat).Add(injected, accrued)
			d := dims[metric].orDefault()
			// A metered charge for the quantity newly above what is included (never for sandboxes).
			included := ratOr0(d.included)
			price := ratOr0(d.price)
			floor := oldTotal
			if included.Cmp(floor) > 0 {
				floor = included
			}
			if !res.Sandbox && price.Sign() > 0 && next.Cmp(floor) > 0 {
				amount := new(big.Rat).Mul(new(big.Rat).Sub(next, floor), price)
				if Cents(amount) != "0.00" {
					if err := tx.PostCharge(r.Context(), storage.Charge{ResourceID: id, ProjectID: res.ProjectID, Provider: res.Provider, Kind: "metered",
						Amount: Cents(amount), Currency: tier.Get("price").Str("currency"), At: now, Metric: metric}); err != nil {
						return err
					}
				}
			}
			if limit := tier.Get("limits").Get(metric); limit != nil && limit.Kind == jsondoc.Number {
				lim := ratOr0(limit.Text)
				for _, pct := range []int64{80, 100} {
					edge := new(big.Rat).Mul(lim, big.NewRat(pct, 100))
					if lim.Sign() > 0 && next.Cmp(edge) >= 0 {
						fresh, err := tx.MarkThreshold(r.Context(), id, period, metric, int(pct))
						if err != nil {
							return err
						}
						if fresh {
							if err := s.event(r.Context(), tx, res, "usage.threshold_reached", "", now, map[string]any{"usage_threshold": map[string]any{
								"dimension": metric, "threshold_percent": pct, "current_usage": decimalString(next), "limit": limit.Text, "unit": d.unit}}); err != nil {
								return err
							}
						}
					}
				}
			}
		}
		out = combinedUsage(current)
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: "no resource " + id})
	case err != nil:
		WriteError(w, asError(err))
	default:
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"resource_id": id, "period": period, "metrics": numbers(out)})
	}
}

// numbers renders stored quantities as JSON numbers.
func numbers(m map[string]string) map[string]json.Number {
	out := map[string]json.Number{}
	for k, v := range m {
		out[k] = json.Number(v)
	}
	return out
}

// activeHours is how long in [from, to) the resource existed and was not deprovisioned.
func activeHours(res storage.Resource, from, to, now time.Time) *big.Rat {
	start, end := res.CreatedAt, to
	if from.After(start) {
		start = from
	}
	if now.Before(end) {
		end = now
	}
	if res.DeprovisionedAt != nil && res.DeprovisionedAt.Before(end) {
		end = *res.DeprovisionedAt
	}
	if !end.After(start) {
		return new(big.Rat)
	}
	return new(big.Rat).SetFrac64(int64(end.Sub(start)/time.Second), 3600)
}

// serveUsage is GET /osp/v1/resources/{id}/usage (spec/osp.md §13.1).
func (s *Engine) serveUsage(w http.ResponseWriter, r *http.Request, p *ProviderState, res storage.Resource) {
	now := s.clock.Now()
	from, to, perr := periodOf(r, now)
	if perr != nil {
		WriteError(w, perr)
		return
	}
	period := from.Format("2006-01")
	stored, err := s.db.Usage(r.Context(), res.ID, period)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	metrics := combinedUsage(stored)
	_, tier, ferr := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
	if ferr != nil {
		WriteError(w, ferr)
		return
	}
	currency := tier.Get("price").Str("currency")
	dims := dimensionsOf(tier)
	charges, err := s.db.ResourceCharges(r.Context(), res.ID, from, to)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	total, overage := new(big.Rat), new(big.Rat)
	for _, c := range charges {
		a := ratOr0(c.Amount)
		total.Add(total, a)
		if c.Kind == "metered" {
			overage.Add(overage, a)
		}
	}
	hours := activeHours(res, from, to, now)
	dimensions := []map[string]any{{
		"dimension": "active_hours", "quantity": hours.FloatString(2), "unit": "hours", "included_quantity": "0",
		"overage_quantity": "0", "unit_price": "0", "cost": map[string]string{"amount": "0.00", "currency": currency},
	}}
	names := make([]string, 0, len(metrics))
	for k := range metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, metric := range names {
		d := dims[metric].orDefault()
		qty := ratOr0(metrics[metric])
		over := new(big.Rat).Sub(qty, ratOr0(d.included))
		if over.Sign() < 0 || res.Sandbox {
			over.SetInt64(0)
		}
		cost := new(big.Rat).Mul(over, ratOr0(d.price))
		dimensions = append(dimensions, map[string]any{
			"dimension": metric, "quantity": decimalString(qty), "unit": d.unit, "included_quantity": decimalString(ratOr0(d.included)),
			"overage_quantity": decimalString(over), "unit_price": d.price, "cost": map[string]string{"amount": Cents(cost), "currency": currency},
		})
	}
	var limits any = map[string]any{}
	if l := tier.Get("limits"); l != nil {
		limits = json.RawMessage(jsondoc.Compact(l))
	}
	body := map[string]any{
		"resource_id": res.ID, "period_start": rfc3339(from), "period_end": rfc3339(to),
		"metrics": numbers(metrics), "limits": limits,
		"report_id": kernel.NewID("rpt_", now), "offering_id": res.OfferingID, "tier_id": res.TierID, "generated_at": rfc3339(now),
		"dimensions":   dimensions,
		"total_cost":   map[string]string{"amount": Cents(total), "currency": currency},
		"overage_cost": map[string]string{"amount": Cents(overage), "currency": currency},
	}
	raw, _ := json.Marshal(body)
	doc, err := jsondoc.Parse(raw)
	if err == nil {
		body["provider_signature"] = manifests.B64(ed25519.Sign(p.Serving.key.Private, jsondoc.Canonical(doc.Root)))
	}
	kernel.WriteJSON(w, http.StatusOK, body)
}

// combinedUsage adds accrued quantities ("accrued:<metric>") to injected ones: what a metric
// totals for the period.
func combinedUsage(stored map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range stored {
		metric, accrued := strings.CutPrefix(k, "accrued:")
		if !accrued {
			metric = k
		}
		sum := new(big.Rat).Add(ratOr0(out[metric]), ratOr0(v))
		out[metric] = decimalString(sum)
	}
	return out
}
