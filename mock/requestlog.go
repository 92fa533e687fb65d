package mock

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// MaxBodyBytes is the largest request body any mock surface accepts (spec/README.md, JSON).
const MaxBodyBytes = 1 << 20

// maxLoggedBody bounds what the request log keeps of each body.
const maxLoggedBody = 64 << 10

// recorder captures the status and the first bytes of a response for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if room := maxLoggedBody - rec.body.Len(); room > 0 {
		rec.body.Write(b[:min(room, len(b))])
	}
	return rec.ResponseWriter.Write(b)
}

func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logged runs serve with a size-limited, replayable request body and records the exchange in the
// request log, secrets redacted. A body over MaxBodyBytes is answered 413 without calling serve.
func (s *Sandbox) logged(w http.ResponseWriter, r *http.Request, protocol, provider string, serve func(http.ResponseWriter)) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	var reqBody []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		reqBody, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			reqBody = nil
			writeOSPError(rec, newOSPError("payload_too_large", "request body is larger than 1 MiB"))
		case err != nil:
			writeOSPError(rec, newOSPError("invalid_request", "request body could not be read: "+err.Error()))
		}
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	if rec.status == 0 {
		serve(rec)
	}
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	entry := storage.Request{
		At: s.clock.Now(), Protocol: protocol, Provider: provider, Method: r.Method, Path: r.URL.RequestURI(),
		Status: rec.status, Latency: time.Since(start), Agent: r.UserAgent(), RequestID: w.Header().Get("X-Request-Id"),
		RequestBody: RedactJSON(truncate(reqBody)), ResponseBody: RedactJSON(truncate(rec.body.Bytes())),
	}
	if protocol == "" {
		entry.Protocol = "none"
	}
	// The log must not fail or slow the agent's request when the client has gone away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if _, err := s.db.RecordRequest(ctx, entry); err != nil {
		s.log.Error("request log", "err", err)
	}
}

func truncate(b []byte) []byte {
	if len(b) > maxLoggedBody {
		return b[:maxLoggedBody]
	}
	return b
}
