package mock

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// pendingRequest is a request waiting to be written. It holds what the request left behind
// (the URL, the header maps, the bodies) and the writer renders and redacts it: under a burst
// most pending requests are superseded before they are written (see requestLog), so work done
// on the agent's request path for them would be spent for nothing. The request's header map is
// the request's own and nothing writes it once it is answered; the response's is copied (as
// name and value pairs, one allocation), since a handler wrapping ospbox's (a test's
// middleware) may still change it after ospbox returns.
type pendingRequest struct {
	entry storage.Request
	url   *url.URL
	// reqHeader and host are the request's headers (net/http keeps Host apart); respHeader the
	// response's, from headerPairs.
	reqHeader  http.Header
	respHeader []string
	host       string
	operator   bool // the UI asked (kernel.IsOperator)
	// secrets are the workspace's BSP credentials when the request came: the manifest may name
	// any header or query parameter for them, so they are replaced wherever they appear.
	secrets  []manifests.BSPCredential
	reqBody  []byte
	respBody []byte
	respLog  *kernel.Document
}

// size is about how much memory p holds.
func (p *pendingRequest) size() int {
	return len(p.reqBody) + len(p.respBody) + 512
}

// render is p as the log stores it, redacted.
func (p *pendingRequest) render() storage.Request {
	e := p.entry
	if p.url != nil {
		e.Path = kernel.RedactQuery(p.url)
	}
	e.Agent = agentOf(p.operator, p.reqHeader)
	e.RequestHeaders = kernel.RedactHeaders(p.reqHeader, p.host, "")
	e.ResponseHeaders = kernel.RedactHeaders(headerFromPairs(p.respHeader), "", "X-Request-Id")
	for _, c := range p.secrets {
		e.Path = strings.ReplaceAll(e.Path, c.Token, kernel.Redacted)
		e.RequestHeaders = strings.ReplaceAll(e.RequestHeaders, c.Token, kernel.Redacted)
	}
	e.RequestBody = kernel.RedactJSON(p.reqBody)
	if p.respLog != nil {
		e.ResponseBody, e.ResponseRef = p.respLog.Logged, p.respLog.LogRef
	} else {
		e.ResponseBody = kernel.RedactJSON(p.respBody)
	}
	return e
}

// headerPairs copies h as name, value, name, value…: a copy the request path can afford (a
// map's clone is several allocations); headerFromPairs rebuilds the map in the writer.
func headerPairs(h http.Header) []string {
	pairs := make([]string, 0, 2*len(h)) // most headers have one value
	for name, vs := range h {
		for _, v := range vs {
			pairs = append(pairs, name, v)
		}
	}
	return pairs
}

func headerFromPairs(pairs []string) http.Header {
	h := make(http.Header, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = append(h[pairs[i]], pairs[i+1])
	}
	return h
}

// requestLog writes the request log in batches from one goroutine: the agent's request never
// waits for SQLite, and a burst of requests costs one commit, not one each. Adding a request
// is an append under a mutex; the writer is woken once per batch, not once per request.
//
// Retention keeps the newest storage.RequestLogLimit requests, so of a burst only the newest
// that many are ever written: the rest are superseded in memory, unrendered. Memory is bounded
// by both counts and bytes; past requestLogBurstBytes of bodies, adding waits for the writer
// (backpressure) rather than drop a request the log would keep.
type requestLog struct {
	db  *storage.DB
	log *slog.Logger

	mu      sync.Mutex
	changed *sync.Cond // the writer took a batch (room) or committed one (Flush)
	pending []pendingRequest
	bytes   int
	// queued counts requests ever added; settled those written or superseded. Flush waits for
	// settled to reach what was queued when it was called.
	queued, settled uint64
	done            bool

	wake   chan struct{} // cap 1: pending became non-empty
	hurry  chan struct{} // cap 1: a Flush or the byte bound cuts the linger short
	stop   chan struct{} // closed by Close
	closed chan struct{} // closed when the writer has written the last batch
}

