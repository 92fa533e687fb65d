package mock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// serveControl answers ospbox's own API under /ospbox/v1/ (not part of any protocol) and the
// embedded JSON Schemas under /schemas/. Both are read-only here: validation changes nothing.
func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request, origin string) {
	s.logged(w, r, "ospbox", "", func(w http.ResponseWriter) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch {
		case strings.HasPrefix(r.URL.Path, "/schemas/"):
			s.serveSchema(w, r, origin)
		case r.URL.Path == "/ospbox/v1/validate":
			s.serveValidate(w, r)
		case r.URL.Path == "/ospbox/v1/catalog":
			s.osp.ServeCatalog(w, r, origin)
		case r.URL.Path == "/ospbox/v1/requests" || r.URL.Path == "/ospbox/v1/requests/verify":
			journal{s}.serve(w, r)
		case r.URL.Path == "/ospbox/v1/scenarios" || strings.HasPrefix(r.URL.Path, "/ospbox/v1/scenarios/"):
			scenarios{s}.serve(w, r)
		case r.URL.Path == "/ospbox/v1/snapshots" || strings.HasPrefix(r.URL.Path, "/ospbox/v1/snapshots/"):
			s.namespaces.serveSnapshots(w, r)
		case r.URL.Path == "/ospbox/v1/namespaces" || strings.HasPrefix(r.URL.Path, "/ospbox/v1/namespaces/"):
			s.namespaces.serve(w, r, origin)
		case strings.HasPrefix(r.URL.Path, "/ospbox/v1/clock"):
			s.serveClock(w, r)
		case strings.HasPrefix(r.URL.Path, "/ospbox/v1/caps"):
			s.osp.Ledger().ServeCaps(w, r)
		case usageInjectionPath.MatchString(r.URL.Path):
			s.osp.ServeUsageInjection(w, r, usageInjectionPath.FindStringSubmatch(r.URL.Path)[1])
		default:
			osp.WriteError(w, osp.NewError("not_found", "no ospbox API at "+r.URL.Path))
		}
	})
}

