package osp

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rateGroup is one row of spec/osp.md §21: a limit per window, keyed by client, principal or
// resource.
type rateGroup struct {
	name   string
	limit  int
	window time.Duration
}

// rateGroupOf classifies an /osp/v1 path and method.
func rateGroupOf(path, method string) (rateGroup, string) {
	op, id, _ := matchResourceRoute(path, method)
	switch {
	case path == "/osp/v1/health" || path == "/osp/v1/health/detailed":
		return rateGroup{"discovery", 100, time.Minute}, ""
	case path == "/osp/v1/provision" || op == "deprovision":
		return rateGroup{"provision", 10, time.Minute}, ""
	case op == "credentials":
		return rateGroup{"credentials", 30, time.Minute}, id
	case op == "rotate":
		return rateGroup{"rotation", 5, time.Hour}, id
	case op == "status" || op == "usage":
		return rateGroup{"status", 60, time.Minute}, id
	case strings.HasPrefix(path, "/osp/v1/webhooks/"):
		return rateGroup{"webhooks", 10, time.Minute}, ""
	}
	return rateGroup{"other", 60, time.Minute}, ""
}

// rateLimiter counts requests in fixed windows. It always reports (the headers are on every
// /osp/v1 response) and refuses only when enforcement is on.
type rateLimiter struct {
	mu     sync.Mutex
	counts map[string]int
	window map[string]time.Time // key → window start, to drop old keys
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{counts: map[string]int{}, window: map[string]time.Time{}}
}

// take counts one request and returns limit, remaining and the window's end.
func (l *rateLimiter) take(g rateGroup, key string, now time.Time) (int, int, time.Time) {
	start := now.Truncate(g.window)
	k := g.name + "|" + key + "|" + strconv.FormatInt(start.Unix(), 10)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.window) > 10000 { // forget finished windows
		for kk, ws := range l.window {
			if now.Sub(ws) > time.Hour {
				delete(l.window, kk)
				delete(l.counts, kk)
			}
		}
	}
	l.counts[k]++
	l.window[k] = start
	return g.limit, max(0, g.limit-l.counts[k]), start.Add(g.window)
}

// applyRateLimit sets the rate-limit headers and, when enforcement is on and the window is used
// up, answers 429 and reports false.
func (s *Engine) applyRateLimit(w http.ResponseWriter, r *http.Request, path string, enforce bool) bool {
	g, key := rateGroupOf(path, r.Method)
	if key == "" {
		key = clientAddress(r)
		if auth := r.Header.Get("Authorization"); auth != "" && g.name == "provision" {
			key = tokenHash(auth)
		}
	}
	now := s.clock.Now()
	limit, remaining, reset := s.limits.take(g, key, now)
	h := w.Header()
	secs := int(reset.Sub(now).Seconds() + 0.999)
	// Canonical names indexed directly, the values in one array: these six headers go on every
	// OSP answer, and Header.Set canonicalizes and allocates for each.
	v := []string{strconv.Itoa(limit), strconv.Itoa(remaining), strconv.Itoa(secs), strconv.FormatInt(reset.Unix(), 10)}
	h["Ratelimit-Limit"], h["X-Osp-Ratelimit-Limit"] = v[0:1:1], v[0:1:1]
	h["Ratelimit-Remaining"], h["X-Osp-Ratelimit-Remaining"] = v[1:2:2], v[1:2:2]
	h["Ratelimit-Reset"], h["X-Osp-Ratelimit-Reset"] = v[2:3:3], v[3:4:4]
	if enforce && remaining == 0 && s.limits.over(g, key, now) {
		WriteError(w, &Error{Status: 429, Code: "rate_limit_exceeded", Message: "too many " + g.name + " requests; retry after the window resets",
			RetryAfter: secs, Details: map[string]any{"limit": limit, "window_seconds": int(g.window.Seconds())}})
		return false
	}
	return true
}

// over reports whether the window holds more requests than its limit.
func (l *rateLimiter) over(g rateGroup, key string, now time.Time) bool {
	k := g.name + "|" + key + "|" + strconv.FormatInt(now.Truncate(g.window).Unix(), 10)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[k] > g.limit
}
