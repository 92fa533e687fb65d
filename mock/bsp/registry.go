package bsp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// bspDescriptor is a service descriptor with its live status: declared in the manifest's agents[]
// or registered through 0.6's POST /services.
type bspDescriptor struct {
	ID          string
	Accepts     []string
	Produces    []string
	Status      string
	Declared    bool
	HeartbeatAt *time.Time
	Node        *jsondoc.Node // the descriptor as declared or registered
}

// Webhook returns the descriptor's own webhook target and secret.
func (d bspDescriptor) Webhook() (string, string) {
	wh := d.Node.Get("webhook")
	return wh.Str("url"), wh.Str("secret")
}

// public is the descriptor as the API shows it: live status, no webhook secret.
func (d bspDescriptor) public() *jsondoc.Node {
	n := d.Node.Clone()
	n.Set("status", jsondoc.NewString(d.Status))
	if wh := n.Get("webhook"); wh != nil {
		wh.Delete("secret")
	}
	return n
}

// bspDescriptors lists the descriptors of one service: the manifest's, then the registered ones,
// with the registry's live status (tx nil reads outside a transaction).
func (s *Engine) bspDescriptors(ctx context.Context, tx *storage.Tx, surface manifests.Surface, scope, service string) ([]bspDescriptor, error) {
	var recs []storage.BSPService
	var err error
	if tx != nil {
		recs, err = tx.BSPServices(ctx, scope, service)
	} else {
		recs, err = s.db.BSPServices(ctx, scope, service)
	}
	if err != nil {
		return nil, err
	}
	byID := map[string]storage.BSPService{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	var out []bspDescriptor
	declared := map[string]bool{}
	for _, n := range bspBody(surface).Get("agents").List() {
		d := descriptorOf(n)
		d.Declared = true
		declared[d.ID] = true
		if r, ok := byID[d.ID]; ok {
			if r.Deleted {
				continue
			}
			d = overlay(d, r)
		}
		out = append(out, d)
	}
	for _, r := range recs {
		if declared[r.ID] || r.Deleted || r.Descriptor == "" {
			continue
		}
		doc, err := jsondoc.Parse([]byte(r.Descriptor))
		if err != nil {
			continue
		}
		out = append(out, overlay(descriptorOf(doc.Root), r))
	}
	return out, nil
}

func descriptorOf(n *jsondoc.Node) bspDescriptor {
	return bspDescriptor{ID: n.Str("id"), Accepts: n.Get("accepts").Strings(), Produces: n.Get("produces").Strings(), Status: n.Str("status"), Node: n}
}

// overlay applies a registry record to a descriptor: a re-registered body, the live status.
func overlay(d bspDescriptor, r storage.BSPService) bspDescriptor {
	if r.Descriptor != "" {
		if doc, err := jsondoc.Parse([]byte(r.Descriptor)); err == nil {
			declared := d.Declared
			d = descriptorOf(doc.Root)
			d.Declared = declared
		}
	}
	d.Status, d.HeartbeatAt = r.Status, r.HeartbeatAt
	return d
}

// serveBSPRegistry answers the 0.6 registry and lifecycle routes (spec/bsp.md §12).
func (s *Engine) serveBSPRegistry(w http.ResponseWriter, r *http.Request, c *bspCall, route string, params []string) {
	ctx := r.Context()
	if route == "/services" && r.Method == http.MethodPost {
		s.registerBSPService(w, r, c)
		return
	}
	descs, err := s.bspDescriptors(ctx, nil, c.surface, c.scope, c.service)
	if bspFailed(w, err) {
		return
	}
	if route == "/services" {
		list := make([]any, 0, len(descs))
		for _, d := range descs {
			list = append(list, d.public().RawOr("null"))
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"services": list})
		return
	}
	id := params[0]
	i := slices.IndexFunc(descs, func(d bspDescriptor) bool { return d.ID == id })
	if i < 0 {
		WriteError(w, http.StatusNotFound, "SERVICE_NOT_FOUND", "no service "+id+" in the registry", nil)
		return
	}
	d := descs[i]
	if route == "/services/{id}" && r.Method != http.MethodDelete {
		kernel.WriteJSON(w, http.StatusOK, d.public().RawOr("null"))
		return
	}
	now := s.clock.Now()
	err = s.db.Update(ctx, func(tx *storage.Tx) error {
		rec := storage.BSPService{Scope: c.scope, Service: c.service, ID: id, Status: d.Status, HeartbeatAt: d.HeartbeatAt}
		cur, err := tx.BSPServices(ctx, c.scope, c.service)
		if err != nil {
			return err
		}
		for _, r := range cur {
			if r.ID == id {
				rec.Descriptor, rec.BeforeError = r.Descriptor, r.BeforeError
			}
		}
		switch route {
		case "/services/{id}":
			if _, err := tx.DeleteBSPSubscriptions(ctx, c.scope, c.service, id, true); err != nil {
				return err
			}
			if !d.Declared {
				return tx.DeleteBSPService(ctx, c.scope, c.service, id)
			}
			rec.Deleted = true
		case "/services/{id}/pause":
			if rec.Status == "running" {
				rec.Status = "paused"
			}
		case "/services/{id}/resume":
			rec.Status = "running"
		case "/services/{id}/heartbeat":
			rec.HeartbeatAt = &now
			if rec.Status == "error" && rec.BeforeError != "" {
				rec.Status, rec.BeforeError = rec.BeforeError, ""
			}
		}
		if err := tx.PutBSPService(ctx, rec); err != nil {
			return err
		}
		if rec.Status == "running" {
			return s.drainBSPQueue(ctx, tx, c.loc())
		}
		return nil
	})
	if bspFailed(w, err) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// registerBSPService is POST /services: an upsert (spec/bsp.md §12).
func (s *Engine) registerBSPService(w http.ResponseWriter, r *http.Request, c *bspCall) {
	doc, ok := decodeBSPBody(w, r, c.cfg.BSP.BodyLimit())
	if !ok {
		return
	}
	body := doc.Root
	if errs := checkDescriptor(body); len(errs) > 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_REQUEST", "the service registration is not valid: "+errs[0].Message, map[string]any{"errors": errs})
		return
	}
	if u := body.Get("webhook").Str("url"); u != "" {
		if terr := kernel.WebhookTargetError(u, c.cfg.Webhooks.AllowLoopback); terr != nil {
			WriteError(w, http.StatusBadRequest, "WEBHOOK_URL_REJECTED", "webhook.url is not allowed: "+terr.Error(), map[string]any{"reason": terr.Error()})
			return
		}
	}
	id := body.Str("id")
	var out bspDescriptor
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		descs, err := s.bspDescriptors(r.Context(), tx, c.surface, c.scope, c.service)
		if err != nil {
			return err
		}
		status := "running"
		for _, d := range descs {
			if d.ID == id {
				status = d.Status
			}
		}
		rec := storage.BSPService{Scope: c.scope, Service: c.service, ID: id, Descriptor: string(jsondoc.Compact(body)), Status: status}
		if err := tx.PutBSPService(r.Context(), rec); err != nil {
			return err
		}
		out = overlay(descriptorOf(body), rec)
		return nil
	})
	if bspFailed(w, err) {
		return
	}
	kernel.WriteJSON(w, http.StatusOK, out.public().RawOr("null"))
}

