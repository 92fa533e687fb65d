package bsp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Body limits of spec/bsp.md §14 beyond the byte size.
const (
	bspMaxDepth     = 64
	bspMaxArray     = 10000
	bspMaxStringLen = 64 << 10
)

var (
	bspTypePattern     = regexp.MustCompile(`^[A-Z][a-zA-Z0-9]*$`)
	relativeDataschema = regexp.MustCompile(`^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/(\d+(?:\.\d+){0,2})$`)
	commandsPathSuffix = regexp.MustCompile(`/commands/([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/(\d+(?:\.\d+){0,2})$`)
)

// envelopeAttributes are the CloudEvents attributes a BSP envelope may carry (spec/bsp.md §7).
var envelopeAttributes = []string{"specversion", "id", "source", "type", "datacontenttype", "dataschema", "time", "data"}

// bspFieldError is one entry of details.errors.
type bspFieldError struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// decodeBSPBody parses a request body under the limits of spec/bsp.md §14; on failure it has
// written the error.
func decodeBSPBody(w http.ResponseWriter, r *http.Request, limit int64) (*jsondoc.Document, bool) {
	raw := kernel.ReadBody(r)
	if int64(len(raw)) > limit {
		WriteError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", fmt.Sprintf("the body is %d bytes; the limit is %d (bsp.max_body_bytes)", len(raw), limit), nil)
		return nil, false
	}
	doc, err := jsondoc.Parse(raw)
	if err != nil {
		msg := err.Error()
		var se *jsondoc.SyntaxError
		if errors.As(err, &se) {
			line, col := doc.Position(se.Offset)
			msg = fmt.Sprintf("%s at line %d, column %d", se.Msg, line, col)
		}
		WriteError(w, http.StatusBadRequest, "INVALID_JSON", "the body is not JSON: "+msg, nil)
		return nil, false
	}
	if len(doc.Duplicates) > 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_JSON", fmt.Sprintf("member %q appears twice", doc.Duplicates[0].Name), nil)
		return nil, false
	}
	if why := bspLimitBreach(doc.Root, 0); why != "" {
		WriteError(w, http.StatusBadRequest, "INVALID_JSON", why, nil)
		return nil, false
	}
	return doc, true
}

// bspLimitBreach says which nesting or length limit a value breaks, or "".
func bspLimitBreach(n *jsondoc.Node, depth int) string {
	if depth > bspMaxDepth {
		return fmt.Sprintf("the body nests deeper than %d levels", bspMaxDepth)
	}
	switch n.Kind {
	case jsondoc.String:
		if len(n.Text) > bspMaxStringLen {
			return fmt.Sprintf("a string is longer than %d bytes", bspMaxStringLen)
		}
	case jsondoc.Array:
		if len(n.Items) > bspMaxArray {
			return fmt.Sprintf("an array has more than %d elements", bspMaxArray)
		}
		for _, it := range n.Items {
			if why := bspLimitBreach(it, depth+1); why != "" {
				return why
			}
		}
	case jsondoc.Object:
		for _, m := range n.Members {
			if len(m.Name) > bspMaxStringLen {
				return fmt.Sprintf("a member name is longer than %d bytes", bspMaxStringLen)
			}
			if why := bspLimitBreach(m.Value, depth+1); why != "" {
				return why
			}
		}
	}
	return ""
}

