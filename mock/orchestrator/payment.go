package orchestrator

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Payment tokens (spec/orchestrator.md §4). Issuing one reserves its maximum against the
// provider's monthly cap and the user's cap across providers; the check and the reservation are
// one transaction on the namespace's single writer, so concurrent issues can never reserve past
// a cap. A redemption replaces the reservation with what was charged; an unredeemed token's
// reservation ends at its expiry. Amounts are whole cents in the caps' currency.

// Token lifetimes: 15 minutes unless asked, at most a day.
const (
	DefaultTokenLifetime = 15 * time.Minute
	MaxTokenLifetime     = 24 * time.Hour
)

// Money is an amount as the API writes it.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// IssueRequest is POST /orchestrator/v1/payment_tokens's body.
type IssueRequest struct {
	ProviderID       string `json:"provider_id"`
	MaxAmount        *Money `json:"max_amount"`
	ExpiresInSeconds int    `json:"expires_in_seconds"`
	ProjectID        string `json:"project_id"`
}

// RedeemRequest is POST /orchestrator/v1/payment_tokens/{id}/redeem's body.
type RedeemRequest struct {
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	ResourceID string `json:"resource_id"`
}

var (
	providerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$`)
	amountPattern     = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)
)

// cents reads an API amount: a non-negative decimal string with at most two decimals.
func cents(amount string) (int64, bool) {
	if !amountPattern.MatchString(amount) {
		return 0, false
	}
	n, err := storage.CentsOf(amount)
	return n, err == nil
}

var amountOf = storage.AmountOf

func capCents(m manifests.MoneyAmount) int64 {
	// The amounts are checked when ospbox.json loads; more than two decimals round down.
	whole, frac, _ := strings.Cut(m.Amount, ".")
	if len(frac) > 2 {
		frac = frac[:2]
	}
	c, _ := cents(strings.TrimSuffix(whole+"."+frac, "."))
	return c
}

// IssuePaymentToken issues a token, or refuses with 402 budget_exceeded when its maximum would
// take the provider's or the user's reservations past their cap this month.
func (e *Engine) IssuePaymentToken(ctx context.Context, req IssueRequest) (storage.PaymentToken, error) {
	cfg := e.config()
	currency := cfg.Caps.PerProvider.Currency
	switch {
	case !providerIDPattern.MatchString(req.ProviderID):
		return storage.PaymentToken{}, badRequest("provider_id is required: the provider the token pays (letters, digits, dot, dash, colon)")
	case req.MaxAmount == nil:
		return storage.PaymentToken{}, badRequest(`max_amount is required, e.g. {"amount": "25.00", "currency": "%s"}`, currency)
	case req.MaxAmount.Currency != currency:
		return storage.PaymentToken{}, badRequest("max_amount.currency must be %s, the currency of the orchestrator's caps", currency)
	case req.ExpiresInSeconds < 0 || time.Duration(req.ExpiresInSeconds)*time.Second > MaxTokenLifetime:
		return storage.PaymentToken{}, badRequest("expires_in_seconds must be between 1 and %d", int(MaxTokenLifetime/time.Second))
	}
	if req.ProjectID != "" {
		if _, err := e.db.Project(ctx, req.ProjectID); errors.Is(err, storage.ErrNotFound) {
			return storage.PaymentToken{}, badRequest("project_id %q names no project", req.ProjectID)
		} else if err != nil {
			return storage.PaymentToken{}, err
		}
	}
	maxCents, ok := cents(req.MaxAmount.Amount)
	if !ok || maxCents == 0 {
		return storage.PaymentToken{}, badRequest("max_amount.amount must be a positive decimal string with at most two decimals, e.g. \"25.00\"")
	}
	ttl := DefaultTokenLifetime
	if req.ExpiresInSeconds > 0 {
		ttl = time.Duration(req.ExpiresInSeconds) * time.Second
	}
	now := e.clock.Now()
	t := storage.PaymentToken{ID: kernel.NewID("spt_", now), ProviderID: req.ProviderID, ProjectID: req.ProjectID, Currency: currency,
		MaxCents: maxCents, Status: "issued", IssuedAt: now, ExpiresAt: now.Add(ttl)}
	err := e.update(ctx, now, func(tx *storage.Tx) error {
		for _, c := range []struct {
			scope, provider string
			cap             manifests.MoneyAmount
		}{{"provider", req.ProviderID, cfg.Caps.PerProvider}, {"user", "", cfg.Caps.User}} {
			held, err := tx.TokenReservation(ctx, c.provider, now)
			if err != nil {
				return err
			}
			if limit := capCents(c.cap); held.Total()+maxCents > limit {
				return budgetExceeded(c.scope, req.ProviderID, limit, held, maxCents, currency)
			}
		}
		return tx.InsertPaymentToken(ctx, t)
	})
	return t, err
}

func budgetExceeded(scope, provider string, limit int64, held storage.Reservation, want int64, currency string) *Error {
	what := "the user's cap across providers"
	if scope == "provider" {
		what = "the cap for " + provider
	}
	return &Error{Status: http.StatusPaymentRequired, Code: "budget_exceeded",
		Message: fmt.Sprintf("a token for %s %s would pass %s (%s %s; %s %s reserved or spent this month)",
			amountOf(want), currency, what, amountOf(limit), currency, amountOf(held.Total()), currency),
		Details: map[string]any{"scope": scope, "provider_id": provider, "cap": Money{amountOf(limit), currency},
			"reserved": Money{amountOf(held.OutstandingCents), currency}, "redeemed": Money{amountOf(held.RedeemedCents), currency},
			"requested": Money{amountOf(want), currency}}}
}

// update runs fn in a write transaction after releasing the tokens expired by now, so what fn
// reads of reservations is current.
func (e *Engine) update(ctx context.Context, now time.Time, fn func(*storage.Tx) error) error {
	return e.db.Update(ctx, func(tx *storage.Tx) error {
		if _, err := tx.ReleaseExpiredTokens(ctx, now); err != nil {
			return err
		}
		return fn(tx)
	})
}

// month is the calendar month (UTC) holding t: the caps' period.
func month(t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// ErrWrongProvider and the other redemption refusals are *Error values with these codes.
const (
	CodeAlreadyRedeemed = "payment_token_redeemed"
	CodeExpired         = "payment_token_expired"
	CodeOverMax         = "amount_exceeds_token"
	CodeWrongProvider   = "payment_token_not_yours"
)

// RedeemPaymentToken settles token id for provider at the amount charged: 404 for no such
// token, 403 when it was issued to another provider, 409 when it was already redeemed (or
// released), 402 after its expiry or above its maximum.
func (e *Engine) RedeemPaymentToken(ctx context.Context, id, provider string, req RedeemRequest) (storage.PaymentToken, error) {
	charged, ok := cents(req.Amount)
	if !ok {
		return storage.PaymentToken{}, badRequest("amount must be a decimal string with at most two decimals, e.g. \"25.00\"")
	}
	var t storage.PaymentToken
	err := e.db.Update(ctx, func(tx *storage.Tx) error {
		var err error
		t, err = e.redeemIn(ctx, tx, id, provider, req, charged)
		return err
	})
	return t, err
}

// RedeemInTx is kernel.Payments: a workspace provider redeeming a token while it provisions,
// inside its transaction. Refusals come back as *kernel.Refusal.
func (e *Engine) RedeemInTx(ctx context.Context, tx *storage.Tx, token, provider, amount, currency, resourceID string) error {
	charged, ok := cents(amount)
	if !ok {
		return &kernel.Refusal{Status: http.StatusPaymentRequired, Code: "payment_failed", Message: "the tier's price " + amount + " cannot be charged to a payment token"}
	}
	_, err := e.redeemIn(ctx, tx, token, provider, RedeemRequest{Amount: amount, Currency: currency, ResourceID: resourceID}, charged)
	var oe *Error
	if errors.As(err, &oe) {
		return &kernel.Refusal{Status: oe.Status, Code: oe.Code, Message: oe.Message}
	}
	return err
}

// redeemIn is a redemption inside tx.
func (e *Engine) redeemIn(ctx context.Context, tx *storage.Tx, id, provider string, req RedeemRequest, charged int64) (storage.PaymentToken, error) {
	now := e.clock.Now()
	var t storage.PaymentToken
	err := func() error {
		if _, err := tx.ReleaseExpiredTokens(ctx, now); err != nil {
			return err
		}
		var err error
		if t, err = tx.PaymentToken(ctx, id); errors.Is(err, storage.ErrNotFound) {
			return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no payment token " + id}
		} else if err != nil {
			return err
		}
		money := func(c int64) Money { return Money{amountOf(c), t.Currency} }
		switch {
		case t.ProviderID != provider:
			return &Error{Status: http.StatusForbidden, Code: CodeWrongProvider, Message: "payment token " + id + " was issued to another provider"}
		case t.Status == "redeemed":
			return &Error{Status: http.StatusConflict, Code: CodeAlreadyRedeemed, Message: "payment token " + id + " was already redeemed",
				Details: map[string]any{"redeemed": money(t.RedeemedCents), "resource_id": t.ResourceID}}
		case t.Status == "released":
			return &Error{Status: http.StatusPaymentRequired, Code: CodeExpired, Message: "payment token " + id + " expired at " + t.ExpiresAt.UTC().Format(time.RFC3339) + "; its reservation was released"}
		case req.Currency != t.Currency:
			return badRequest("currency must be %s, the token's", t.Currency)
		case charged > t.MaxCents:
			return &Error{Status: http.StatusPaymentRequired, Code: CodeOverMax, Message: fmt.Sprintf("%s %s is more than the token's maximum", req.Amount, req.Currency),
				Details: map[string]any{"max_amount": money(t.MaxCents)}}
		}
		if err := tx.RedeemPaymentToken(ctx, t, charged, req.ResourceID, now); err != nil {
			return err
		}
		t.Status, t.RedeemedCents, t.ResourceID, t.SettledAt = "redeemed", charged, req.ResourceID, &now
		return nil
	}()
	return t, err
}

// tokenJSON is a token as the API answers it.
func tokenJSON(t storage.PaymentToken) map[string]any {
	out := map[string]any{"id": t.ID, "provider_id": t.ProviderID, "max_amount": Money{amountOf(t.MaxCents), t.Currency},
		"status": t.Status, "issued_at": t.IssuedAt.UTC().Format(time.RFC3339), "expires_at": t.ExpiresAt.UTC().Format(time.RFC3339)}
	if t.ProjectID != "" {
		out["project_id"] = t.ProjectID
	}
	if t.Status == "redeemed" {
		out["redeemed"] = Money{amountOf(t.RedeemedCents), t.Currency}
		out["resource_id"] = t.ResourceID
	}
	if t.SettledAt != nil {
		out["settled_at"] = t.SettledAt.UTC().Format(time.RFC3339)
	}
	return out
}

func (e *Engine) servePaymentTokens(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodGet {
		if err := e.update(r.Context(), e.clock.Now(), func(*storage.Tx) error { return nil }); err != nil {
			writeError(w, err)
			return
		}
		list, err := e.db.PaymentTokens(r.Context(), r.URL.Query().Get("provider_id"), 500)
		if err != nil {
			writeError(w, err)
			return
		}
		items := make([]map[string]any, 0, len(list))
		for _, t := range list {
			items = append(items, tokenJSON(t))
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"payment_tokens": items})
		return
	}
	var req IssueRequest
	if err := decodeStrict(r, &req); err != nil {
		writeError(w, err)
		return
	}
	t, err := e.IssuePaymentToken(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	kernel.WriteJSON(w, http.StatusCreated, tokenJSON(t))
}

// servePaymentToken answers /orchestrator/v1/payment_tokens/{id} and …/{id}/redeem.
func (e *Engine) servePaymentToken(w http.ResponseWriter, r *http.Request, rest string) {
	id, op, _ := strings.Cut(rest, "/")
	switch op {
	case "":
		if !allow(w, r, http.MethodGet) {
			return
		}
		var t storage.PaymentToken
		err := e.update(r.Context(), e.clock.Now(), func(tx *storage.Tx) error {
			var err error
			t, err = tx.PaymentToken(r.Context(), id)
			return err
		})
		if errors.Is(err, storage.ErrNotFound) {
			err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no payment token " + id}
		}
		if err != nil {
			writeError(w, err)
			return
		}
		kernel.WriteJSON(w, http.StatusOK, tokenJSON(t))
	case "redeem":
		if !allow(w, r, http.MethodPost) {
			return
		}
		provider, err := e.redeemingProvider(r)
		if err != nil {
			writeError(w, err)
			return
		}
		var req RedeemRequest
		if err := decodeStrict(r, &req); err != nil {
			writeError(w, err)
			return
		}
		t, err := e.RedeemPaymentToken(r.Context(), id, provider, req)
		if err != nil {
			writeError(w, err)
			return
		}
		body := tokenJSON(t)
		body["released"] = Money{amountOf(t.MaxCents - t.RedeemedCents), t.Currency}
		kernel.WriteJSON(w, http.StatusOK, body)
	default:
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no orchestrator API at " + r.URL.Path})
	}
}

// redeemingProvider is the provider a redemption authenticates as: the X-Provider-Id header
// and its redemption key as the bearer token.
func (e *Engine) redeemingProvider(r *http.Request) (string, error) {
	provider := r.Header.Get("X-Provider-Id")
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	unauthorized := &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "redeeming needs the provider's credential: X-Provider-Id and Authorization: Bearer <its redemption key>"}
	if provider == "" || key == "" {
		return "", unauthorized
	}
	want, err := e.RedemptionKey(provider)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
		return "", unauthorized
	}
	return provider, nil
}

func (e *Engine) serveRedemptionKey(w http.ResponseWriter, r *http.Request, provider string) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	if !providerIDPattern.MatchString(provider) {
		writeError(w, badRequest("%q is not a provider id", provider))
		return
	}
	key, err := e.RedemptionKey(provider)
	if err != nil {
		writeError(w, err)
		return
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"provider_id": provider, "redemption_key": key,
		"use": "POST /orchestrator/v1/payment_tokens/{id}/redeem with X-Provider-Id: " + provider + " and Authorization: Bearer <redemption_key>"})
}

// CapSpend is one cap's standing this month.
type CapSpend struct {
	ProviderID string `json:"provider_id,omitempty"`
	Cap        Money  `json:"cap"`
	Reserved   Money  `json:"reserved"`
	Redeemed   Money  `json:"redeemed"`
	Remaining  Money  `json:"remaining"`
}

// Spend is the month's reservations against the user's cap and each provider's that has tokens.
func (e *Engine) Spend(ctx context.Context) (user CapSpend, providers []CapSpend, err error) {
	cfg := e.config()
	now := e.clock.Now()
	standing := func(tx *storage.Tx, provider string, cap manifests.MoneyAmount) (CapSpend, error) {
		held, err := tx.TokenReservation(ctx, provider, now)
		cur, limit := cap.Currency, capCents(cap)
		return CapSpend{ProviderID: provider, Cap: Money{amountOf(limit), cur}, Reserved: Money{amountOf(held.OutstandingCents), cur},
			Redeemed: Money{amountOf(held.RedeemedCents), cur}, Remaining: Money{amountOf(max(limit-held.Total(), 0)), cur}}, err
	}
	err = e.update(ctx, now, func(tx *storage.Tx) error {
		var err error
		if user, err = standing(tx, "", cfg.Caps.User); err != nil {
			return err
		}
		ids, err := tx.TokenProviders(ctx, now)
		for _, id := range ids {
			s, err := standing(tx, id, cfg.Caps.PerProvider)
			if err != nil {
				return err
			}
			providers = append(providers, s)
		}
		return err
	})
	return user, providers, err
}

func (e *Engine) serveSpend(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	user, providers, err := e.Spend(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	from, to := month(e.clock.Now())
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"period_start": from.Format(time.RFC3339), "period_end": to.Format(time.RFC3339),
		"user": user, "providers": append([]CapSpend{}, providers...)})
}