// checkDescriptor validates a service registration body (closed; spec/bsp.md §2.1, §12).
func checkDescriptor(n *jsondoc.Node) []bspFieldError {
	var errs []bspFieldError
	bad := func(ptr, msg string) { errs = append(errs, bspFieldError{ptr, msg}) }
	if n.Kind != jsondoc.Object {
		return []bspFieldError{{"", "the body is a service descriptor object"}}
	}
	for _, k := range []string{"id", "name"} {
		if v := n.Get(k); v == nil || v.Kind != jsondoc.String || v.Text == "" {
			bad("/"+k, k+" is a required non-empty string")
		}
	}
	for _, k := range []string{"accepts", "produces"} {
		v := n.Get(k)
		if v == nil || v.Kind != jsondoc.Array {
			bad("/"+k, k+" is a required array of PascalCase types")
			continue
		}
		for i, it := range v.Items {
			if it.Kind != jsondoc.String || !bspTypePattern.MatchString(it.Text) {
				bad(fmt.Sprintf("/%s/%d", k, i), "types are PascalCase, e.g. PlaceOrder")
			}
		}
	}
	for _, m := range n.Members {
		ptr := "/" + jsondoc.PointerToken(m.Name)
		switch m.Name {
		case "id", "name", "accepts", "produces":
		case "description", "version", "type":
			if m.Value.Kind != jsondoc.String {
				bad(ptr, m.Name+" is a string")
			}
		case "endpoint":
			if u, err := url.Parse(m.Value.Text); m.Value.Kind != jsondoc.String || err != nil || !u.IsAbs() {
				bad(ptr, "endpoint is an absolute URI")
			}
		case "status":
			if !slices.Contains([]string{"running", "paused", "stopped", "error"}, m.Value.Text) {
				bad(ptr, "status is running, paused, stopped or error")
			}
		case "metadata":
			if m.Value.Kind != jsondoc.Object {
				bad(ptr, "metadata is an object")
			}
		case "webhook":
			if m.Value.Kind != jsondoc.Object || m.Value.Str("url") == "" {
				bad(ptr, "webhook is {url, secret}")
				continue
			}
			for _, wm := range m.Value.Members {
				if (wm.Name != "url" && wm.Name != "secret") || wm.Value.Kind != jsondoc.String {
					bad(ptr+"/"+jsondoc.PointerToken(wm.Name), "webhook holds the strings url and secret only")
				}
			}
		default:
			bad(ptr, fmt.Sprintf("member %q is not part of a service registration", m.Name))
		}
	}
	return errs
}

