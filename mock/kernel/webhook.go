package kernel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// RetrySchedule is the wait before each attempt after the first (spec/osp.md §18.4; BSP's
// deliveries follow the same schedule).
var RetrySchedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// MaxAttempts is how many times a delivery is tried before it is marked failed.
const MaxAttempts = 6

// SignWebhook is the X-OSP-Signature value: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">.
func SignWebhook(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", timestamp)
	m.Write(body)
	return "t=" + strconv.FormatInt(timestamp, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookTargetError says why a URL may not receive webhooks, or nil.
func WebhookTargetError(raw string, allowLoopback bool) error {
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

// PostDelivery makes one webhook POST and returns the status, or why there is none.
func PostDelivery(ctx context.Context, target string, body []byte, allowLoopback bool, headers map[string]string) (int, string) {
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

// RecordAttempt stores a delivery attempt's outcome and schedules the next one (1 s, 5 s, 30 s,
// 2 min, 10 min; failed after the sixth).
func RecordAttempt(ctx context.Context, db *storage.DB, log *slog.Logger, d storage.Delivery, status int, errText string, now time.Time) {
	d.LastStatus, d.LastError = status, errText
	switch {
	case status >= 200 && status < 300:
		d.Status = "delivered"
	case d.Attempts >= MaxAttempts:
		d.Status = "failed"
	default:
		d.NextAt = now.Add(RetrySchedule[d.Attempts-1])
	}
	if err := db.RecordAttempt(ctx, d, now); err != nil {
		log.Error("webhooks", "err", err)
	}
}
