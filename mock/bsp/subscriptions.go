package bsp

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// BSP deliveries share the deliveries table with OSP's; their resource_id names the target:
// bsp:<subscription id>, or bsp:agent:<scope>/<service>/<descriptor id> for a descriptor's own
// webhook.
const DeliveryPrefix = "bsp:"

// postBSPSubscription is POST /subscriptions (spec/bsp.md §10.1).
func (s *Engine) postBSPSubscription(w http.ResponseWriter, r *http.Request, c *bspCall) {
	doc, ok := decodeBSPBody(w, r, c.cfg.BSP.BodyLimit())
	if !ok {
		return
	}
	body := doc.Root
	var errs []bspFieldError
	bad := func(ptr, msg string) { errs = append(errs, bspFieldError{ptr, msg}) }
	var types []string
	if body.Kind != jsondoc.Object {
		bad("", "the body is {webhook: {url, secret}, serviceId, filter: {types}}")
	}
	for _, m := range body.Fields() {
		ptr := "/" + jsondoc.PointerToken(m.Name)
		switch m.Name {
		case "serviceId":
			if m.Value.Kind != jsondoc.String || m.Value.Text == "" {
				bad(ptr, "serviceId is a non-empty string")
			}
		case "webhook":
			if m.Value.Kind != jsondoc.Object {
				bad(ptr, "webhook is {url, secret}")
				continue
			}
			for _, wm := range m.Value.Members {
				if (wm.Name != "url" && wm.Name != "secret") || wm.Value.Kind != jsondoc.String {
					bad(ptr+"/"+jsondoc.PointerToken(wm.Name), "webhook holds the strings url and secret only")
				}
			}
		case "filter":
			if m.Value.Kind != jsondoc.Object {
				bad(ptr, "filter is {types: [...]}")
				continue
			}
			for _, fm := range m.Value.Members {
				if fm.Name != "types" || fm.Value.Kind != jsondoc.Array {
					bad(ptr+"/"+jsondoc.PointerToken(fm.Name), "filter holds types, an array of PascalCase event types")
					continue
				}
				for i, t := range fm.Value.Items {
					if t.Kind != jsondoc.String || !bspTypePattern.MatchString(t.Text) {
						bad(ptr+"/types/"+strconv.Itoa(i), "event types are PascalCase, e.g. OrderPlaced")
						continue
					}
					if !slices.Contains(types, t.Text) {
						types = append(types, t.Text)
					}
				}
			}
		default:
			bad(ptr, "member "+strconv.Quote(m.Name)+" is not part of a subscription")
		}
	}
	target := body.Get("webhook").Str("url")
	if body.Kind == jsondoc.Object && target == "" {
		bad("/webhook/url", "webhook.url is required")
	}
	serviceID := body.Str("serviceId")
	if len(errs) == 0 && c.gen == "0.6" && serviceID != "" {
		descs, err := s.bspDescriptors(r.Context(), nil, c.surface, c.scope, c.service)
		if bspFailed(w, err) {
			return
		}
		if !slices.ContainsFunc(descs, func(d bspDescriptor) bool { return d.ID == serviceID }) {
			bad("/serviceId", "serviceId names no declared or registered service")
		}
	}
	if len(errs) > 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_REQUEST", "the subscription is not valid: "+errs[0].Message, map[string]any{"errors": errs})
		return
	}
	if terr := kernel.WebhookTargetError(target, c.cfg.Webhooks.AllowLoopback); terr != nil {
		WriteError(w, http.StatusBadRequest, "WEBHOOK_URL_REJECTED", "webhook.url is not allowed: "+terr.Error(), map[string]any{"reason": terr.Error()})
		return
	}
	slices.Sort(types)
	typesJSON, _ := json.Marshal(types)
	if types == nil {
		typesJSON = []byte("[]")
	}
	sub := storage.BSPSubscription{ID: kernel.NewID("sub_", s.clock.Now()), Scope: c.scope, Service: c.service, Principal: c.principal,
		ServiceID: serviceID, URL: target, Secret: body.Get("webhook").Str("secret"), Types: string(typesJSON), CreatedAt: s.clock.Now()}
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		subs, err := tx.BSPSubscriptions(r.Context(), c.scope, c.service)
		if err != nil {
			return err
		}
		for _, o := range subs {
			if o.Principal == sub.Principal && o.URL == sub.URL && o.ServiceID == sub.ServiceID && o.Types == sub.Types {
				return &bspFailure{http.StatusConflict, "DUPLICATE_SUBSCRIPTION", "this credential already has subscription " + o.ID + " for the same url, serviceId and types", map[string]any{"id": o.ID}}
			}
		}
		return tx.PutBSPSubscription(r.Context(), sub)
	})
	if bspFailed(w, err) {
		return
	}
	out := map[string]any{"id": sub.ID, "webhook": map[string]any{"url": sub.URL}}
	if serviceID != "" {
		out["serviceId"] = serviceID
	}
	if body.Has("filter") {
		list := types
		if list == nil {
			list = []string{}
		}
		out["filter"] = map[string]any{"types": list}
	}
	w.Header().Set("Location", c.base+"/subscriptions/"+sub.ID)
	kernel.WriteJSON(w, http.StatusCreated, out)
}