// TimeOutServices moves 0.6 services that sent a heartbeat and then fell silent for the
// heartbeat window to error (spec/bsp.md §12). The host's Tick calls it; it returns the
// database's error.
func (s *Engine) TimeOutServices(ctx context.Context, now time.Time) error {
	window := s.view().Config.BSP.HeartbeatWindow()
	if window <= 0 {
		return nil
	}
	recs, err := s.db.AllBSPServices(ctx)
	if err != nil {
		return err
	}
	var late []storage.BSPService
	for _, r := range recs {
		if r.HeartbeatAt != nil && r.Status != "error" && !r.Deleted && now.Sub(*r.HeartbeatAt) > window {
			r.BeforeError, r.Status = r.Status, "error"
			late = append(late, r)
		}
	}
	if len(late) == 0 {
		return nil
	}
	return s.db.Update(ctx, func(tx *storage.Tx) error {
		for _, r := range late {
			if err := tx.PutBSPService(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// AgentView is a BSP descriptor as the UI lists it.
type AgentView struct {
	Tenant, Service, ID, Name string
	Accepts, Produces         []string
	Status                    string
	Declared                  bool
	HeartbeatAt               *time.Time
}

// Agents lists the descriptors of every service of the served BSP manifests with their live
// status (the UI); nil when no BSP manifest is served.
func (s *Engine) Agents(ctx context.Context) []AgentView {
	sv := s.view().BSP.Serving
	if sv == nil {
		return nil
	}
	var out []AgentView
	for _, surface := range sv.Surfaces() {
		for _, key := range surface.Services {
			descs, err := s.bspDescriptors(ctx, nil, surface, surface.Tenant, key)
			if err != nil {
				continue
			}
			for _, d := range descs {
				out = append(out, AgentView{Tenant: surface.Tenant, Service: key, ID: d.ID, Name: d.Node.Str("name"), Accepts: d.Accepts,
					Produces: d.Produces, Status: d.Status, Declared: d.Declared, HeartbeatAt: d.HeartbeatAt})
			}
		}
	}
	return out
}

// Events lists up to limit of the newest events of every BSP service (the UI); nil when they
// cannot be read.
func (s *Engine) Events(ctx context.Context, limit int) []storage.BSPEvent {
	list, err := s.db.BSPEvents(ctx, storage.BSPEventQuery{AnyService: true, Newest: true, Limit: limit})
	if err != nil {
		s.log.Error("bsp events", "err", err)
	}
	return list
}
