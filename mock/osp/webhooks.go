package osp

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// noWebhookKey marks a context whose events are all about a resource being made without a
// webhook: provisioning emits two or three events, and each would look the webhook up.
type noWebhookKey struct{}

func withoutWebhook(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWebhookKey{}, true)
}

func hasNoWebhook(ctx context.Context) bool {
	v, _ := ctx.Value(noWebhookKey{}).(bool)
	return v
}

// queueDeliveries queues an event for the resource's webhook, when it has one that wants it.
func (s *core) queueDeliveries(ctx context.Context, tx *storage.Tx, res storage.Resource, eventID, typ string, body []byte, now time.Time) error {
	if hasNoWebhook(ctx) {
		return nil
	}
	wh, err := tx.Webhook(ctx, res.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var events []string
	json.Unmarshal([]byte(wh.Events), &events)
	if len(events) > 0 && !slices.Contains(events, typ) {
		return nil
	}
	return tx.QueueDelivery(ctx, storage.Delivery{EventID: eventID, ResourceID: res.ID, URL: wh.URL, Body: body, NextAt: time.Now().UTC()})
}

// Deliver makes one attempt of an OSP webhook delivery (spec/osp.md §18.3–§18.4), signed with
// the resource's secret and the provider's key, and records it. The host's delivery loop calls
// it for every due delivery that is not BSP's; failures are recorded, not returned.
func (s *Engine) Deliver(ctx context.Context, d storage.Delivery) {
	cfg := *s.view().Config
	d.Attempts++
	var envelope map[string]any
	json.Unmarshal(d.Body, &envelope)
	envelope["delivery_attempt"] = d.Attempts
	raw, _ := json.Marshal(envelope)
	doc, _ := jsondoc.Parse(raw)
	if p := s.providerOfResource(ctx, d.ResourceID); p != nil {
		doc.Root.Set("provider_signature", jsondoc.NewString(manifests.B64(ed25519.Sign(p.Serving.key.Private, jsondoc.Canonical(doc.Root)))))
	}
	body := jsondoc.Compact(doc.Root)
	secret := s.webhookSecret(ctx, d.ResourceID)
	now := time.Now().UTC()
	status, errText := 0, ""
	if terr := kernel.WebhookTargetError(d.URL, cfg.Webhooks.AllowLoopback); terr != nil {
		errText = terr.Error()
	} else {
		status, errText = kernel.PostDelivery(ctx, d.URL, body, cfg.Webhooks.AllowLoopback, map[string]string{
			"Content-Type":           "application/json",
			"X-OSP-Timestamp":        strconv.FormatInt(now.Unix(), 10),
			"X-OSP-Signature":        kernel.SignWebhook(secret, now.Unix(), body),
			"X-OSP-Delivery-Attempt": strconv.Itoa(d.Attempts),
			"X-OSP-Version":          "1.0",
		})
	}
	kernel.RecordAttempt(ctx, s.db, s.log, d, status, errText, now)
}

func (s *Engine) providerOfResource(ctx context.Context, id string) *ProviderState {
	for _, p := range s.view().Providers {
		if p.Serving == nil {
			continue
		}
		if _, err := s.db.Resource(ctx, p.Slug, id); err == nil {
			return p
		}
	}
	return nil
}

func (s *Engine) webhookSecret(ctx context.Context, resourceID string) string {
	var secret string
	s.db.Update(ctx, func(tx *storage.Tx) error {
		wh, err := tx.Webhook(ctx, resourceID)
		secret = wh.Secret
		return err
	})
	return secret
}

// newWebhookSecret is whsec_ and 16 base62 characters (§18.3).
func newWebhookSecret() string { return "whsec_" + randomString(16) }

// serveWebhooks is POST and DELETE /osp/v1/webhooks/{resource_id} (spec/osp.md §18.5).
func (s *Engine) serveWebhooks(w http.ResponseWriter, r *http.Request, p *ProviderState, id string) {
	if !Allow(w, r, http.MethodPost, http.MethodDelete) {
		return
	}
	_, ok := s.authorizedResource(w, r, p, id, "webhooks")
	if !ok {
		return
	}
	if r.Method == http.MethodDelete {
		err := s.db.Update(r.Context(), func(tx *storage.Tx) error { return tx.DeleteWebhook(r.Context(), id) })
		if err != nil {
			WriteError(w, asError(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, oerr := optionalBody(r)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	target := body.Str("webhook_url")
	if terr := kernel.WebhookTargetError(target, s.view().Config.Webhooks.AllowLoopback); terr != nil {
		e := InvalidRequest("webhook_url is not allowed: " + terr.Error())
		e.Details = map[string]any{"field": "webhook_url", "reason": terr.Error()}
		WriteError(w, e)
		return
	}
	var events []string
	for _, e := range body.Get("events").List() {
		typ := e.Text
		if c, ok := eventSynonyms[typ]; ok {
			typ = c
		}
		events = append(events, typ)
	}
	ej, _ := json.Marshal(events)
	if events == nil {
		ej = []byte("[]")
	}
	now := s.clock.Now()
	var out map[string]any
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		old, err := tx.Webhook(r.Context(), id)
		first := errors.Is(err, storage.ErrNotFound)
		if err != nil && !first {
			return err
		}
		wh := storage.Webhook{ResourceID: id, ID: kernel.NewID("wh_", now), URL: target, Events: string(ej), Secret: old.Secret, CreatedAt: now}
		if first || truthy(body.Get("secret_rotation")) {
			wh.Secret = newWebhookSecret()
		} else {
			wh.ID, wh.CreatedAt = old.ID, old.CreatedAt
		}
		if err := tx.PutWebhook(r.Context(), wh); err != nil {
			return err
		}
		var list any = events
		if events == nil {
			list = []string{}
		}
		out = map[string]any{"webhook_id": wh.ID, "resource_id": id, "webhook_url": target, "events": list, "created_at": rfc3339(wh.CreatedAt)}
		if first || truthy(body.Get("secret_rotation")) {
			out["secret"] = wh.Secret
		}
		return nil
	})
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	kernel.WriteJSON(w, http.StatusOK, out)
}