// serveSchema serves one embedded schema with its $id set to where it was fetched from, so an
// editor given "$schema": "http://127.0.0.1:7410/schemas/osp/c.json" resolves its references.
// /schemas/ itself lists them.
func (s *Sandbox) serveSchema(w http.ResponseWriter, r *http.Request, origin string) {
	if !osp.Allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/schemas/")
	if name == "" {
		var list []map[string]string
		for _, n := range manifests.SchemaNames() {
			list = append(list, map[string]string{"name": n, "url": origin + "/schemas/" + n})
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"schemas": list})
		return
	}
	body, ok := manifests.SchemaBody(name, origin+"/schemas/")
	if !ok {
		osp.WriteError(w, osp.NewError("not_found", "no schema "+name+"; GET /schemas/ lists them"))
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// serveValidate is POST /ospbox/v1/validate: the body is a manifest, ?protocol=osp|bsp|oap
// (else inferred from the root key); the answer is the validator report (spec/README.md).
func (s *Sandbox) serveValidate(w http.ResponseWriter, r *http.Request) {
	if !osp.Allow(w, r, http.MethodPost) {
		return
	}
	protocol := r.URL.Query().Get("protocol")
	if protocol != "" && protocol != "osp" && protocol != "bsp" && protocol != "oap" {
		osp.WriteError(w, &osp.Error{Status: 400, Code: "invalid_request", Message: "protocol must be osp, bsp or oap",
			Details: map[string]any{"errors": []map[string]string{{"pointer": "protocol", "message": "unknown protocol " + protocol}}}})
		return
	}
	data, _ := io.ReadAll(r.Body) // already size-limited by logged
	file := r.URL.Query().Get("file")
	if file == "" {
		file = "request body"
	}
	kernel.WriteJSON(w, http.StatusOK, manifests.ValidateData(file, protocol, data))
}

// serveClock is the workspace clock API (spec/README.md, Time): GET /ospbox/v1/clock, and POST
// …/advance {"seconds": n}, …/freeze, …/resume. Advancing fires every timer that falls due, in
// order.
func (s *Sandbox) serveClock(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/ospbox/v1/clock")
	reply := func(now time.Time) {
		frozen := false
		if s.clockCtl != nil {
			frozen = s.clockCtl.Frozen()
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"now": now.UTC().Format(time.RFC3339), "frozen": frozen})
	}
	if op == "" {
		if osp.Allow(w, r, http.MethodGet, http.MethodHead) {
			reply(s.clock.Now())
		}
		return
	}
	if op != "/advance" && op != "/freeze" && op != "/resume" {
		osp.WriteError(w, osp.NewError("not_found", "no clock operation "+op+"; use /advance, /freeze or /resume"))
		return
	}
	if !osp.Allow(w, r, http.MethodPost) || osp.RefuseBrowser(w, r) {
		return
	}
	if s.clockCtl == nil {
		osp.WriteError(w, &osp.Error{Status: 409, Code: "conflict", Message: "this sandbox's clock cannot be moved"})
		return
	}
	switch op {
	case "/freeze", "/resume":
		s.SetClock(strings.TrimPrefix(op, "/"))
		reply(s.clock.Now())
	case "/advance":
		var body struct {
			Seconds *int64 `json:"seconds"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Seconds == nil || *body.Seconds < 1 {
			osp.WriteError(w, osp.InvalidRequest("the body is {\"seconds\": <integer ≥ 1>}", map[string]any{"pointer": "/seconds", "message": "an integer of at least 1 is required"}))
			return
		}
		if err := s.AdvanceClock(r.Context(), time.Duration(*body.Seconds)*time.Second); err != nil {
			osp.WriteError(w, osp.NewError("provider_error", err.Error()))
			return
		}
		reply(s.clock.Now())
	}
}

var usageInjectionPath = regexp.MustCompile(`^/ospbox/v1/resources/([^/]+)/usage$`)

// ClockState is the workspace clock as the UI shows it.
type ClockState struct {
	Now     time.Time
	Frozen  bool
	Offset  time.Duration
	Movable bool
}

// Clock reports the workspace clock.
func (s *Sandbox) Clock() ClockState {
	st := ClockState{Now: s.clock.Now()}
	if s.clockCtl != nil {
		st.Frozen, st.Offset, st.Movable = s.clockCtl.Frozen(), s.clockCtl.Offset(), true
	}
	return st
}

// AdvanceClock moves the clock forward, stopping at every timer that falls due on the way so
// each fires at its own time, in order.
func (s *Sandbox) AdvanceClock(ctx context.Context, d time.Duration) error {
	if s.clockCtl == nil {
		return errors.New("this sandbox's clock cannot be moved")
	}
	// The clock moves by exactly d in all (the steps add up to it, whatever wall-clock time
	// passes meanwhile), so +4h reads +4h, not +3h 59m.
	target := s.clock.Now().Add(d)
	var moved time.Duration
	for {
		next, err := s.db.NextTimer(ctx, s.clock.Now())
		if err != nil {
			return err
		}
		if next == nil || next.After(target) || !next.After(s.clock.Now()) {
			break
		}
		step := min(next.Sub(s.clock.Now()), d-moved)
		s.clockCtl.Advance(step)
		moved += step
		if err := s.Tick(ctx); err != nil {
			return err
		}
	}
	s.clockCtl.Advance(d - moved)
	err := errors.Join(saveClock(ctx, s.clockCtl, s.db), s.Tick(ctx))
	s.db.Feed.Publish(storage.Change{Table: "clock", Kind: "update"})
	return err
}

// saveClock stores the clock with the state (spec/control.md §5): a restart keeps it, so time
// never goes backwards for what is stored.
func saveClock(ctx context.Context, clock *WorkspaceClock, db *storage.DB) error {
	if clock == nil {
		return nil
	}
	offset, frozen := clock.State()
	return db.SaveClock(ctx, storage.ClockState{Offset: offset, FrozenAt: frozen})
}

// loadClock sets the clock from the state (after a start, an import or a reset).
func loadClock(ctx context.Context, clock *WorkspaceClock, db *storage.DB) error {
	if clock == nil {
		return nil
	}
	c, err := db.LoadClock(ctx)
	if err != nil {
		return err
	}
	clock.Restore(c.Offset, c.FrozenAt)
	return nil
}

// SetClock freezes, resumes or resets (back to wall-clock time) the clock.
func (s *Sandbox) SetClock(op string) error {
	if s.clockCtl == nil {
		return errors.New("this sandbox's clock cannot be moved")
	}
	switch op {
	case "freeze":
		s.clockCtl.Freeze()
	case "resume":
		s.clockCtl.Resume()
	case "reset":
		s.clockCtl.Reset()
	default:
		return errors.New("unknown clock operation " + op)
	}
	err := saveClock(context.Background(), s.clockCtl, s.db)
	s.db.Feed.Publish(storage.Change{Table: "clock", Kind: "update"})
	return err
}