// CheckEnvelope validates a command envelope for a generation (spec/bsp.md §7) and returns the
// violations, each with its JSON Pointer.
func CheckEnvelope(env *jsondoc.Node, gen string, acceptRelative bool) []bspFieldError {
	var errs []bspFieldError
	bad := func(ptr, msg string) { errs = append(errs, bspFieldError{ptr, msg}) }
	if env.Kind != jsondoc.Object {
		return []bspFieldError{{"", "the envelope is a JSON object (a CloudEvent)"}}
	}
	str := func(name string) (string, bool) {
		v := env.Get(name)
		if v == nil {
			bad("/"+name, "missing required attribute "+name)
			return "", false
		}
		if v.Kind != jsondoc.String {
			bad("/"+name, name+" is a string")
			return "", false
		}
		return v.Text, true
	}
	if v, ok := str("specversion"); ok && v != "1.0" {
		bad("/specversion", `specversion is "1.0"`)
	}
	if v, ok := str("id"); ok && (v == "" || len(v) > 256) {
		bad("/id", "id is a non-empty string of at most 256 characters (a UUID is recommended)")
	}
	if v, ok := str("source"); ok {
		switch {
		case v == "":
			bad("/source", "source is a non-empty string")
		case gen == "0.9" && !uriReference(v):
			bad("/source", "source is a URI-reference (RFC 3986): no spaces or characters outside the URI alphabet")
		}
	}
	if v, ok := str("type"); ok && !bspTypePattern.MatchString(v) {
		bad("/type", "type is PascalCase, e.g. PlaceOrder")
	}
	if v, ok := str("datacontenttype"); ok && v != "application/json" {
		bad("/datacontenttype", `datacontenttype is "application/json"`)
	}
	if v, ok := str("dataschema"); ok {
		abs := false
		if u, err := url.Parse(v); err == nil && u.IsAbs() && u.Host != "" {
			abs = true
		}
		relOK := relativeDataschema.MatchString(v) && (gen != "0.9" || acceptRelative)
		if !abs && !relOK {
			msg := "dataschema is an absolute URI (…/commands/<schema>/<version>)"
			if gen != "0.9" {
				msg += " or the relative <schema>/<version>"
			}
			bad("/dataschema", msg)
		}
	}
	if v, ok := str("time"); ok {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			bad("/time", "time is an RFC 3339 timestamp, e.g. 2026-04-10T09:20:00Z")
		}
	}
	if d := env.Get("data"); d == nil {
		bad("/data", "missing required attribute data")
	} else if d.Kind != jsondoc.Object {
		bad("/data", "data is an object")
	}
	if gen != "0.9" {
		for _, m := range env.Members {
			if !slices.Contains(envelopeAttributes, m.Name) {
				bad("/"+jsondoc.PointerToken(m.Name), fmt.Sprintf("attribute %q is not allowed: %s envelopes are closed", m.Name, gen))
			}
		}
	}
	return errs
}

// uriReference reports whether s parses as an RFC 3986 URI-reference without spaces or
// control characters.
func uriReference(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r > 0x7e || strings.ContainsRune(`"<>\^{|}`+"`", r) {
			return false
		}
	}
	_, err := url.Parse(s)
	return err == nil
}

// listBSPCommands is GET /commands (spec/bsp.md §8.1).
func (s *Engine) listBSPCommands(w http.ResponseWriter, c *bspCall) {
	list := []map[string]any{}
	for _, e := range catalogKind(c.surface.Catalog, "commands") {
		if !c.mayCommand(e.Type) {
			continue
		}
		item := map[string]any{"schema": e.Schema, "version": e.Version, "dataschema": c.base + "/commands/" + e.Schema + "/" + e.Version}
		if d := e.Doc.Str("description"); d != "" {
			item["description"] = d
		}
		list = append(list, item)
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"commands": list})
}

