package mock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// maxLoggedBody bounds what the request log keeps of each body.
const maxLoggedBody = 64 << 10

// recorder captures the status and the first bytes of a response for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	// logBody, when set by a handler, is the response to log as a shared body (a served
	// manifest is the same bytes every time, so it is redacted once and stored once).
	logBody *kernel.Document
	// streamed counts the bytes of a streamed response, which is not kept for the log (a
	// thousand open event streams would each hold 64 KiB).
	streamed  int64
	streaming bool
	// withheld: a scenario rule's network fault or an abandoned delay gave no (normal) answer,
	// so none is to be written now.
	withheld bool
	// cutAfter and cut: a scenario rule ends an event stream after cutAfter events (events
	// counts those written), cancelling the handler's context.
	cutAfter, events int
	cut              context.CancelFunc
}

// errStreamCut ends an event stream a scenario rule cuts.
var errStreamCut = errors.New("the event stream was cut by a scenario rule")

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
	if rec.cut != nil && bytes.HasPrefix(b, []byte("id: ")) {
		if rec.events >= rec.cutAfter {
			rec.cut()
			return 0, errStreamCut
		}
		rec.events++
	}
	if rec.streaming {
		rec.streamed += int64(len(b))
	} else if rec.logBody == nil {
		if room := maxLoggedBody - rec.body.Len(); room > 0 {
			rec.body.Write(b[:min(room, len(b))])
		}
	}
	return rec.ResponseWriter.Write(b)
}

// LogDocument implements kernel.LogHints.
func (rec *recorder) LogDocument(d *kernel.Document) { rec.logBody = d }

// LogStreaming implements kernel.LogHints.
func (rec *recorder) LogStreaming() { rec.streaming = true }

func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logged runs serve with a size-limited, replayable request body and queues the exchange for
// the request log. A body over kernel.MaxBodyBytes is answered 413 without calling serve.
func (s *Sandbox) logged(w http.ResponseWriter, r *http.Request, protocol, provider string, serve func(http.ResponseWriter)) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	var reqBody []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		limit := int64(kernel.MaxBodyBytes)
		switch {
		case protocol == "bsp":
			limit = s.Snapshot().Config.BSP.BodyLimit()
		case protocol == "ospbox" && r.URL.Path == "/ospbox/v1/snapshots" && r.Method == http.MethodPost:
			limit = maxSnapshotBytes // an uploaded state file
		}
		reqBody, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig) && (protocol == "bsp" || protocol == "oap"):
			reqBody = nil
			surfaceError(rec, protocol, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", fmt.Sprintf("the request body is larger than %d bytes", limit))
		case errors.As(err, &tooBig):
			reqBody = nil
			osp.WriteError(rec, osp.NewError("payload_too_large", "request body is larger than 1 MiB"))
		case err != nil && (protocol == "bsp" || protocol == "oap"):
			surfaceError(rec, protocol, http.StatusBadRequest, "INVALID_JSON", "the request body could not be read: "+err.Error())
		case err != nil:
			osp.WriteError(rec, osp.NewError("invalid_request", "request body could not be read: "+err.Error()))
		}
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	var rule string
	if rec.status == 0 {
		if d, ok := (scenarios{s}).decide(r, protocol, provider, reqBody); ok {
			rule = d.RuleID
			answered := (scenarios{s}).apply(w, rec, r, protocol, d, func(rec *recorder, r *http.Request) { s.serveSafely(rec, r, serve) })
			if answered && rec.status == 0 && !rec.withheld {
				rec.WriteHeader(http.StatusOK)
			}
		}
	}
	if rec.status == 0 && !rec.withheld {
		s.serveSafely(rec, r, serve)
	}
	if rec.cut != nil {
		rec.cut()
	}
	if rec.status == 0 && !rec.withheld {
		rec.WriteHeader(http.StatusOK)
	}
	if protocol == "" {
		protocol = "none"
	}
	h := w.Header()
	e := pendingRequest{entry: storage.Request{
		At: s.clock.Now(), Protocol: protocol, Provider: provider, Method: r.Method,
		Status: rec.status, Latency: time.Since(start), Scenario: rule,
	}, url: r.URL, reqHeader: r.Header, respHeader: headerPairs(h), host: r.Host, operator: kernel.IsOperator(r),
		secrets: s.Snapshot().Config.BSP.Credentials, reqBody: truncate(reqBody), respLog: rec.logBody}
	e.entry.RequestID = kernel.HeaderValue(h, "X-Request-Id")
	if rec.logBody == nil {
		e.respBody = truncate(rec.body.Bytes())
		if rec.streaming {
			e.respBody = []byte(fmt.Sprintf(`{"ospbox_stream": {"bytes": %d, "note": "an event stream; its frames are in the event log"}}`, rec.streamed))
		}
	}
	s.requests.add(e)
}

func truncate(b []byte) []byte {
	if len(b) > maxLoggedBody {
		return b[:maxLoggedBody]
	}
	return b
}

// serveSafely runs a handler and turns a panic (a bug in ospbox) into a 500 in the error
// envelope, so one bad request cannot take the connection, or the sandbox, down.
func (s *Sandbox) serveSafely(rec *recorder, r *http.Request, serve func(http.ResponseWriter)) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if rec.status == 0 {
				osp.WriteError(rec, osp.NewError("provider_error", "ospbox failed on this request (a bug; the log has the details)"))
			}
		}
	}()
	serve(rec)
}

// agentOf names who made a request for the log, without secrets: the DID of a TAP attestation,
// "resource token" or "API key" for the other bearer forms, else the User-Agent.
func agentOf(operator bool, h http.Header) string {
	if operator {
		return "ospbox UI"
	}
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	switch {
	case !ok || tok == "":
		return h.Get("User-Agent")
	case strings.HasPrefix(tok, "osp_rat_"):
		return "resource token"
	case strings.HasPrefix(tok, "osp_ak_"):
		return "API key"
	}
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		if h, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil {
			var header struct {
				Kid string `json:"kid"`
			}
			if json.Unmarshal(h, &header) == nil && strings.HasPrefix(header.Kid, "did:key:") {
				return header.Kid
			}
		}
		return "JWT bearer"
	}
	return "bearer token"
}
