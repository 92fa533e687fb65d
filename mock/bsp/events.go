package bsp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// bspEnvelope is an event ospbox publishes (spec/bsp.md §7), in CloudEvents attribute order.
type bspEnvelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Time            string          `json:"time"`
	Data            json.RawMessage `json:"data"`
	CorrelationID   string          `json:"correlationid,omitempty"`
}

// bspOut is an event to publish: its type, its data (compact JSON) and the command that caused it.
type bspOut struct {
	typ         string
	data        []byte
	correlation string
}

// publishBSPEvent publishes one event (see publishBSPEvents).
func (s *Engine) publishBSPEvent(ctx context.Context, tx *storage.Tx, loc bspLoc, typ string, data *jsondoc.Node, correlation string) (storage.BSPEvent, error) {
	evs, err := s.publishBSPEvents(ctx, tx, loc, []bspOut{{typ: typ, data: jsondoc.Compact(data), correlation: correlation}})
	if err != nil {
		return storage.BSPEvent{}, err
	}
	return evs[0], nil
}

// publishBSPEvents appends events to a service's log inside tx, queues their webhook deliveries
// and, once committed, pushes them to the open streams.
func (s *Engine) publishBSPEvents(ctx context.Context, tx *storage.Tx, loc bspLoc, outs []bspOut) ([]storage.BSPEvent, error) {
	evs, err := s.prepareBSPEvents(loc, outs)
	if err != nil {
		return nil, err
	}
	return evs, s.appendBSPEvents(ctx, tx, loc, evs)
}

// prepareBSPEvents builds the envelopes of events (ids, times, dataschema, the check against the
// event document): the work that needs no transaction.
func (s *Engine) prepareBSPEvents(loc bspLoc, outs []bspOut) ([]storage.BSPEvent, error) {
	docs := map[string]manifests.CatalogEntry{}
	for _, e := range catalogKind(loc.surface.Catalog, "events") {
		docs[e.Type] = e // sorted: the latest version wins
	}
	now := s.clock.Now().UTC()
	evs := make([]storage.BSPEvent, 0, len(outs))
	for _, o := range outs {
		env := bspEnvelope{SpecVersion: "1.0", ID: uuid.NewString(), Source: loc.base, Type: o.typ, DataContentType: "application/json",
			Time: now.Format(time.RFC3339Nano), Data: o.data}
		flag := ""
		if doc, ok := docs[o.typ]; ok {
			env.DataSchema = loc.base + "/events/" + doc.Schema + "/" + doc.Version
			data, err := jsondoc.Parse(o.data)
			if err != nil {
				return nil, err
			}
			if fails := manifests.CheckData(doc.DataSchema(), data.Root, "the event's data"); len(fails) > 0 {
				flag = fmt.Sprintf("data does not match %s/%s at %s: %s", doc.Schema, doc.Version, displayPointer(fails[0].Pointer), fails[0].Message)
			}
		}
		if loc.gen == "0.9" {
			env.CorrelationID = o.correlation
		}
		raw, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		evs = append(evs, storage.BSPEvent{Scope: loc.scope, Service: loc.service, ID: env.ID, Type: o.typ, Source: env.Source,
			CorrelationID: o.correlation, At: now, Envelope: string(raw), Flag: flag})
	}
	return evs, nil
}

// appendBSPEvents stores prepared events (setting their sequence numbers), queues their
// deliveries (targets looked up once) and publishes them to the streams after the commit.
func (s *Engine) appendBSPEvents(ctx context.Context, tx *storage.Tx, loc bspLoc, evs []storage.BSPEvent) error {
	targets, err := s.bspTargets(ctx, tx, loc)
	if err != nil {
		return err
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Seq, err = tx.AppendBSPEvent(ctx, *ev); err != nil {
			return err
		}
		if s.bspHub.trimDue(loc.scope, loc.service, loc.logSize) {
			if err := tx.TrimBSPEvents(ctx, loc.scope, loc.service, loc.logSize); err != nil {
				return err
			}
		}
		for _, t := range targets {
			if t.wants(ev.Type) {
				err := tx.QueueDelivery(ctx, storage.Delivery{EventID: ev.ID, ResourceID: t.key, URL: t.url, Body: []byte(ev.Envelope), NextAt: time.Now().UTC()})
				if err != nil {
					return err
				}
			}
		}
		frame := &bspFrame{BSPEvent: *ev, text: []byte("id: " + ev.ID + "\ndata: " + ev.Envelope + "\n\n")}
		tx.AfterCommit(func() { s.bspHub.publish(frame) })
	}
	return nil
}

