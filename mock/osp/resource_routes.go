package osp

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// resourceRoute is one resource-scoped OSP operation on its canonical path or an alias (§5).
type resourceRoute struct {
	pattern *regexp.Regexp
	op      string // status, deprovision, credentials, rotate
	method  string
}

var resourceRoutes = []resourceRoute{
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)$`), "status", http.MethodGet},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)$`), "deprovision", http.MethodDelete},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)/status$`), "status", http.MethodGet},
	{regexp.MustCompile(`^/osp/v1/status/([^/]+)$`), "status", http.MethodGet},
	{regexp.MustCompile(`^/osp/v1/deprovision/([^/]+)$`), "deprovision", http.MethodDelete},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)/credentials$`), "credentials", http.MethodGet},
	{regexp.MustCompile(`^/osp/v1/credentials/([^/]+)$`), "credentials", http.MethodGet},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)/credentials$`), "rotate", http.MethodPost},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)/credentials/rotate$`), "rotate", http.MethodPost},
	{regexp.MustCompile(`^/osp/v1/rotate/([^/]+)$`), "rotate", http.MethodPost},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)/upgrade$`), "upgrade", http.MethodPost},
	{regexp.MustCompile(`^/osp/v1/resources/([^/]+)/usage$`), "usage", http.MethodGet},
	{regexp.MustCompile(`^/osp/v1/usage/([^/]+)$`), "usage", http.MethodGet},
}

// Operation names an OSP request's operation for scenario rules (spec/control.md §4): the
// resource routes by what they do, the rest by their path.
func Operation(path, method string) string {
	if op, _, _ := matchResourceRoute(path, method); op != "" {
		return "osp." + op
	}
	switch {
	case path == "/.well-known/osp.json" || pastVersionPath.MatchString(path):
		return "osp.discover"
	case path == "/osp/v1/provision":
		return "osp.provision"
	case path == "/osp/v1/health" || path == "/osp/v1/health/detailed":
		return "osp.health"
	case path == "/osp/v1/cost-summary" || projectCostPath.MatchString(path):
		return "osp.cost"
	case budgetPath.MatchString(path):
		return "osp.budgets"
	case webhookPath.MatchString(path):
		return "osp.webhooks"
	case eventLogPath.MatchString(path):
		return "osp.events"
	case strings.HasPrefix(path, "/osp/v1/promote/"):
		return "osp.promote"
	}
	return ""
}

// matchResourceRoute finds the operation for a path and method; allowed lists the methods the
// path accepts when none matches.
func matchResourceRoute(path, method string) (op, id string, allowed []string) {
	if !strings.HasPrefix(path, "/osp/v1/") { // every resource route is under it; discovery is not
		return "", "", nil
	}
	for _, rt := range resourceRoutes {
		m := rt.pattern.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		if rt.method == method || (method == http.MethodHead && rt.method == http.MethodGet) {
			return rt.op, m[1], nil
		}
		if !slices.Contains(allowed, rt.method) {
			allowed = append(allowed, rt.method)
		}
	}
	return "", "", allowed
}

// authorize applies spec/osp.md §19.5 for resource routes with the resource access token: a
// token must belong to this resource and still be valid; without one, only resources without
// an owner are reachable, and never the credentials.
func (s *Engine) authorize(w http.ResponseWriter, r *http.Request, res storage.Resource, op string) bool {
	auth := r.Header.Get("Authorization")
	token, hasBearer := strings.CutPrefix(auth, "Bearer ")
	unauthorized := func(msg string) bool {
		w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
		WriteError(w, &Error{Status: 401, Code: "unauthorized", Message: msg})
		return false
	}
	if kernel.IsOperator(r) {
		return true
	}
	if !hasBearer || token == "" {
		if op == "credentials" || res.Owner != "" || s.view().Config.OSP.Auth.Strict {
			return unauthorized("send the resource access token (Authorization: Bearer osp_rat_…) from the credential bundle")
		}
		return true
	}
	if !strings.HasPrefix(token, "osp_rat_") {
		// An agent identity: only the resource's owner may use it here (§19.6).
		id, ierr := s.identify(r, nil, res.Provider, s.view().Provider(res.Provider).Serving.Manifest)
		if ierr != nil {
			WriteError(w, ierr)
			return false
		}
		if id == nil || res.Owner == "" || id.Subject != res.Owner {
			WriteError(w, &Error{Status: 403, Code: "forbidden", Message: "this identity does not own " + res.ID})
			return false
		}
		return needScope(w, id, scopeFor(op))
	}
	resID, until, err := s.db.AccessToken(r.Context(), tokenHash(token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return unauthorized("unknown access token")
	case err != nil:
		WriteError(w, asError(err))
		return false
	case resID != res.ID:
		WriteError(w, &Error{Status: 403, Code: "forbidden", Message: "this access token belongs to another resource"})
		return false
	case until != nil && !s.clock.Now().Before(*until):
		w.Header().Set("X-OSP-Credentials-Rotated", "true")
		w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
		WriteError(w, &Error{Status: 401, Code: "credentials_rotated", Message: "these credentials were rotated; use the new access token from the latest bundle",
			Details: map[string]any{"resource_id": res.ID, "rotated_at": rfc3339(*until)}})
		return false
	}
	return true
}

// authorizedResource loads resource id of provider p and checks the caller may perform op on
// it; when it answers false it has already written the error.
func (s *Engine) authorizedResource(w http.ResponseWriter, r *http.Request, p *ProviderState, id, op string) (storage.Resource, bool) {
	res, err := s.db.Resource(r.Context(), p.Slug, id)
	if errors.Is(err, storage.ErrNotFound) {
		WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: "no resource " + id + " at this provider"})
		return res, false
	}
	if err != nil {
		WriteError(w, asError(err))
		return res, false
	}
	return res, s.authorize(w, r, res, op)
}

// serveResource dispatches a resource-scoped route.
func (s *Engine) serveResource(w http.ResponseWriter, r *http.Request, p *ProviderState, mount, op, id string) {
	res, ok := s.authorizedResource(w, r, p, id, op)
	if !ok {
		return
	}
	switch op {
	case "status":
		s.serveStatus(w, r, p, mount, res)
	case "deprovision":
		s.serveDeprovision(w, r, p, res)
	case "credentials":
		s.serveCredentials(w, r, p, res)
	case "rotate":
		s.serveRotate(w, r, p, res)
	case "usage":
		s.serveUsage(w, r, p, res)
	case "upgrade":
		body, oerr := optionalBody(r)
		if oerr != nil {
			WriteError(w, oerr)
			return
		}
		tc, oerr := tierChangeFrom(body, r)
		if oerr != nil {
			WriteError(w, oerr)
			return
		}
		s.serveTierChange(w, r, p, mount, res, tc)
	}
}

func (s *Engine) statusBody(mount string, res storage.Resource, now time.Time) map[string]any {
	d := decodeData(res)
	body := map[string]any{
		"resource_id": res.ID, "offering_id": res.OfferingID, "tier_id": res.TierID, "status": res.Status,
		"created_at": rfc3339(res.CreatedAt), "dashboard_url": dashboardURL(mount, res.ID),
		"region": d.Region, "expires_at": timePtrJSON(res.ExpiresAt), "sandbox": res.Sandbox,
		"updated_at": rfc3339(res.UpdatedAt), "project_id": res.ProjectID, "project_name": d.ProjectName,
		"metadata": d.Metadata, "health": "unknown", "ospbox_dataset": datasetOf(res),
	}
	if res.Status == "provisioned" {
		body["health"] = "healthy"
	}
	if res.Status == "provisioning" && res.ReadyAt != nil {
		total := res.ReadyAt.Sub(res.CreatedAt).Seconds()
		remaining := max(0, res.ReadyAt.Sub(now).Seconds())
		body["estimated_ready_seconds"] = int(remaining + 0.999)
		if total > 0 {
			body["progress"] = min(1, (total-remaining)/total)
		}
	}
	if res.DeprovisionedAt != nil {
		body["deprovisioned_at"] = rfc3339(*res.DeprovisionedAt)
	}
	if d.PromotedAt != nil {
		body["promoted_at"] = rfc3339(*d.PromotedAt)
	}
	if res.Status == "error" {
		body["error"] = failureOf(d, "the simulated provisioning failed (injected fault)")
	}
	if d.PendingTierID != "" && res.ReadyAt != nil {
		body["pending_tier_id"] = d.PendingTierID
		body["tier_change_effective_at"] = rfc3339(*res.ReadyAt)
	}
	return body
}

// serveStatus answers the status routes; the first read after an asynchronous provisioning
// completed carries the credential bundle (spec/osp.md §8).
func (s *Engine) serveStatus(w http.ResponseWriter, r *http.Request, p *ProviderState, mount string, res storage.Resource) {
	now := s.clock.Now()
	body := s.statusBody(mount, res, now)
	d := decodeData(res)
	if d.PendingBundle && res.Status == "provisioned" {
		var bundle, mirror map[string]any
		err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
			cur, err := tx.Resource(r.Context(), p.Slug, res.ID)
			if err != nil {
				return err
			}
			cd := decodeData(cur)
			if !cd.PendingBundle {
				return nil // another reader took it
			}
			cred, err := tx.LatestCredential(r.Context(), res.ID)
			if err != nil {
				return err
			}
			agent, _ := agentKeyOf(cd.AgentPublicKey)
			bundle, mirror, err = s.bundleFor(cur, cred, agent, p.Serving.key)
			if err != nil {
				return err
			}
			cd.PendingBundle = false
			cur.Data = encodeData(cd)
			return tx.PutResource(r.Context(), cur)
		})
		if err != nil {
			WriteError(w, asError(err))
			return
		}
		if bundle != nil {
			body["credentials_bundle"] = bundle
			if mirror != nil {
				body["credentials"] = mirror
			}
		}
	}
	kernel.WriteJSON(w, http.StatusOK, body)
}

func agentKeyOf(b64 string) (ed25519.PublicKey, error) {
	if b64 == "" {
		return nil, nil
	}
	return ParseAgentKey(b64)
}

// optionalBody decodes an optional JSON object body strictly; an empty body is an empty object.
func optionalBody(r *http.Request) (*jsondoc.Node, *Error) {
	raw := kernel.ReadBody(r)
	if len(strings.TrimSpace(string(raw))) == 0 {
		return jsondoc.NewObject(), nil
	}
	doc, diags := manifests.CheckMessage("messages/osp-provision-request.json", raw)
	if len(diags) > 0 && diags[0].Rule == "json_syntax" || doc == nil || doc.Root == nil {
		return nil, bodyErrors("", diags)
	}
	if doc.Root.Kind != jsondoc.Object {
		return nil, InvalidRequest("the body must be a JSON object")
	}
	return doc.Root, nil
}

// serveDeprovision answers DELETE (spec/osp.md §9).
func (s *Engine) serveDeprovision(w http.ResponseWriter, r *http.Request, p *ProviderState, res storage.Resource) {
	body, oerr := optionalBody(r)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	if reason := body.Str("reason"); len(reason) > 256 {
		WriteError(w, InvalidRequest("reason is at most 256 characters", map[string]any{"pointer": "/reason", "message": "longer than 256 characters"}))
		return
	}
	now := s.clock.Now()
	if !s.acceptNonce(w, r, p, body.Str("nonce"), now) {
		return
	}
	if res.Status == "deprovisioned" {
		WriteError(w, &Error{Status: 409, Code: "conflict", Message: res.ID + " is already deprovisioned"})
		return
	}
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		return s.deprovision(r.Context(), tx, res, now, body.Str("reason"), w.Header().Get("X-Request-Id"))
	})
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{
		"resource_id": res.ID, "status": "deprovisioned", "deprovisioned_at": rfc3339(now), "data_retained_until": nil,
		"final_usage_report": map[string]any{"report_id": kernel.NewID("rpt_", now), "total_amount": "0.00", "currency": "USD"},
	})
}

// deprovision ends a resource: status, revoked credentials, an event.
func (s *Engine) deprovision(ctx context.Context, tx *storage.Tx, res storage.Resource, now time.Time, reason, requestID string) error {
	res.Status, res.UpdatedAt, res.DeprovisionedAt, res.ReadyAt = "deprovisioned", now, &now, nil
	if err := tx.PutResource(ctx, res); err != nil {
		return err
	}
	if err := tx.RevokeCredentials(ctx, res.ID, now); err != nil {
		return err
	}
	data := map[string]any{"status": "deprovisioned", "deprovisioned_at": rfc3339(now)}
	if reason != "" {
		data["reason"] = reason
	}
	return s.event(ctx, tx, res, "resource.deprovisioned", requestID, now, data)
}

// serveCredentials answers credential retrieval (spec/osp.md §7.6).
func (s *Engine) serveCredentials(w http.ResponseWriter, r *http.Request, p *ProviderState, res storage.Resource) {
	switch res.Status {
	case "deprovisioned":
		WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: res.ID + " is deprovisioned; its credentials are revoked"})
		return
	case "provisioning":
		wait := 1
		if res.ReadyAt != nil {
			wait = max(1, int(res.ReadyAt.Sub(s.clock.Now()).Seconds()+0.999))
		}
		WriteError(w, &Error{Status: 503, Code: "provider_unavailable", Message: res.ID + " is still provisioning", RetryAfter: wait})
		return
	}
	d := decodeData(res)
	agentB64 := d.AgentPublicKey
	if h := r.Header.Get("X-OSP-Agent-Public-Key"); h != "" {
		k, err := ParseAgentKey(h)
		if err != nil {
			e := InvalidRequest(err.Error())
			e.Details = map[string]any{"field": "X-OSP-Agent-Public-Key"}
			WriteError(w, e)
			return
		}
		agentB64 = manifests.B64(k)
	}
	agent, _ := agentKeyOf(agentB64)
	var bundle, mirror map[string]any
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		cred, err := tx.LatestCredential(r.Context(), res.ID)
		if err != nil {
			return err
		}
		bundle, mirror, err = s.bundleFor(res, cred, agent, p.Serving.key)
		return err
	})
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	out := map[string]any{"resource_id": res.ID, "credentials_bundle": bundle}
	if mirror != nil {
		out["credentials"] = mirror
	}
	kernel.WriteJSON(w, http.StatusOK, out)
}

// serveRotate answers credential rotation (spec/osp.md §10).
func (s *Engine) serveRotate(w http.ResponseWriter, r *http.Request, p *ProviderState, res storage.Resource) {
	body, oerr := optionalBody(r)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	switch res.Status {
	case "deprovisioned":
		WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: res.ID + " is deprovisioned"})
		return
	case "provisioning", "error":
		WriteError(w, &Error{Status: 409, Code: "conflict", Message: res.ID + " is " + res.Status + "; rotate once it is provisioned"})
		return
	}
	now := s.clock.Now()
	if !s.acceptNonce(w, r, p, body.Str("nonce"), now) {
		return
	}
	invalidate := true
	if v := body.Get("invalidate_previous"); v != nil {
		invalidate = v.Text == "true"
	}
	grace := 300
	if v := body.Get("invalidate_previous_after_seconds"); v != nil {
		g, err := strconv.Atoi(v.Text)
		if err != nil || g < 0 || g > 3600 {
			WriteError(w, InvalidRequest("invalidate_previous_after_seconds must be an integer from 0 to 3600", map[string]any{"pointer": "/invalidate_previous_after_seconds", "message": "out of range"}))
			return
		}
		grace = g
	}
	d := decodeData(res)
	if k := body.Str("agent_public_key"); k != "" {
		key, err := ParseAgentKey(k)
		if err != nil {
			e := InvalidRequest(err.Error())
			e.Details = map[string]any{"field": "agent_public_key"}
			WriteError(w, e)
			return
		}
		d.AgentPublicKey = manifests.B64(key)
	}
	var until *time.Time
	if invalidate {
		t := now.Add(time.Duration(grace) * time.Second)
		until = &t
	}
	offering, _, _ := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
	var bundle, mirror map[string]any
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		prev, err := tx.LatestCredential(r.Context(), res.ID)
		if err != nil {
			return err
		}
		var pcv credentialVersion
		json.Unmarshal(prev.Data, &pcv)
		var schema *jsondoc.Node
		if offering != nil {
			schema = offering.Get("credentials_schema")
		}
		token := NewAccessToken()
		cv := credentialVersion{Credentials: GenerateCredentials(schema, res.ID, p.Slug, pcv.Credentials), Scope: pcv.Scope,
			PreviousBundleID: prev.ID, AgentPublicKey: d.AgentPublicKey, AccessToken: token}
		if cv.Scope == "" {
			cv.Scope = "admin"
		}
		cvBytes, _ := json.Marshal(cv)
		cred := storage.Credential{ID: kernel.NewID("bnd_", now), ResourceID: res.ID, Version: prev.Version + 1, CreatedAt: now, ExpiresAt: res.ExpiresAt, Data: cvBytes}
		if err := tx.PutCredential(r.Context(), cred); err != nil {
			return err
		}
		if err := tx.RetireAccessTokens(r.Context(), res.ID, until, ""); err != nil {
			return err
		}
		if err := tx.PutAccessToken(r.Context(), tokenHash(token), res.ID, cred.ID); err != nil {
			return err
		}
		res.Data, res.UpdatedAt = encodeData(d), now
		if err := tx.PutResource(r.Context(), res); err != nil {
			return err
		}
		agent, _ := agentKeyOf(d.AgentPublicKey)
		bundle, mirror, err = s.bundleFor(res, cred, agent, p.Serving.key)
		if err != nil {
			return err
		}
		return s.event(r.Context(), tx, res, "credentials.rotated", w.Header().Get("X-Request-Id"), now,
			map[string]any{"bundle_id": cred.ID, "version": cred.Version, "old_credentials_valid_until": timePtrJSON(until)})
	})
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	out := map[string]any{"resource_id": res.ID, "credentials_bundle": bundle, "rotated_at": rfc3339(now), "old_credentials_valid_until": timePtrJSON(until)}
	if mirror != nil {
		out["credentials"] = mirror
	}
	kernel.WriteJSON(w, http.StatusOK, out)
}

// Tick applies every timer due at or before now, in time order: asynchronous provisioning
// completes, TTLs end (sandboxes with auto_destroy are removed, others suspended; TTL live
// resources are deprovisioned); accrued usage settles and the month rolls over. The host calls
// it once a second and after the clock moves; it returns the database's error.
func (s *Engine) Tick(ctx context.Context, now time.Time) error {
	err := s.db.Update(ctx, func(tx *storage.Tx) error {
		expiring, err := tx.ExpiringResources(ctx, now.Add(time.Hour))
		if err != nil {
			return err
		}
		for _, res := range expiring {
			if err := s.expiringEvent(ctx, tx, &res, res.ExpiresAt.Add(-time.Hour)); err != nil {
				return err
			}
		}
		due, err := tx.DueResources(ctx, now)
		if err != nil {
			return err
		}
		for _, res := range due {
			if d := decodeData(res); res.Status == "provisioned" && d.PendingTierID != "" && res.ReadyAt != nil && !res.ReadyAt.After(now) {
				at := *res.ReadyAt
				previous := res.TierID
				res.TierID, res.ReadyAt, res.UpdatedAt = d.PendingTierID, nil, at
				d.PendingTierID = ""
				res.Data = encodeData(d)
				if err := tx.PutResource(ctx, res); err != nil {
					return err
				}
				if err := s.event(ctx, tx, res, "resource.tier_changed", "", at, map[string]any{"previous_tier_id": previous, "tier_id": res.TierID, "proration": map[string]any{"mode": "next_period"}}); err != nil {
					return err
				}
			}
			if res.Status == "provisioning" && res.ReadyAt != nil && !res.ReadyAt.After(now) {
				at := *res.ReadyAt
				if d := decodeData(res); d.FailOnReady {
					d.PendingBundle = false
					res.Status, res.UpdatedAt, res.ReadyAt, res.Data = "error", at, nil, encodeData(d)
					if err := tx.PutResource(ctx, res); err != nil {
						return err
					}
					if err := s.event(ctx, tx, res, "provision.failed", "", at, map[string]any{"status": "error",
						"error": failureOf(d, "injected fault")}); err != nil {
						return err
					}
					continue
				}
				res.Status, res.UpdatedAt, res.ReadyAt = "provisioned", at, nil
				if err := tx.PutResource(ctx, res); err != nil {
					return err
				}
				if err := s.event(ctx, tx, res, "resource.provisioned", "", at, map[string]any{"status": "provisioned"}); err != nil {
					return err
				}
			}
			if res.ExpiresAt == nil || res.ExpiresAt.After(now) {
				continue
			}
			at := *res.ExpiresAt
			d := decodeData(res)
			ttl := map[string]any{"action": "expired", "ttl_remaining_seconds": 0, "original_ttl_seconds": d.TTLSeconds, "extension_available": false}
			switch {
			case res.Sandbox && d.AutoDestroy:
				if err := s.event(ctx, tx, res, "environment.ttl_expired", "", at, map[string]any{"status": "deprovisioned", "ttl_event": ttl}); err != nil {
					return err
				}
				if err := tx.DeleteResource(ctx, res.ID); err != nil {
					return err
				}
			case res.Sandbox:
				res.Status, res.UpdatedAt, res.ExpiresAt = "suspended", at, nil
				if err := tx.PutResource(ctx, res); err != nil {
					return err
				}
				if err := s.event(ctx, tx, res, "environment.ttl_expired", "", at, map[string]any{"status": "suspended", "ttl_event": ttl}); err != nil {
					return err
				}
			default:
				if err := s.deprovision(ctx, tx, res, at, "ttl_expired", ""); err != nil {
					return err
				}
				if err := s.event(ctx, tx, res, "environment.ttl_expired", "", at, map[string]any{"status": "deprovisioned", "ttl_event": ttl}); err != nil {
					return err
				}
			}
		}
		// Accrued usage is settled at most once a minute of sandbox time (and whenever the
		// clock is advanced), then the month rolls over.
		if s.lastSettle.IsZero() || now.Sub(s.lastSettle) >= time.Minute || now.Month() != s.lastSettle.Month() {
			if err := s.settleAccrual(ctx, tx, now); err != nil {
				return err
			}
			s.lastSettle = now
		}
		// Every live resource is billed through the month the roll-over last ran in, so it
		// only needs to look again once the clock is in another month (or at start).
		if month := now.UTC().Format("2006-01"); month != s.rolledMonth {
			if err := s.rollover(ctx, tx, now); err != nil {
				return err
			}
			s.rolledMonth = month
		}
		return nil
	})
	if err != nil {
		// The transaction did not commit: settle and roll over again on the next tick. This
		// runs in the writer too, so it is ordered with Tick's own updates.
		s.db.Update(context.WithoutCancel(ctx), func(*storage.Tx) error {
			s.lastSettle, s.rolledMonth = time.Time{}, ""
			return nil
		})
		return err
	}
	return nil
}

// ResetTimers forgets when usage was last settled and the month last rolled over, so the next
// Tick does both afresh: the host calls it after the state was replaced (import, reset).
func (s *Engine) ResetTimers(ctx context.Context) error {
	return s.db.Update(ctx, func(*storage.Tx) error {
		s.lastSettle, s.rolledMonth = time.Time{}, ""
		return nil
	})
}

// rollover posts the monthly base charge of every live paid resource at 00:00 UTC on the 1st
// of each month the clock has passed (spec/osp.md §14.2), after any next_period tier change
// due at that instant.
func (s *Engine) rollover(ctx context.Context, tx *storage.Tx, now time.Time) error {
	month := now.UTC().Format("2006-01")
	billable, err := tx.UnbilledResources(ctx, month)
	if err != nil {
		return err
	}
	snap := s.view()
	for _, res := range billable {
		d := decodeData(res)
		p := snap.Provider(res.Provider)
		if p == nil || p.Serving == nil {
			continue
		}
		last, err := time.Parse("2006-01", d.BilledThrough)
		if err != nil {
			continue
		}
		for m := last.AddDate(0, 1, 0); !m.After(now); m = m.AddDate(0, 1, 0) {
			_, tier, ferr := findOffering(p.Serving.Manifest, res.OfferingID, res.TierID, time.Time{})
			if ferr != nil {
				break
			}
			charge, err := chargeFor(tier, false)
			if err != nil {
				return err
			}
			if charge != nil && charge.Kind == "base" {
				charge.ResourceID, charge.ProjectID, charge.Provider, charge.At = res.ID, res.ProjectID, res.Provider, m
				if err := tx.PostCharge(ctx, *charge); err != nil {
					return err
				}
			}
			d.BilledThrough = m.Format("2006-01")
		}
		res.Data = encodeData(d)
		if err := tx.PutResource(ctx, res); err != nil {
			return err
		}
	}
	return nil
}

// failureOf is the error a failed provisioning reports: the scenario rule's code and message, or
// the fault header's provisioning_failed.
func failureOf(d resourceData, message string) map[string]any {
	code := d.FailCode
	if code == "" {
		code = "provisioning_failed"
	}
	if d.FailMessage != "" {
		message = d.FailMessage
	}
	retryable := manifests.OSPRetryable(code)
	return map[string]any{"code": code, "message": message, "retryable": retryable}
}