// resolveCommandSchema finds the catalogue entry an envelope's type and dataschema name
// (spec/bsp.md §8.3 step 3).
func resolveCommandSchema(c *bspCall, typ, dataschema string) (manifests.CatalogEntry, *bspFailure) {
	entries := catalogKind(c.surface.Catalog, "commands")
	var ofType []manifests.CatalogEntry
	for _, e := range entries {
		if e.Type == typ {
			ofType = append(ofType, e)
		}
	}
	if len(ofType) == 0 {
		known := []string{}
		for _, e := range entries {
			if !slices.Contains(known, e.Type) {
				known = append(known, e.Type)
			}
		}
		return manifests.CatalogEntry{}, &bspFailure{http.StatusUnprocessableEntity, "UNKNOWN_COMMAND_TYPE", "type " + typ + " is not in this service's command catalogue", map[string]any{"types": known}}
	}
	if e, ok := commandEntry(c.surface.Catalog, dataschema); ok {
		if e.Type != typ {
			return e, &bspFailure{http.StatusUnprocessableEntity, "DATASCHEMA_MISMATCH", fmt.Sprintf("dataschema names %s/%s, which is type %s, not %s", e.Schema, e.Version, e.Type, typ), nil}
		}
		return e, nil
	}
	versions := []string{}
	for _, e := range ofType {
		versions = append(versions, c.base+"/commands/"+e.Schema+"/"+e.Version)
	}
	return manifests.CatalogEntry{}, &bspFailure{http.StatusUnprocessableEntity, "DATASCHEMA_MISMATCH", "dataschema " + dataschema + " is not an entry of this service's command catalogue", map[string]any{"dataschemas": versions}}
}

// commandEntry finds the command document a dataschema names: any absolute URI whose path ends
// in /commands/<schema>/<version>, or the relative <schema>/<version>.
func commandEntry(cat *manifests.Catalog, dataschema string) (manifests.CatalogEntry, bool) {
	m := relativeDataschema.FindStringSubmatch(dataschema)
	if m == nil {
		if u, err := url.Parse(dataschema); err == nil {
			m = commandsPathSuffix.FindStringSubmatch(u.Path)
		}
	}
	if m == nil {
		return manifests.CatalogEntry{}, false
	}
	return catalogEntry(cat, "commands", m[1], m[2])
}

// bspFailure is an error answer decided inside a handler.
type bspFailure struct {
	status  int
	code    string
	message string
	details map[string]any
}

func (f *bspFailure) Error() string { return f.message }

func (f *bspFailure) write(w http.ResponseWriter) {
	WriteError(w, f.status, f.code, f.message, f.details)
}

// bspFailed answers err, when there is one: a *bspFailure as itself, anything else as 500
// INTERNAL. It reports whether it answered.
func bspFailed(w http.ResponseWriter, err error) bool {
	var f *bspFailure
	switch {
	case err == nil:
		return false
	case errors.As(err, &f):
		f.write(w)
	default:
		WriteError(w, http.StatusInternalServerError, "INTERNAL", err.Error(), nil)
	}
	return true
}

// postBSPCommand is POST /commands, in the order spec/bsp.md §8.3 prescribes.
func (s *Engine) postBSPCommand(w http.ResponseWriter, r *http.Request, c *bspCall) {
	doc, ok := decodeBSPBody(w, r, c.cfg.BSP.BodyLimit())
	if !ok {
		return
	}
	env := doc.Root
	if errs := CheckEnvelope(env, c.gen, c.cfg.BSP.AcceptRelativeDataschema); len(errs) > 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_ENVELOPE", "the envelope is not a valid "+c.gen+" command: "+errs[0].Message, map[string]any{"errors": errs})
		return
	}
	typ := env.Str("type")
	entry, fail := resolveCommandSchema(c, typ, env.Str("dataschema"))
	if fail != nil {
		fail.write(w)
		return
	}
	if !c.mayCommand(typ) {
		WriteError(w, http.StatusForbidden, "COMMAND_NOT_PERMITTED", "this credential may not submit "+typ+" (its allow list in bsp.credentials)", nil)
		return
	}
	if fails := manifests.CheckData(entry.DataSchema(), env.Get("data"), "the command's data"); len(fails) > 0 {
		errs := make([]bspFieldError, 0, len(fails))
		for _, f := range fails {
			errs = append(errs, bspFieldError{"/data" + f.Pointer, f.Message})
		}
		WriteError(w, http.StatusBadRequest, "VALIDATION_FAILED", "data does not match "+entry.Schema+"/"+entry.Version+": "+errs[0].Message, map[string]any{"errors": errs})
		return
	}
	outcome := "success"
	if strings.EqualFold(r.Header.Get("X-Ospbox-Outcome"), "failure") {
		outcome = "failure"
	}
	fp := commandFingerprint(env)
	id := env.Str("id")
	now := s.clock.Now()
	replayed := false
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		prev, err := tx.BSPCommandByID(r.Context(), c.scope, c.principal, id, now.Add(-c.cfg.BSP.IdempotencyWindow()))
		if err == nil {
			if prev.Fingerprint != fp {
				return &bspFailure{http.StatusConflict, "DUPLICATE_COMMAND_ID", "command id " + id + " was already used with a different payload", nil}
			}
			replayed = true
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		cmd := storage.BSPCommand{Scope: c.scope, Service: c.service, Principal: c.principal, ID: id, Fingerprint: fp, Type: typ,
			Outcome: outcome, Status: "processed", Envelope: string(jsondoc.Compact(env)), At: now}
		handler, running, err := s.bspHandler(r.Context(), tx, c, typ)
		if err != nil {
			return err
		}
		cmd.Handler = handler
		if !running {
			cmd.Status = "queued"
		}
		if err := tx.PutBSPCommand(r.Context(), cmd); err != nil {
			return err
		}
		if running {
			return s.processBSPCommand(r.Context(), tx, c.loc(), cmd, entry)
		}
		return nil
	})
	if bspFailed(w, err) {
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", c.base+"/events?correlationId="+url.QueryEscape(id))
	kernel.WriteJSON(w, http.StatusCreated, map[string]any{"id": id})
}