// requestLogBatch and requestLogLinger bound a batch: the writer collects for requestLogLinger
// after the first request. A batch of requestLogBatch or more means a burst: the writer then
// collects for requestLogBurst before the next write, and writes only the newest
// storage.RequestLogLimit requests, because retention would delete the older ones at once
// anyway. Under a load test this spares SQLite most of the log's writes. A Flush (the journal,
// an export) never waits for the linger.
const (
	requestLogBatch  = 256
	requestLogLinger = 5 * time.Millisecond
	requestLogBurst  = 2 * time.Second
	// requestLogBurstBytes bounds the bodies pending requests hold in memory.
	requestLogBurstBytes = 64 << 20
)

func newRequestLog(db *storage.DB, log *slog.Logger) *requestLog {
	l := &requestLog{db: db, log: log, wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), stop: make(chan struct{}), closed: make(chan struct{})}
	l.changed = sync.NewCond(&l.mu)
	go l.run()
	return l
}

func (l *requestLog) add(p pendingRequest) {
	size := p.size()
	l.mu.Lock()
	for l.bytes > requestLogBurstBytes && !l.done {
		kernel.Signal(l.hurry)
		l.changed.Wait()
	}
	if l.done {
		l.mu.Unlock()
		return
	}
	if len(l.pending) == 0 {
		kernel.Signal(l.wake)
	}
	l.pending = append(l.pending, p)
	l.bytes += size
	l.queued++
	if len(l.pending) >= 2*storage.RequestLogLimit {
		// Supersede the older half in one move: amortized, one copy per request.
		drop := len(l.pending) - storage.RequestLogLimit
		for i := range drop {
			l.bytes -= l.pending[i].size()
		}
		n := copy(l.pending, l.pending[drop:])
		clear(l.pending[n:])
		l.pending = l.pending[:n]
	}
	l.mu.Unlock()
}

// Flush waits until every request queued before the call is committed.
func (l *requestLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	target := l.queued
	for l.settled < target && !l.done {
		kernel.Signal(l.hurry)
		l.changed.Wait()
	}
}

// Close writes what is queued and stops the writer.
func (l *requestLog) Close() {
	l.mu.Lock()
	if !l.done {
		l.done = true
		close(l.stop)
		l.changed.Broadcast()
	}
	l.mu.Unlock()
	<-l.closed
}

func (l *requestLog) run() {
	defer close(l.closed)
	linger := requestLogLinger
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var spare []pendingRequest
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			l.writeBatch(spare)
			return
		}
		// Linger so a burst shares one commit; a Flush or Close cuts the wait short.
		timer.Reset(linger)
		select {
		case <-timer.C:
		case <-l.hurry:
			timer.Stop()
		case <-l.stop:
			timer.Stop()
		}
		var n int
		spare, n = l.writeBatch(spare)
		linger = requestLogLinger
		if n >= requestLogBatch {
			linger = requestLogBurst
		}
	}
}

// writeBatch takes what is pending (leaving spare's array for the next batch), writes it and
// settles it; it returns the batch's array for reuse and how many requests it held.
func (l *requestLog) writeBatch(spare []pendingRequest) ([]pendingRequest, int) {
	l.mu.Lock()
	batch, target := l.pending, l.queued
	l.pending, l.bytes = spare, 0
	l.changed.Broadcast() // room for producers held back by the byte bound
	l.mu.Unlock()
	l.write(batch)
	clear(batch)
	l.mu.Lock()
	l.settled = target
	l.changed.Broadcast()
	l.mu.Unlock()
	return batch[:0], len(batch)
}

// write renders, redacts and commits the newest storage.RequestLogLimit of pending in one
// transaction.
func (l *requestLog) write(pending []pendingRequest) {
	if len(pending) == 0 {
		return
	}
	pending = pending[max(0, len(pending)-storage.RequestLogLimit):]
	batch := make([]storage.Request, len(pending))
	for i := range pending {
		batch[i] = pending[i].render()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.db.RecordRequests(ctx, batch); err != nil {
		l.log.Error("request log", "err", err, "lost", len(batch))
	}
}