func displayPointer(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}

// bspCursor encodes a sequence number as an opaque cursor.
func bspCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(seq, 10)))
}

func parseBSPCursor(c string) (int64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(raw), "seq:")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	return seq, err == nil && seq >= 0
}

// EventQuery reads GET /events parameters (spec/bsp.md §9.1); authParam is the API key's
// query parameter, which may ride along.
func EventQuery(q url.Values, authParam string) (storage.BSPEventQuery, []bspFieldError) {
	out := storage.BSPEventQuery{Limit: 50}
	var errs []bspFieldError
	bad := func(name, msg string) { errs = append(errs, bspFieldError{Pointer: "/" + name, Message: msg}) }
	for name, vals := range q {
		if name == authParam && authParam != "" {
			continue
		}
		if len(vals) != 1 {
			bad(name, name+" is given more than once")
			continue
		}
		v := vals[0]
		switch name {
		case "type":
			if !bspTypePattern.MatchString(v) {
				bad(name, "type is a PascalCase event type")
			}
			out.Type = v
		case "correlationId":
			if v == "" {
				bad(name, "correlationId is the id POST /commands returned")
			}
			out.CorrelationID = v
		case "source":
			out.Source = v
		case "from", "to":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad(name, name+" is an RFC 3339 time, e.g. 2026-04-10T09:20:00Z")
				continue
			}
			if name == "from" {
				out.From = &t
			} else {
				out.To = &t
			}
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				bad(name, "limit is an integer from 1 to 500")
				continue
			}
			out.Limit = n
		case "after":
			seq, ok := parseBSPCursor(v)
			if !ok {
				bad(name, "after is the nextCursor of a previous page")
				continue
			}
			out.AfterSeq = seq
		default:
			bad(name, "unknown parameter "+name+" (type, correlationId, source, from, to, limit, after)")
		}
	}
	if out.From != nil && out.To != nil && out.To.Before(*out.From) {
		bad("to", "to is before from")
	}
	slices.SortFunc(errs, func(a, b bspFieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
	return out, errs
}

// listBSPEvents is GET /events.
func (s *Engine) listBSPEvents(w http.ResponseWriter, r *http.Request, c *bspCall) {
	q, errs := EventQuery(r.URL.Query(), c.scheme().QueryParam())
	if len(errs) > 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_QUERY_PARAMETERS", errs[0].Message, map[string]any{"errors": errs})
		return
	}
	q.Scope, q.Service = c.scope, c.service
	limit := q.Limit
	q.Limit++
	list, err := s.db.BSPEvents(r.Context(), q)
	if bspFailed(w, err) {
		return
	}
	events := make([]json.RawMessage, 0, len(list))
	for i, e := range list {
		if i == limit {
			break
		}
		events = append(events, json.RawMessage(e.Envelope))
	}
	out := map[string]any{"events": events}
	if len(list) > limit {
		out["nextCursor"] = bspCursor(list[limit-1].Seq)
	}
	kernel.WriteJSON(w, http.StatusOK, out)
}

// bspStreamFilter is what a stream subscribed to.
type bspStreamFilter struct {
	scope, service           string
	typ, correlation, source string
}

func (f bspStreamFilter) matches(e storage.BSPEvent) bool {
	return e.Scope == f.scope && e.Service == f.service && (f.typ == "" || f.typ == e.Type) &&
		(f.correlation == "" || f.correlation == e.CorrelationID) && (f.source == "" || f.source == e.Source)
}