// commandFingerprint is the hash of the canonical JSON of type, source, dataschema and data:
// what an idempotent replay must repeat (spec/bsp.md §8.3 step 6).
func commandFingerprint(env *jsondoc.Node) string {
	n := jsondoc.NewObject()
	for _, k := range []string{"type", "source", "dataschema", "data"} {
		if v := env.Get(k); v != nil {
			n.Set(k, v)
		}
	}
	sum := sha256.Sum256(jsondoc.Canonical(n))
	return hex.EncodeToString(sum[:])
}

// bspLoc is where events are published: a service of a manifest, with what publishing needs.
type bspLoc struct {
	scope, service, gen, base string
	surface                   manifests.Surface
	logSize                   int
}

// newBSPLoc is the service key of a manifest (root or tenant) served at origin.
func newBSPLoc(surface manifests.Surface, service, origin string, cfg manifests.Config) bspLoc {
	return bspLoc{scope: surface.Tenant, service: service, gen: surface.Generation, base: kernel.BSPMount(origin, surface.Tenant) + service,
		surface: surface, logSize: cfg.BSP.LogSize()}
}

func (c *bspCall) loc() bspLoc {
	return bspLoc{scope: c.scope, service: c.service, gen: c.gen, base: c.base, surface: c.surface, logSize: c.cfg.BSP.LogSize()}
}

