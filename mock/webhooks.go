package mock

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/storage"
)

// retrySchedule is the wait before each attempt after the first (spec/osp.md §18.4).
var retrySchedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// SignWebhook is the X-OSP-Signature value: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">.
func SignWebhook(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", timestamp)
	m.Write(body)
	return "t=" + strconv.FormatInt(timestamp, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// webhookTargetError says why a URL may not receive webhooks, or nil.
func webhookTargetError(raw string, allowLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	if u.User != nil {
		return errors.New("user information is not allowed in webhook URLs")
	}
	host := strings.ToLower(u.Hostname())
	loopbackName := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopbackName = true
	}
	if loopbackName {
		if !allowLoopback {
			return errors.New("loopback targets need webhooks.allow_loopback in ospbox.json")
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return errors.New("webhook URLs are http or https")
		}
		return nil
	}
	if u.Scheme != "https" {
		return errors.New("webhook URLs must be https")
	}
	if strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") || !strings.Contains(host, ".") {
		return errors.New("local, internal and single-label host names are not allowed")
	}
	if ip := net.ParseIP(host); ip != nil && !publicIP(ip) {
		return errors.New("private, link-local and reserved addresses are not allowed")
	}
	return nil
}

var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// publicIP reports whether an address may receive webhooks.
func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || cgnat.Contains(ip))
}

// webhookClient delivers with a dialer that re-checks every resolved address at connect time,
// so DNS cannot point an accepted name at a private address; redirects are failures.
func webhookClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, _ := net.SplitHostPort(address)
		ip := net.ParseIP(host)
		if ip == nil || (ip.IsLoopback() && allowLoopback) || publicIP(ip) {
			return nil
		}
		return errors.New("refusing to deliver to " + host + ": not a public address")
	}}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// queueDeliveries queues an event for the resource's webhook, when it has one that wants it.
func (s *Sandbox) queueDeliveries(ctx context.Context, tx *storage.Tx, res storage.Resource, eventID, typ string, body []byte, now time.Time) error {
	wh, err := tx.Webhook(ctx, res.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var events []string
	json.Unmarshal([]byte(wh.Events), &events)
	if len(events) > 0 && !contains(events, typ) {
		return nil
	}
	return tx.QueueDelivery(ctx, storage.Delivery{EventID: eventID, ResourceID: res.ID, URL: wh.URL, Body: body, NextAt: time.Now().UTC()})
}

func (s *Sandbox) deliverDue(ctx context.Context) {
	due, err := s.db.DueDeliveries(ctx, time.Now().UTC(), 20)
	if err != nil {
		s.log.Error("webhooks", "err", err)
		return
	}
	for _, d := range due {
		select {
		case <-s.stop:
			return
		default:
		}
		s.deliverOnce(ctx, d)
	}
}

// deliverOnce makes one attempt and records it.
func (s *Sandbox) deliverOnce(ctx context.Context, d storage.Delivery) {
	if strings.HasPrefix(d.ResourceID, bspDeliveryPrefix) {
		s.deliverBSP(ctx, d)
		return
	}
	cfg := s.Snapshot().Config
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
	if terr := webhookTargetError(d.URL, cfg.Webhooks.AllowLoopback); terr != nil {
		errText = terr.Error()
	} else {
		status, errText = postDelivery(ctx, d.URL, body, cfg.Webhooks.AllowLoopback, map[string]string{
			"Content-Type":           "application/json",
			"X-OSP-Timestamp":        strconv.FormatInt(now.Unix(), 10),
			"X-OSP-Signature":        SignWebhook(secret, now.Unix(), body),
			"X-OSP-Delivery-Attempt": strconv.Itoa(d.Attempts),
			"X-OSP-Version":          "1.0",
		})
	}
	s.recordAttempt(ctx, d, status, errText, now)
}

// postDelivery makes one webhook POST and returns the status, or why there is none.
func postDelivery(ctx context.Context, target string, body []byte, allowLoopback bool, headers map[string]string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := webhookClient(allowLoopback).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode, ""
}

func (s *Sandbox) providerOfResource(ctx context.Context, id string) *ProviderState {
	for _, p := range s.Snapshot().Providers {
		if p.Serving == nil {
			continue
		}
		if _, err := s.db.Resource(ctx, p.Slug, id); err == nil {
			return p
		}
	}
	return nil
}

func (s *Sandbox) webhookSecret(ctx context.Context, resourceID string) string {
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
func (s *Sandbox) serveWebhooks(w http.ResponseWriter, r *http.Request, p *ProviderState, id string) {
	if !allow(w, r, http.MethodPost, http.MethodDelete) {
		return
	}
	_, ok := s.authorizedResource(w, r, p, id, "webhooks")
	if !ok {
		return
	}
	if r.Method == http.MethodDelete {
		err := s.db.Update(r.Context(), func(tx *storage.Tx) error { return tx.DeleteWebhook(r.Context(), id) })
		if err != nil {
			writeOSPError(w, newOSPError("provider_error", err.Error()))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, oerr := optionalBody(r)
	if oerr != nil {
		writeOSPError(w, oerr)
		return
	}
	target := body.Str("webhook_url")
	if terr := webhookTargetError(target, s.Snapshot().Config.Webhooks.AllowLoopback); terr != nil {
		e := invalidRequest("webhook_url is not allowed: " + terr.Error())
		e.Details = map[string]any{"field": "webhook_url", "reason": terr.Error()}
		writeOSPError(w, e)
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
		wh := storage.Webhook{ResourceID: id, ID: NewID("wh_", now), URL: target, Events: string(ej), Secret: old.Secret, CreatedAt: now}
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
		writeOSPError(w, newOSPError("provider_error", err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