// deleteBSPSubscription is DELETE /subscriptions/{id}: only its creator may delete it.
func (s *Engine) deleteBSPSubscription(w http.ResponseWriter, r *http.Request, c *bspCall, id string) {
	sub, err := s.db.BSPSubscription(r.Context(), id)
	if err != nil || sub.Scope != c.scope || sub.Service != c.service || sub.Principal != c.principal {
		WriteError(w, http.StatusNotFound, "SUBSCRIPTION_NOT_FOUND", "no subscription "+id+" of this credential", nil)
		return
	}
	err = s.db.Update(r.Context(), func(tx *storage.Tx) error {
		_, err := tx.DeleteBSPSubscriptions(r.Context(), c.scope, c.service, id, false)
		return err
	})
	if bspFailed(w, err) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// bspTarget is where a service's events are delivered: a subscription, or a descriptor's own
// webhook.
type bspTarget struct {
	key   string // the deliveries' resource_id
	url   string
	types []string // nil: every type
}

func (t bspTarget) wants(typ string) bool { return t.types == nil || slices.Contains(t.types, typ) }

// bspTargets lists a service's subscriptions and the descriptors with a webhook (for their
// produces types).
func (s *Engine) bspTargets(ctx context.Context, tx *storage.Tx, loc bspLoc) ([]bspTarget, error) {
	subs, err := tx.BSPSubscriptions(ctx, loc.scope, loc.service)
	if err != nil {
		return nil, err
	}
	var out []bspTarget
	for _, sub := range subs {
		var types []string
		json.Unmarshal([]byte(sub.Types), &types)
		if len(types) == 0 {
			types = nil
		}
		out = append(out, bspTarget{key: DeliveryPrefix + sub.ID, url: sub.URL, types: types})
	}
	if loc.surface.Doc == nil {
		return out, nil
	}
	descs, err := s.bspDescriptors(ctx, tx, loc.surface, loc.scope, loc.service)
	if err != nil {
		return nil, err
	}
	for _, d := range descs {
		if target, _ := d.Webhook(); target != "" {
			out = append(out, bspTarget{key: DeliveryPrefix + "agent:" + loc.scope + "/" + loc.service + "/" + d.ID, url: target, types: append([]string{}, d.Produces...)})
		}
	}
	return out, nil
}

// bspDeliveryTarget finds the secret and generation a BSP delivery is signed with; ok is false
// when its subscription or descriptor no longer exists.
func (s *Engine) bspDeliveryTarget(ctx context.Context, key string) (subID, secret, gen string, ok bool) {
	snap := s.view()
	if snap.BSP.Serving == nil {
		return "", "", "", false
	}
	gen = snap.BSP.Serving.Surface.Generation
	rest := strings.TrimPrefix(key, DeliveryPrefix)
	if path, isAgent := strings.CutPrefix(rest, "agent:"); isAgent {
		parts := strings.SplitN(path, "/", 3)
		if len(parts) != 3 {
			return "", "", "", false
		}
		surface := snap.BSP.Serving.Surface
		if parts[0] != "" {
			t := snap.BSP.Serving.Tenant(parts[0])
			if t == nil {
				return "", "", "", false
			}
			surface = *t
		}
		descs, err := s.bspDescriptors(ctx, nil, surface, parts[0], parts[1])
		if err != nil {
			return "", "", "", false
		}
		for _, d := range descs {
			if d.ID == parts[2] {
				_, secret := d.Webhook()
				return "agent:" + d.ID, secret, gen, true
			}
		}
		return "", "", "", false
	}
	sub, err := s.db.BSPSubscription(ctx, rest)
	if err != nil {
		return "", "", "", false
	}
	return sub.ID, sub.Secret, gen, true
}

// Deliver makes one attempt of a BSP delivery (spec/bsp.md §10.3–§10.4): the envelope as the
// body, <P>-Delivery-Id, -Subscription-Id, -Delivery-Attempt and, with a secret, -Timestamp and
// -Signature, signed afresh on each attempt. The host's delivery loop calls it for deliveries
// whose key starts with DeliveryPrefix; failures are recorded, not returned.
func (s *Engine) Deliver(ctx context.Context, d storage.Delivery) {
	allowLoopback := s.view().Config.Webhooks.AllowLoopback
	d.Attempts++
	now := time.Now().UTC()
	subID, secret, gen, ok := s.bspDeliveryTarget(ctx, d.ResourceID)
	status, errText := 0, ""
	switch {
	case !ok:
		errText = "the subscription no longer exists"
		d.Attempts = 6
	default:
		if terr := kernel.WebhookTargetError(d.URL, allowLoopback); terr != nil {
			errText = terr.Error()
			break
		}
		prefix, ctype := "X-BSP-", "application/json"
		if gen == "0.9" {
			prefix, ctype = "X-BEST-", "application/cloudevents+json"
		}
		headers := map[string]string{"Content-Type": ctype, prefix + "Delivery-Id": d.EventID, prefix + "Subscription-Id": subID,
			prefix + "Delivery-Attempt": strconv.Itoa(d.Attempts)}
		if secret != "" {
			headers[prefix+"Timestamp"] = strconv.FormatInt(now.Unix(), 10)
			headers[prefix+"Signature"] = kernel.SignWebhook(secret, now.Unix(), d.Body)
		}
		status, errText = kernel.PostDelivery(ctx, d.URL, d.Body, allowLoopback, headers)
	}
	kernel.RecordAttempt(ctx, s.db, s.log, d, status, errText, now)
}