// streamBSPEvents is GET /events/stream (spec/bsp.md §9.2): live events after an optional
// Last-Event-ID replay from the log, keepalive comments, and a slow client that catches up from
// the log instead of holding anyone up.
func (s *Engine) streamBSPEvents(w http.ResponseWriter, r *http.Request, c *bspCall) {
	q := r.URL.Query()
	f := bspStreamFilter{scope: c.scope, service: c.service, typ: q.Get("type"), correlation: q.Get("correlationId"), source: q.Get("source")}
	for name := range q {
		if name != "type" && name != "correlationId" && name != "source" && name != c.scheme().QueryParam() {
			WriteError(w, http.StatusBadRequest, "INVALID_QUERY_PARAMETERS", "unknown parameter "+name+" (type, correlationId, source)", nil)
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, http.StatusInternalServerError, "INTERNAL", "this connection cannot stream", nil)
		return
	}
	sub, ok := s.bspHub.subscribe(f, c.principal)
	if !ok {
		WriteError(w, http.StatusTooManyRequests, "TOO_MANY_STREAMS", fmt.Sprintf("this credential already has %d open streams", maxStreamsPerCredential), nil)
		return
	}
	defer s.bspHub.unsubscribe(sub)
	kernel.StreamingLog(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	// The sequence number the client has seen up to: the live position, or the replay point.
	last := s.bspHub.position()
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if seq, err := s.db.BSPEventSeq(r.Context(), c.scope, c.service, id); err == nil {
			last = seq
			sub.lagged.Store(true) // catch up from the log first
		} else {
			fmt.Fprint(w, ": last-event-id-unknown\n\n")
		}
	}
	flusher.Flush()
	var lastFlush time.Time
	keepalive := time.NewTicker(c.cfg.BSP.Keepalive())
	defer keepalive.Stop()
	write := func(e *bspFrame) bool {
		if e.Seq <= last {
			return true
		}
		last = e.Seq
		if e.text == nil {
			e.text = []byte("id: " + e.ID + "\ndata: " + e.Envelope + "\n\n")
		}
		_, err := w.Write(e.text)
		return err == nil
	}
	catchUp := func() bool {
		for sub.lagged.Swap(false) {
			for {
				page, err := s.db.BSPEvents(r.Context(), storage.BSPEventQuery{Scope: f.scope, Service: f.service, Type: f.typ,
					CorrelationID: f.correlation, Source: f.source, AfterSeq: last, Limit: 500})
				if err != nil {
					return false
				}
				for _, e := range page {
					if !write(&bspFrame{BSPEvent: e}) {
						return false
					}
				}
				if len(page) < 500 {
					break
				}
			}
		}
		return true
	}
	if !catchUp() {
		return
	}
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case <-keepalive.C:
			if !catchUp() {
				return
			}
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case e := <-sub.ch:
			if !catchUp() || !write(e) {
				return
			}
			// Under a steady stream of events, flush at most every bspFlushEvery: what arrives
			// meanwhile goes out in the same write. An event after a quiet spell goes at once.
			if wait := bspFlushEvery - time.Since(lastFlush); wait > 0 {
				time.Sleep(wait)
			}
			// Write whatever else is already waiting before flushing once.
			for more := true; more; {
				select {
				case e := <-sub.ch:
					if !write(e) {
						return
					}
				default:
					more = false
				}
			}
			if !catchUp() {
				return
			}
			flusher.Flush()
			lastFlush = time.Now()
		}
	}
}

// bspFlushEvery is the shortest interval between two writes to one stream while events keep
// coming: batching them costs each at most this much latency and saves a system call per event
// per stream.
const bspFlushEvery = 10 * time.Millisecond

// maxStreamsPerCredential is the open-stream limit of spec/bsp.md §14.
const maxStreamsPerCredential = 64

// StreamBuffer is how many events a stream holds for a client before it falls back to
// reading the log.
const StreamBuffer = 256

// bspHub fans published events out to the open streams. Publishing never blocks: a stream whose
// buffer is full is marked lagged and re-reads what it missed from the event log.
type bspHub struct {
	mu       sync.RWMutex
	subs     map[*bspSub]struct{}
	perCred  map[string]int
	lastSeq  int64
	trimMu   sync.Mutex
	appended map[string]int
}

type bspSub struct {
	filter    bspStreamFilter
	principal string
	ch        chan *bspFrame
	lagged    atomic.Bool
}

// bspFrame is a published event with its SSE frame, formatted once for every stream.
type bspFrame struct {
	storage.BSPEvent
	text []byte
}

func (h *bspHub) subscribe(f bspStreamFilter, principal string) (*bspSub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs, h.perCred = map[*bspSub]struct{}{}, map[string]int{}
	}
	if principal != "anonymous" && h.perCred[principal] >= maxStreamsPerCredential {
		return nil, false
	}
	sub := &bspSub{filter: f, principal: principal, ch: make(chan *bspFrame, StreamBuffer)}
	h.subs[sub] = struct{}{}
	h.perCred[principal]++
	return sub, true
}

func (h *bspHub) unsubscribe(sub *bspSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		h.perCred[sub.principal]--
	}
}

// setPosition starts the hub at the log's newest sequence number.
func (h *bspHub) setPosition(seq int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastSeq = seq
}

// position is the sequence number of the newest event published.
func (h *bspHub) position() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.lastSeq
}

