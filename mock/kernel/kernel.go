// Package kernel holds what every protocol engine of the sandbox needs and none of them owns:
// the clock interface, identifiers, JSON writing, bounded body reading, method checks, served
// documents with their ETag and request-log form, redaction of secrets, outbound webhook
// delivery rules, and the event sink through which the host carries one protocol's events to
// another.
//
// It may import manifests and storage, and nothing else of ospbox: the host (mock) and the
// protocol packages (mock/osp, mock/bsp, mock/oap) import it, never the other way round.
package kernel

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBodyBytes is the largest request body any mock surface accepts (spec/README.md, JSON).
const MaxBodyBytes = 1 << 20

// Clock is the workspace clock: every time-driven behaviour reads it, so tests and demos can
// move time (spec/README.md, Time).
type Clock interface {
	Now() time.Time
}

// RealClock is wall-clock time.
type RealClock struct{}

// Now returns the current UTC time.
func (RealClock) Now() time.Time { return time.Now().UTC() }

// WriteJSON writes v as the JSON response with status. HTML characters are not escaped: the
// bodies are read by agents, not embedded in pages.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"provider_error","message":"response could not be encoded","retryable":true}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// WriteRaw writes an already encoded JSON body.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// ReadBody returns the request body. The host has already bounded it (MaxBodyBytes or the
// protocol's own limit) and buffered it for the request log, so it cannot fail here.
func ReadBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(r.Body)
	return b
}

// MethodIn reports whether the request's method is one of methods; when it is not, it sets the
// Allow header, and the caller answers 405 in its protocol's envelope.
func MethodIn(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	return false
}

// Closed reports whether ch (a stop channel) has been closed, without waiting.
func Closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Signal wakes whoever waits on c (a channel of capacity 1) without blocking: a wake already
// pending is enough.
func Signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// HeaderValue is h's first value for name, which must be in canonical form (net/http gives a
// request's names so): Header.Get canonicalizes name on every call, which shows on hot paths.
func HeaderValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
