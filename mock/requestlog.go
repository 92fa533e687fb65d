package mock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
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
	e := pendingRequest{entry: storage.Request{
		At: s.clock.Now(), Protocol: protocol, Provider: provider, Method: r.Method, Path: kernel.RedactQuery(r.URL),
		Status: rec.status, Latency: time.Since(start), Agent: agentOf(r), RequestID: w.Header().Get("X-Request-Id"), Scenario: rule,
	}, reqBody: truncate(reqBody), respLog: rec.logBody, reqHeaders: kernel.RedactHeaders(r.Header, r.Host, ""), respHeaders: kernel.RedactHeaders(w.Header(), "", "X-Request-Id")}
	// The workspace's BSP credentials are secrets wherever they travel: the manifest may name
	// any header or query parameter for them.
	for _, c := range s.Snapshot().Config.BSP.Credentials {
		e.entry.Path = strings.ReplaceAll(e.entry.Path, c.Token, kernel.Redacted)
		e.reqHeaders = strings.ReplaceAll(e.reqHeaders, c.Token, kernel.Redacted)
	}
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

// pendingRequest is a request waiting to be written; redaction happens in the writer, off the
// agent's request path.
type pendingRequest struct {
	entry    storage.Request
	reqBody  []byte
	respBody []byte
	respLog  *kernel.Document
	// reqHeaders and respHeaders are already rendered and redacted: encoding them here costs
	// less than copying the maps for the writer.
	reqHeaders, respHeaders string
	flushed                 chan struct{} // set for a flush marker instead of a request
}

// requestLog writes the request log in batches from one goroutine: the agent's request never
// waits for SQLite, and a burst of requests costs one commit, not one each. The queue is
// bounded; when it is full, requests wait for room (backpressure) rather than go unlogged.
type requestLog struct {
	db     *storage.DB
	log    *slog.Logger
	queue  chan pendingRequest
	closed chan struct{}
	mu     sync.RWMutex // guards sending against close
	done   bool
}

// requestLogBatch and requestLogLinger bound a batch: at most this many requests, collected for
// at most this long after the first one. A batch that fills up means a burst: the writer then
// keeps collecting for requestLogBurst, and of what arrives it writes only the newest
// storage.RequestLogLimit requests, because the log's retention would delete the older ones at
// once anyway. Under a load test this spares SQLite most of the log's writes.
const (
	requestLogBatch  = 256
	requestLogLinger = 5 * time.Millisecond
	requestLogBurst  = time.Second
	// requestLogBurstBytes bounds the bodies a batch holds in memory.
	requestLogBurstBytes = 64 << 20
)

func newRequestLog(db *storage.DB, log *slog.Logger) *requestLog {
	l := &requestLog{db: db, log: log, queue: make(chan pendingRequest, 4096), closed: make(chan struct{})}
	go l.run()
	return l
}

func (l *requestLog) add(p pendingRequest) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.done {
		return
	}
	l.queue <- p
}

// Flush waits until every request queued before the call is committed.
func (l *requestLog) Flush() {
	ch := make(chan struct{})
	l.mu.RLock()
	if l.done {
		l.mu.RUnlock()
		return
	}
	l.queue <- pendingRequest{flushed: ch}
	l.mu.RUnlock()
	<-ch
}

// Close writes what is queued and stops the writer.
func (l *requestLog) Close() {
	l.mu.Lock()
	if !l.done {
		l.done = true
		close(l.queue)
	}
	l.mu.Unlock()
	<-l.closed
}

func (l *requestLog) run() {
	defer close(l.closed)
	var pending []pendingRequest
	var flushes []chan struct{}
	for p := range l.queue {
		pending, flushes = l.collect(pending, flushes, p)
		pendingBytes := p.size()
		// Linger briefly so a burst shares one commit; a flush request cuts the wait short.
		linger := time.NewTimer(requestLogLinger)
		burst := false
	drain:
		for len(flushes) == 0 {
			select {
			case p, ok := <-l.queue:
				if !ok {
					break drain
				}
				pending, flushes = l.collect(pending, flushes, p)
				if len(pending) > storage.RequestLogLimit {
					// The oldest would be deleted by retention as soon as written: drop it now,
					// so a burst holds at most the newest RequestLogLimit requests.
					pending[0] = pendingRequest{}
					pending = pending[1:]
				}
				pendingBytes += p.size()
				if pendingBytes > requestLogBurstBytes {
					break drain // big bodies: write what is there rather than hold it
				}
				if len(pending) >= requestLogBatch && !burst {
					burst = true
					linger.Reset(requestLogBurst)
				}
			case <-linger.C:
				break drain
			}
		}
		linger.Stop()
		l.write(pending)
		for _, f := range flushes {
			close(f)
		}
		clear(pending)
		pending, flushes = pending[:0], flushes[:0]
	}
}

// size is about how much memory p holds.
func (p pendingRequest) size() int {
	return len(p.reqBody) + len(p.respBody) + len(p.reqHeaders) + len(p.respHeaders) + 256
}

// collect adds p to what waits to be written, or to the flushes to answer once it is.
func (l *requestLog) collect(pending []pendingRequest, flushes []chan struct{}, p pendingRequest) ([]pendingRequest, []chan struct{}) {
	if p.flushed != nil {
		return pending, append(flushes, p.flushed)
	}
	return append(pending, p), flushes
}

// write redacts and commits the newest storage.RequestLogLimit of pending in one transaction.
func (l *requestLog) write(pending []pendingRequest) {
	if len(pending) == 0 {
		return
	}
	pending = pending[max(0, len(pending)-storage.RequestLogLimit):]
	batch := make([]storage.Request, len(pending))
	for i, p := range pending {
		e := p.entry
		e.RequestBody = kernel.RedactJSON(p.reqBody)
		e.RequestHeaders, e.ResponseHeaders = p.reqHeaders, p.respHeaders
		if p.respLog != nil {
			e.ResponseBody, e.ResponseRef = p.respLog.Logged, p.respLog.LogRef
		} else {
			e.ResponseBody = kernel.RedactJSON(p.respBody)
		}
		batch[i] = e
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.db.RecordRequests(ctx, batch); err != nil {
		l.log.Error("request log", "err", err, "lost", len(batch))
	}
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
func agentOf(r *http.Request) string {
	if kernel.IsOperator(r) {
		return "ospbox UI"
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || tok == "":
		return r.UserAgent()
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
