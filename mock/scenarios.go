package mock

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/oap"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/mock/scenario"
	"github.com/ospbox/ospbox/storage"
)

// Scenario rules (spec/control.md §4) are asked about every request the request log sees, after
// its body is read and before the handler runs; a rule that fires changes the answer here, in
// the protocol's own terms, so the agent under test needs no header of ospbox's.

// scenarios carries a fired rule's effect out; it is the host's, on one sandbox.
type scenarios struct{ s *Sandbox }

// Scenarios are this sandbox's scenario rules, for the UI.
func (s *Sandbox) Scenarios() *scenario.Set { return s.scenarioRules }

// OperationOf names a request's operation for match.operation; path is the request's path within
// its provider (without /providers/<slug>) or surface.
func OperationOf(protocol, method, path string) string { return operationOf(protocol, method, path) }

// operationOf names a request's operation for match.operation.
func operationOf(protocol, method, path string) string {
	switch protocol {
	case "osp":
		return osp.Operation(path, method)
	case "bsp":
		switch {
		case strings.HasPrefix(path, "/.well-known/"):
			return "bsp.discover"
		case strings.HasSuffix(path, "/events/stream"):
			return "bsp.stream"
		case strings.Contains(path, "/commands") && method == http.MethodPost:
			return "bsp.command"
		case strings.Contains(path, "/events"):
			return "bsp.events"
		case strings.Contains(path, "/queries"):
			return "bsp.query"
		case strings.Contains(path, "/subscriptions"):
			return "bsp.subscriptions"
		}
	case "oap":
		switch {
		case strings.HasPrefix(path, "/.well-known/"):
			return "oap.discover"
		case strings.Contains(path, "/events") && method == http.MethodPost:
			return "oap.event"
		case strings.Contains(path, "/traces"):
			return "oap.traces"
		case strings.HasPrefix(path, "/oap/agents"):
			return "oap.agents"
		}
	case "ospbox":
		return "ospbox.control"
	}
	return ""
}

// decide asks the rules about a request; path is the request's path within its provider or
// surface (what match.path names).
func (sc scenarios) decide(r *http.Request, protocol, provider string, body []byte) (scenario.Decision, bool) {
	if sc.s.scenarioRules.Empty() || protocol == "ospbox" && strings.HasPrefix(r.URL.Path, "/ospbox/v1/scenarios") {
		return scenario.Decision{}, false // the rules' own API is never failed by them
	}
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/providers/"+provider); ok && provider != "" {
		path = rest
	}
	return sc.s.scenarioRules.Decide(r.Context(), scenario.Call{Protocol: protocol, Provider: provider,
		Operation: operationOf(protocol, r.Method, path), Method: r.Method, Path: path, Header: r.Header, Body: body, Now: sc.s.clock.Now})
}

// apply carries out d's effect on the request and reports whether the answer is already given
// (or withheld). A provisioning failure and a stream cut travel in the request's context, which
// apply replaces in place: the handlers hold r itself.
func (sc scenarios) apply(w http.ResponseWriter, rec *recorder, r *http.Request, protocol string, d scenario.Decision,
	serve func(*recorder, *http.Request)) bool {
	e := d.Effect
	switch e.Kind() {
	case "error":
		if rec.Header().Get("X-Request-Id") == "" {
			rec.Header().Set("X-Request-Id", kernel.NewID("req_", sc.s.clock.Now())) // the journal and the agent's logs can name it
		}
		writeScenarioError(rec, protocol, e, d.RuleID)
		return true
	case "latency":
		if !sc.wait(r.Context(), d.Delay()) {
			rec.withheld = true
			return true
		}
	case "provisioning":
		code := e.Error
		if code == "" {
			code = "provisioning_failed"
		}
		*r = *r.WithContext(kernel.WithProvisioningFailure(r.Context(), kernel.ProvisioningFailure{
			After: time.Duration(e.AfterSeconds) * time.Second, Code: code, Message: e.Message}))
	case "stream":
		rec.cutAfter = e.Events
		ctx, cancel := context.WithCancel(r.Context())
		rec.cut = cancel
		*r = *r.WithContext(ctx)
	case "network":
		sc.network(w, rec, r, e, serve)
		return true
	}
	return false
}

// wait sleeps for d unless the client leaves or the sandbox stops first.
func (sc scenarios) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-sc.s.stop:
	}
	return false
}