// processBSPCommand publishes a command's outcome events (spec/bsp.md §8.4): x-ospbox.emit,
// else the first success type of produces; with the failure outcome, the first failure type.
func (s *Engine) processBSPCommand(ctx context.Context, tx *storage.Tx, loc bspLoc, cmd storage.BSPCommand, entry manifests.CatalogEntry) error {
	envDoc, err := jsondoc.Parse([]byte(cmd.Envelope))
	if err != nil {
		return err
	}
	data := envDoc.Root.Get("data")
	type out struct {
		typ   string
		data  *jsondoc.Node
		delay time.Duration
	}
	var outs []out
	failure := func(t string) bool {
		return strings.HasSuffix(t, "Failed") || strings.HasSuffix(t, "Failure") || strings.HasSuffix(t, "Rejected")
	}
	emit := entry.Doc.Get("x-ospbox").Get("emit")
	switch {
	case cmd.Outcome == "failure":
		for _, t := range entry.Produces {
			if failure(t) {
				reason := jsondoc.NewObject()
				reason.Set("reason", jsondoc.NewString("ospbox simulated failure"))
				outs = append(outs, out{typ: t, data: reason})
				break
			}
		}
	case emit != nil && emit.Kind == jsondoc.Array:
		var delay time.Duration
		for _, e := range emit.Items {
			d := data.Clone()
			for _, m := range e.Get("data").Fields() {
				d.Set(m.Name, m.Value.Clone())
			}
			delay += time.Duration(e.Get("delay_ms").Int()) * time.Millisecond
			outs = append(outs, out{typ: e.Str("type"), data: d, delay: delay})
		}
	default:
		for _, t := range entry.Produces {
			if !failure(t) {
				outs = append(outs, out{typ: t, data: data.Clone()})
				break
			}
		}
	}
	for _, o := range outs {
		if o.delay == 0 {
			if _, err := s.publishBSPEvent(ctx, tx, loc, o.typ, o.data, cmd.ID); err != nil {
				return err
			}
			continue
		}
		o := o
		tx.AfterCommit(func() {
			s.delayed.Add(1)
			time.AfterFunc(o.delay, func() {
				defer s.delayed.Add(-1)
				err := s.db.Update(context.Background(), func(tx *storage.Tx) error {
					_, err := s.publishBSPEvent(context.Background(), tx, loc, o.typ, o.data, cmd.ID)
					return err
				})
				if err != nil && !s.stopped() {
					s.log.Error("bsp delayed event", "type", o.typ, "err", err)
				}
			})
		})
	}
	return nil
}

// bspHandler picks the descriptor that handles a command type (spec/bsp.md §8.4): the first
// declared descriptor, then registered one, that accepts it; "" (the service itself, always
// running) when none does.
func (s *Engine) bspHandler(ctx context.Context, tx *storage.Tx, c *bspCall, typ string) (string, bool, error) {
	descs, err := s.bspDescriptors(ctx, tx, c.surface, c.scope, c.service)
	if err != nil {
		return "", false, err
	}
	for _, d := range descs {
		if slices.Contains(d.Accepts, typ) {
			return d.ID, d.Status == "running", nil
		}
	}
	return "", true, nil
}

// drainBSPQueue runs the queued commands of one service whose handler is running now, in
// arrival order.
func (s *Engine) drainBSPQueue(ctx context.Context, tx *storage.Tx, loc bspLoc) error {
	queued, err := tx.QueuedBSPCommands(ctx, loc.scope, loc.service)
	if err != nil || len(queued) == 0 {
		return err
	}
	descs, err := s.bspDescriptors(ctx, tx, loc.surface, loc.scope, loc.service)
	if err != nil {
		return err
	}
	status := map[string]string{"": "running"}
	for _, d := range descs {
		status[d.ID] = d.Status
	}
	for _, cmd := range queued {
		if status[cmd.Handler] != "running" {
			continue
		}
		// The version the command named; gone when the catalogue changed while it waited.
		env, err := jsondoc.Parse([]byte(cmd.Envelope))
		if err != nil {
			return err
		}
		if entry, ok := commandEntry(loc.surface.Catalog, env.Root.Str("dataschema")); ok {
			if err := s.processBSPCommand(ctx, tx, loc, cmd, entry); err != nil {
				return err
			}
		}
		if err := tx.MarkBSPCommandProcessed(ctx, cmd.Seq); err != nil {
			return err
		}
	}
	return nil
}

// DrainQueues runs queued commands everywhere their handler now runs: the host calls it after
// a reload of the BSP manifest or the settings. Failures are logged (the commands stay queued).
func (s *Engine) DrainQueues(ctx context.Context) {
	snap := s.view()
	sv := snap.BSP.Serving
	if sv == nil {
		return
	}
	origin := "http://" + snap.Config.Listen
	err := s.db.Update(ctx, func(tx *storage.Tx) error {
		for _, surface := range sv.Surfaces() {
			for _, key := range surface.Services {
				if err := s.drainBSPQueue(ctx, tx, newBSPLoc(surface, key, origin, *snap.Config)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil && !s.stopped() {
		s.log.Error("bsp queued commands", "err", err)
	}
}
