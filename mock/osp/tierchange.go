package osp

import (
	"math/big"
	"net/http"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// tierChange is one request to move a resource to another tier (spec/osp.md §11).
type tierChange struct {
	TierID, PreviousTierID, Proration string
	Payment                           provisionRequest
	Nonce                             string
	BForm                             bool
	Override                          bool
}

// monthlyPrice is P(t) of §11: the tier's monthly-equivalent price (0 for one-time prices).
func monthlyPrice(tier *jsondoc.Node) *big.Rat {
	price := tier.Get("price")
	eq, recurring, err := MonthlyEquivalent(price.Str("amount"), price.Str("interval"))
	if err != nil || !recurring {
		return new(big.Rat)
	}
	v, _ := ParseAmount(eq)
	return v
}

// remainingFraction is f of §11: the share of the calendar month still ahead, six decimals.
func remainingFraction(now time.Time) (*big.Rat, time.Time, time.Time) {
	start, end := monthBounds(now)
	f := new(big.Rat).SetFrac64(int64(end.Sub(now)/time.Second), int64(end.Sub(start)/time.Second))
	rounded, _ := new(big.Rat).SetString(f.FloatString(6))
	return rounded, start, end
}

// serveTierChange is POST /osp/v1/resources/{id}/upgrade and the B form of provisioning.
func (s *Engine) serveTierChange(w http.ResponseWriter, r *http.Request, p *ProviderState, mount string, res storage.Resource, tc tierChange) {
	now := s.clock.Now()
	if !s.acceptNonce(w, r, p, tc.Nonce, now) {
		return
	}
	if tc.Proration == "" {
		tc.Proration = "immediate"
	}
	if tc.Proration != "immediate" && tc.Proration != "next_period" && tc.Proration != "none" {
		WriteError(w, InvalidRequest("proration is immediate, next_period or none", map[string]any{"pointer": "/proration", "message": "unknown mode"}))
		return
	}
	switch {
	case res.Sandbox:
		WriteError(w, InvalidRequest(res.ID+" is a sandbox: promote the sandbox first, then change its tier"))
		return
	case res.Status != "provisioned":
		WriteError(w, &Error{Status: 409, Code: "conflict", Message: res.ID + " is " + res.Status + "; only provisioned resources change tier"})
		return
	case tc.BForm && tc.PreviousTierID != res.TierID:
		WriteError(w, &Error{Status: 400, Code: "tier_change_not_allowed", Message: "previous_tier_id is " + tc.PreviousTierID + " but the resource is on " + res.TierID})
		return
	case tc.TierID == res.TierID:
		WriteError(w, &Error{Status: 400, Code: "tier_change_not_allowed", Message: res.ID + " is already on " + res.TierID})
		return
	}
	m := p.Serving.Manifest
	offering, oldTier, ferr := findOffering(m, res.OfferingID, res.TierID, time.Time{})
	if ferr != nil {
		WriteError(w, ferr)
		return
	}
	_, newTier, ferr := findOffering(m, res.OfferingID, tc.TierID, time.Time{})
	if ferr != nil {
		WriteError(w, ferr)
		return
	}
	if need := trustRequirement(m.Doc.Root, offering, newTier); need > 0 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
		WriteError(w, &Error{Status: 401, Code: "unauthorized", Message: "tier " + tc.TierID + " requires an authenticated agent; ospbox does not verify agent identities yet"})
		return
	}
	if a, err := ParseAmount(newTier.Get("price").Str("amount")); err == nil && a.Sign() > 0 {
		if perr := paymentOutcome(m.Doc.Root, newTier, tc.Payment); perr != nil {
			WriteError(w, perr)
			return
		}
	}
	currency := newTier.Get("price").Str("currency")
	pOld, pNew := monthlyPrice(oldTier), monthlyPrice(newTier)
	f, start, end := remainingFraction(now)
	var amount *big.Rat
	kind := "proration"
	effective := now
	switch tc.Proration {
	case "immediate":
		amount = new(big.Rat).Mul(new(big.Rat).Sub(pNew, pOld), f)
	case "none":
		amount, kind = new(big.Rat).Set(pNew), "base"
	case "next_period":
		amount, effective = new(big.Rat), end
	}
	if newTier.Get("price").Str("interval") == "" {
		if a, err := ParseAmount(newTier.Get("price").Str("amount")); err == nil && a.Sign() > 0 && tc.Proration != "next_period" {
			amount, kind = a, "one_time"
		}
	}
	amountStr := Cents(amount)
	var out map[string]any
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		cur, err := tx.Resource(r.Context(), p.Slug, res.ID)
		if err != nil {
			return err
		}
		if cur.TierID != res.TierID || cur.Status != "provisioned" {
			return &Error{Status: 409, Code: "conflict", Message: res.ID + " changed meanwhile; read its status and retry"}
		}
		var verdict budgetVerdict
		if amount.Sign() > 0 {
			if err := s.ledger.checkCap(r.Context(), tx, p, mount, "changing "+res.ID+" to "+tc.TierID, amountStr, currency, now); err != nil {
				return err
			}
			if verdict, err = checkBudgets(r.Context(), tx, p.Slug, scopeOf(cur), amountStr, currency, tc.Override, now); err != nil {
				return err
			}
		}
		if amount.Sign() != 0 {
			if err := tx.PostCharge(r.Context(), storage.Charge{ResourceID: cur.ID, ProjectID: cur.ProjectID, Provider: p.Slug, Kind: kind, Amount: amountStr, Currency: currency, At: now}); err != nil {
				return err
			}
			if err := s.ledger.afterCharge(r.Context(), tx, cur, verdict, now); err != nil {
				return err
			}
		}
		d := decodeData(cur)
		if tc.Proration == "next_period" {
			d.PendingTierID = tc.TierID
			cur.ReadyAt = &effective
		} else {
			cur.TierID = tc.TierID
			d.PendingTierID = ""
		}
		cur.Data, cur.UpdatedAt = encodeData(d), now
		if err := tx.PutResource(r.Context(), cur); err != nil {
			return err
		}
		out = map[string]any{
			"resource_id": cur.ID, "offering_id": cur.OfferingID, "previous_tier_id": res.TierID, "tier_id": tc.TierID,
			"status": cur.Status, "effective_at": rfc3339(effective), "request_id": w.Header().Get("X-Request-Id"),
			"proration": map[string]any{"mode": tc.Proration, "period_start": rfc3339(start), "period_end": rfc3339(end),
				"remaining_fraction": f.FloatString(6), "previous_monthly_price": Cents(pOld), "new_monthly_price": Cents(pNew),
				"amount": amountStr, "currency": currency},
		}
		if tc.BForm {
			out["created_at"] = rfc3339(cur.CreatedAt)
			cred, err := tx.LatestCredential(r.Context(), cur.ID)
			if err != nil {
				return err
			}
			agent, _ := agentKeyOf(d.AgentPublicKey)
			bundle, _, err := s.bundleFor(cur, cred, agent, p.Serving.key)
			if err != nil {
				return err
			}
			out["credentials_bundle"] = bundle
		}
		if tc.Proration == "next_period" {
			return nil
		}
		return s.event(r.Context(), tx, cur, "resource.tier_changed", w.Header().Get("X-Request-Id"), now,
			map[string]any{"previous_tier_id": res.TierID, "tier_id": tc.TierID, "proration": out["proration"]})
	})
	switch {
	case err != nil:
		WriteError(w, asError(err))
	case tc.BForm:
		kernel.WriteJSON(w, http.StatusCreated, out)
	default:
		kernel.WriteJSON(w, http.StatusOK, out)
	}
}

// tierChangeFrom reads the members of an upgrade body (or of the B form's provision body).
func tierChangeFrom(b *jsondoc.Node, r *http.Request) (tierChange, *Error) {
	tc := tierChange{TierID: b.Str("tier_id"), Proration: b.Str("proration"), Nonce: b.Str("nonce"), Override: truthy(b.Get("budget_override"))}
	if x := b.Get("tier_change"); x != nil {
		tc.BForm, tc.PreviousTierID = true, x.Str("previous_tier_id")
		if p := x.Str("proration"); p != "" {
			tc.Proration = p
		}
	}
	if tc.TierID == "" {
		return tc, InvalidRequest("tier_id names the target tier", map[string]any{"pointer": "/tier_id", "message": "required"})
	}
	doc := &jsondoc.Document{Root: b}
	req, oerr := decodeProvision(r, doc)
	if oerr != nil {
		return tc, oerr
	}
	tc.Payment = req
	return tc, nil
}