// writeScenarioError answers in the protocol's envelope with the code's own status.
func writeScenarioError(w http.ResponseWriter, protocol string, e scenario.Effect, rule string) {
	msg := e.Message
	if msg == "" {
		msg = "scenario rule " + rule + " answers " + e.Error
	}
	retry := -1
	if e.RetryAfterSeconds != nil {
		retry = *e.RetryAfterSeconds
	}
	status := 0
	switch protocol {
	case "bsp":
		status = manifests.BSPErrorStatus(e.Error)
	case "oap":
		status = manifests.OAPErrorStatus(e.Error)
	}
	if status == 0 {
		if oe, ok := osp.FaultError(e.Error, retry, msg); ok {
			osp.WriteError(w, oe)
			return
		}
		status = http.StatusInternalServerError
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	if protocol == "oap" {
		oap.WriteError(w, status, e.Error, msg)
		return
	}
	bsp.WriteError(w, status, e.Error, msg, nil)
}

// network does a network fault for real, on the connection: reset before a byte, headers and
// then a closed connection, part of the body and a close, the body at a trickle, or no answer.
func (sc scenarios) network(w http.ResponseWriter, rec *recorder, r *http.Request, e scenario.Effect, serve func(*recorder, *http.Request)) {
	rec.withheld = true
	switch e.Network {
	case "reset":
		if conn := hijack(w); conn != nil {
			if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
				tc.SetLinger(0) // close sends RST, not FIN
			}
			conn.Close()
		}
		return
	case "hang":
		sc.wait(r.Context(), 24*time.Hour) // until the client gives up or ospbox stops
		if conn := hijack(w); conn != nil {
			conn.Close()
		}
		return
	}
	// The rest send (part of) the normal answer: make it first, off the wire.
	buf := &memoryResponse{header: http.Header{}}
	inner := &recorder{ResponseWriter: buf}
	kernel.NotWhole(r) // what the handler writes is not what leaves
	serve(inner, r)
	if inner.status == 0 {
		inner.WriteHeader(http.StatusOK)
	}
	rec.status, rec.logBody = inner.status, inner.logBody
	rec.body.Write(inner.body.Bytes())
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	body := buf.body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	switch e.Network {
	case "dribble":
		rec.withheld = false
		w.WriteHeader(buf.status)
		rc := http.NewResponseController(w)
		step := max(1, e.BytesPerSecond/20) // twenty writes a second
		for len(body) > 0 {
			n := min(step, len(body))
			if _, err := w.Write(body[:n]); err != nil {
				return
			}
			rc.Flush()
			body = body[n:]
			if len(body) > 0 && !sc.wait(r.Context(), time.Duration(n)*time.Second/time.Duration(e.BytesPerSecond)) {
				return
			}
		}
	case "close_after_headers", "truncate":
		conn := hijack(w)
		if conn == nil {
			return
		}
		defer conn.Close()
		var head bytes.Buffer
		fmt.Fprintf(&head, "HTTP/1.1 %d %s\r\n", buf.status, http.StatusText(buf.status))
		w.Header().Write(&head)
		head.WriteString("\r\n")
		if e.Network == "truncate" {
			head.Write(body[:min(e.Bytes, len(body))])
		}
		conn.Write(head.Bytes())
	}
}

// hijack takes the connection from net/http; nil when the writer cannot give it up.
func hijack(w http.ResponseWriter) net.Conn {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	if brw != nil && brw.Writer.Buffered() > 0 {
		brw.Flush()
	}
	return conn
}

// failDelivery asks the rules about a webhook delivery due to the agent (operation
// osp.webhook_delivery or bsp.webhook_delivery; path is the receiver's). A rule's "fail" records
// a failed attempt with its status and leaves the retry schedule to go on; "drop" loses the
// delivery (failed, no retries), as a lost webhook would be. It reports whether a rule took it.
func (sc scenarios) failDelivery(ctx context.Context, d storage.Delivery) bool {
	protocol := "osp"
	if strings.HasPrefix(d.ResourceID, bsp.DeliveryPrefix) {
		protocol = "bsp"
	}
	path := d.URL
	if u, err := url.Parse(d.URL); err == nil {
		path = u.Path
	}
	provider := ""
	if protocol == "osp" {
		// The delivery names its resource; match.provider names the resource's provider.
		for _, p := range sc.s.Snapshot().Providers {
			if _, err := sc.s.db.Resource(ctx, p.Slug, d.ResourceID); err == nil {
				provider = p.Slug
				break
			}
		}
	}
	dec, ok := sc.s.scenarioRules.Decide(ctx, scenario.Call{Protocol: protocol, Provider: provider, Operation: protocol + ".webhook_delivery",
		Method: http.MethodPost, Path: path, Header: http.Header{}, Body: d.Body, Now: sc.s.clock.Now})
	if !ok || dec.Effect.Kind() != "webhook" {
		return false
	}
	d.Attempts++
	now := time.Now().UTC()
	if dec.Effect.Webhook == "drop" {
		d.Attempts = max(d.Attempts, kernel.MaxAttempts)
		kernel.RecordAttempt(ctx, sc.s.db, sc.s.log, d, 0, "dropped by scenario rule "+dec.RuleID, now)
		return true
	}
	status := dec.Effect.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	kernel.RecordAttempt(ctx, sc.s.db, sc.s.log, d, status, "failed by scenario rule "+dec.RuleID, now)
	return true
}
