package osp

import (
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// servePromote is POST /osp/v1/promote/{resource_id} (spec/osp.md §12): a sandbox becomes a
// permanent resource; a paid tier is charged like a new provisioning, after payment and cap.
func (s *Engine) servePromote(w http.ResponseWriter, r *http.Request, p *ProviderState, mount, id string) {
	if strings.Contains(id, "/") {
		WriteError(w, NewError("not_found", "no OSP route at "+r.URL.Path))
		return
	}
	if !Allow(w, r, http.MethodPost) {
		return
	}
	res, ok := s.authorizedResource(w, r, p, id, "promote")
	if !ok {
		return
	}
	body, oerr := optionalBody(r)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	now := s.clock.Now()
	if !s.acceptNonce(w, r, p, body.Str("nonce"), now) {
		return
	}
	if !res.Sandbox || res.Status == "deprovisioned" {
		WriteError(w, &Error{Status: 409, Code: "conflict", Message: res.ID + " is not a live sandbox; only sandboxes can be promoted"})
		return
	}
	_, tier, ferr := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, now)
	if ferr != nil {
		WriteError(w, ferr)
		return
	}
	charge, err := chargeFor(tier, false)
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	if charge != nil {
		req := provisionRequest{PaymentMethod: body.Str("payment_method"), PaymentProof: body.Get("payment_proof")}
		if pc := body.Get("payment_context"); pc != nil {
			req.PaymentMethod = map[string]string{"sardis": "sardis_wallet", "stripe": "stripe_spt"}[pc.Str("method")]
			if req.PaymentMethod == "" {
				req.PaymentMethod = pc.Str("method")
			}
			req.PaymentProof = pc.Get("token")
		}
		if perr := paymentOutcome(p.Serving.Manifest.Doc.Root, tier, req); perr != nil {
			WriteError(w, perr)
			return
		}
	}
	var out map[string]any
	err = s.db.Update(r.Context(), func(tx *storage.Tx) error {
		cur, err := tx.Resource(r.Context(), p.Slug, id)
		if err != nil {
			return err
		}
		if !cur.Sandbox {
			return &Error{Status: 409, Code: "conflict", Message: id + " was promoted already"}
		}
		var verdict budgetVerdict
		if charge != nil {
			if err := s.ledger.checkCap(r.Context(), tx, p, mount, "promoting "+cur.ID+" ("+cur.TierID+")", charge.Amount, charge.Currency, now); err != nil {
				return err
			}
			if verdict, err = checkBudgets(r.Context(), tx, p.Slug, scopeOf(cur), charge.Amount, charge.Currency, truthy(body.Get("budget_override")), now); err != nil {
				return err
			}
			charge.ResourceID, charge.ProjectID, charge.Provider, charge.At = cur.ID, cur.ProjectID, p.Slug, now
			if err := tx.PostCharge(r.Context(), *charge); err != nil {
				return err
			}
			if err := s.ledger.afterCharge(r.Context(), tx, cur, verdict, now); err != nil {
				return err
			}
		}
		d := decodeData(cur)
		delete(d.Metadata, "osp_sandbox")
		d.PromotedAt = &now
		previous := cur.Status
		cur.Sandbox, cur.ExpiresAt, cur.UpdatedAt = false, nil, now
		if cur.Status == "suspended" {
			cur.Status = "provisioned"
		}
		cur.Data = encodeData(d)
		if err := tx.PutResource(r.Context(), cur); err != nil {
			return err
		}
		out = s.statusBody(mount, cur, now)
		return s.event(r.Context(), tx, cur, "resource.status_changed", w.Header().Get("X-Request-Id"), now,
			map[string]any{"status": cur.Status, "previous_status": previous, "change": "promoted"})
	})
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	kernel.WriteJSON(w, http.StatusOK, out)
}