// publish runs on the database writer after the commit, in commit order.
func (h *bspHub) publish(e *bspFrame) {
	h.mu.Lock()
	h.lastSeq = max(h.lastSeq, e.Seq)
	h.mu.Unlock()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for sub := range h.subs {
		if !sub.filter.matches(e.BSPEvent) {
			continue
		}
		select {
		case sub.ch <- e:
		default:
			sub.lagged.Store(true)
		}
	}
}

// streams counts the open streams.
func (h *bspHub) streams() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// trimDue counts appends per service and says when to trim its log that keeps keep events:
// every tenth of keep appends (at least every 100). Finding where to cut reads keep index
// entries, so trimming every 100 appends of a 10,000-event log cost as much as the appends
// themselves; the log may hold up to a tenth more than keep between trims.
func (h *bspHub) trimDue(scope, service string, keep int) bool {
	h.trimMu.Lock()
	defer h.trimMu.Unlock()
	if h.appended == nil {
		h.appended = map[string]int{}
	}
	k := scope + "/" + service
	h.appended[k]++
	return h.appended[k]%max(100, keep/10) == 0
}

// OSPEventType is the BSP type an OSP event is published under on the BSP streams:
// resource.provisioned → OspResourceProvisioned.
func OSPEventType(ospType string) string {
	var b strings.Builder
	b.WriteString("Osp")
	for _, part := range strings.FieldsFunc(ospType, func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// OSPEvent is an OSP event as OSP published it: its OSP type and its encoded body.
type OSPEvent struct {
	Type string
	Body []byte
}

// PublishOSPEvents publishes OSP events, as Osp<Type> events, on the event log of every root
// BSP service that serves events, so one agent watching a BSP stream sees provisioning too. The
// host calls it from its OSP bridge, outside the OSP transaction. The envelopes are built before
// the write, so the single writer only stores them. It returns the database's error, if any.
func (s *Engine) PublishOSPEvents(ctx context.Context, events []OSPEvent) error {
	outs := make([]bspOut, len(events))
	for i, e := range events {
		outs[i] = bspOut{typ: OSPEventType(e.Type), data: e.Body}
	}
	snap := s.view()
	sv := snap.BSP.Serving
	if sv == nil {
		return nil
	}
	origin := "http://" + snap.Config.Listen
	type batch struct {
		loc bspLoc
		evs []storage.BSPEvent
	}
	var batches []batch
	for key, caps := range sv.Capabilities(sv.Surface) {
		if cp, ok := caps["agents.events"]; !ok || !cp.Serves("GET /events") {
			continue
		}
		loc := newBSPLoc(sv.Surface, key, origin, *snap.Config)
		evs, err := s.prepareBSPEvents(loc, outs)
		if err != nil {
			return err
		}
		batches = append(batches, batch{loc, evs})
	}
	if len(batches) == 0 {
		return nil
	}
	return s.db.Update(ctx, func(tx *storage.Tx) error {
		for _, b := range batches {
			if err := s.appendBSPEvents(ctx, tx, b.loc, b.evs); err != nil {
				return err
			}
		}
		return nil
	})
}

// ErrNoService is Emit's error for a service the served root manifest does not have.
var ErrNoService = errors.New("the served BSP manifest has no such service")

// Emit publishes one event of type typ with data (JSON) on the log of a root manifest's service,
// in its own transaction, as if a handler had produced it: its subscriptions, webhooks and open
// streams see it. Test harnesses and the host call it. It returns the stored event, or
// ErrNoService, an envelope error for data that is not JSON, or the database's error.
func (s *Engine) Emit(ctx context.Context, service, typ string, data []byte) (storage.BSPEvent, error) {
	snap := s.view()
	if snap.BSP.Serving == nil || !slices.Contains(snap.BSP.Serving.Surface.Services, service) {
		return storage.BSPEvent{}, ErrNoService
	}
	if !json.Valid(data) {
		return storage.BSPEvent{}, errors.New("event data is not JSON")
	}
	loc := newBSPLoc(snap.BSP.Serving.Surface, service, "http://"+snap.Config.Listen, *snap.Config)
	var ev storage.BSPEvent
	err := s.db.Update(ctx, func(tx *storage.Tx) error {
		evs, err := s.publishBSPEvents(ctx, tx, loc, []bspOut{{typ: typ, data: data}})
		if err == nil {
			ev = evs[0]
		}
		return err
	})
	return ev, err
}
