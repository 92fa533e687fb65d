package osp

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// provisionRequest is the union of the C, A and B request forms (spec/osp.md §6.1), merged.
type provisionRequest struct {
	OfferingID, TierID, ProjectName string
	Nonce, IdempotencyKey           string
	AgentKey                        ed25519.PublicKey
	PaymentMethod                   string
	PaymentProof                    *jsondoc.Node
	Sandbox, AutoDestroy            bool
	TTLSeconds                      int
	SeedFrom, SeedMode              string
	Region, PreferredRegion         string
	Config                          *jsondoc.Node
	Metadata                        map[string]string
	PrincipalID                     string
	Owner                           string // the verified agent's subject
	Fault                           *Error
	FaultCode                       string
	Failure                         *kernel.ProvisioningFailure // a scenario rule's (spec/control.md §4)
	WebhookURL                      string
	BudgetOverride                  bool
	Ceiling                         *jsondoc.Node // the request's own budget (§15.4)
	body                            *jsondoc.Node
}

var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// InvalidRequest is a 400 invalid_request with the pointers and messages of what is wrong.
func InvalidRequest(msg string, errs ...map[string]any) *Error {
	e := &Error{Status: 400, Code: "invalid_request", Message: msg}
	if len(errs) > 0 {
		e.Details = map[string]any{"errors": errs}
	}
	return e
}

// bodyErrors turns validator findings about a request body into the error envelope's
// details.errors, with positions so a client can find the mistake.
func bodyErrors(msg string, diags []manifests.Diagnostic) *Error {
	var errs []map[string]any
	for _, d := range diags {
		e := map[string]any{"pointer": d.Pointer, "message": d.Message}
		if d.Line > 0 {
			e["line"], e["column"] = d.Line, d.Column
		}
		errs = append(errs, e)
	}
	if len(diags) > 0 && diags[0].Rule == "json_syntax" {
		return InvalidRequest(fmt.Sprintf("the body is not valid JSON: %s (line %d, column %d)", diags[0].Message, diags[0].Line, diags[0].Column), errs...)
	}
	return InvalidRequest(msg, errs...)
}

// decodeProvision merges the dialects' members into one request, or says which members conflict.
func decodeProvision(r *http.Request, doc *jsondoc.Document) (provisionRequest, *Error) {
	b := doc.Root
	req := provisionRequest{OfferingID: b.Str("offering_id"), TierID: b.Str("tier_id"), ProjectName: b.Str("project_name"),
		Nonce: b.Str("nonce"), AutoDestroy: true, Metadata: map[string]string{}, body: b,
		PrincipalID: b.Str("principal_id"), BudgetOverride: truthy(b.Get("budget_override")), Ceiling: b.Get("budget")}
	if req.ProjectName == "" {
		req.ProjectName = "default"
	}
	bodyKey, headerKey := b.Str("idempotency_key"), r.Header.Get("Idempotency-Key")
	switch {
	case bodyKey != "" && headerKey != "" && bodyKey != headerKey:
		return req, InvalidRequest("idempotency_key and the Idempotency-Key header differ; send one, or the same value in both")
	case bodyKey != "":
		req.IdempotencyKey = bodyKey
	default:
		req.IdempotencyKey = headerKey
	}
	if req.IdempotencyKey != "" && !idempotencyKeyPattern.MatchString(req.IdempotencyKey) {
		return req, InvalidRequest("idempotency keys are 1–255 printable ASCII characters", map[string]any{"pointer": "/idempotency_key", "message": "not 1–255 printable ASCII characters"})
	}
	if b.Has("nonce") && (len(req.Nonce) == 0 || len(req.Nonce) > 256) {
		return req, InvalidRequest("nonce must be a non-empty string of at most 256 characters", map[string]any{"pointer": "/nonce", "message": "empty or longer than 256 characters"})
	}
	if k := b.Str("agent_public_key"); k != "" {
		key, err := ParseAgentKey(k)
		if err != nil {
			e := InvalidRequest(err.Error())
			e.Details = map[string]any{"field": "agent_public_key"}
			return req, e
		}
		req.AgentKey = key
	}
	// Payment: C payment_context, or A/B payment_method + payment_proof.
	if pc := b.Get("payment_context"); pc != nil {
		req.PaymentMethod = map[string]string{"sardis": "sardis_wallet", "stripe": "stripe_spt"}[pc.Str("method")]
		if req.PaymentMethod == "" {
			req.PaymentMethod = pc.Str("method")
		}
		if tok := pc.Get("token"); tok != nil {
			req.PaymentProof = tok
		}
	}
	if m := b.Str("payment_method"); m != "" {
		if req.PaymentMethod != "" && req.PaymentMethod != m {
			return req, InvalidRequest("payment_context.method and payment_method disagree")
		}
		req.PaymentMethod = m
	}
	if p := b.Get("payment_proof"); p != nil {
		req.PaymentProof = p
	}
	// Sandbox: C sandbox{}, B mode, A ttl_seconds.
	sb := b.Get("sandbox")
	if e := sb.Get("enabled"); e != nil && e.Text == "true" {
		req.Sandbox = true
	}
	if b.Str("mode") == "sandbox" {
		req.Sandbox = true
	}
	if sb != nil {
		if ad := sb.Get("auto_destroy"); ad != nil && ad.Text == "false" {
			req.AutoDestroy = false
		}
		req.SeedFrom, req.SeedMode = sb.Str("seed_from"), sb.Str("seed_mode")
		switch req.SeedMode {
		case "", "schema_only", "schema_and_sample_data", "full_clone":
		default:
			return req, InvalidRequest("sandbox.seed_mode must be schema_only, schema_and_sample_data or full_clone",
				map[string]any{"pointer": "/sandbox/seed_mode", "message": "unknown seed mode " + strconv.Quote(req.SeedMode)})
		}
	}
	hours, seconds := 0, 0
	if th := sb.Get("ttl_hours"); th != nil {
		h, err := strconv.Atoi(th.Text)
		if err != nil || h < 1 || h > 720 {
			return req, InvalidRequest("sandbox.ttl_hours must be an integer from 1 to 720", map[string]any{"pointer": "/sandbox/ttl_hours", "message": "must be an integer from 1 to 720"})
		}
		hours = h
	}
	if ts := b.Get("ttl_seconds"); ts != nil && ts.Kind == jsondoc.Number {
		v, err := strconv.Atoi(ts.Text)
		if err != nil || v < 1 || v > 2592000 {
			return req, InvalidRequest("ttl_seconds must be an integer from 1 to 2592000", map[string]any{"pointer": "/ttl_seconds", "message": "must be an integer from 1 to 2592000"})
		}
		seconds = v
	}
	switch {
	case hours > 0 && seconds > 0 && hours*3600 != seconds:
		return req, InvalidRequest("sandbox.ttl_hours and ttl_seconds disagree; send one")
	case hours > 0:
		req.TTLSeconds = hours * 3600
	default:
		req.TTLSeconds = seconds
	}
	req.Region, req.PreferredRegion = b.Str("region"), b.Str("preferred_region")
	req.WebhookURL = b.Str("webhook_url")
	cfg, conf := b.Get("config"), b.Get("configuration")
	if cfg != nil && conf != nil && string(jsondoc.Canonical(cfg)) != string(jsondoc.Canonical(conf)) {
		return req, InvalidRequest("config and configuration disagree; send one")
	}
	if cfg == nil {
		cfg = conf
	}
	req.Config = cfg
	for _, m := range b.Get("metadata").Fields() {
		if strings.HasPrefix(m.Name, "osp_") {
			return req, InvalidRequest("metadata keys starting osp_ are reserved for ospbox", map[string]any{"pointer": "/metadata/" + jsondoc.PointerToken(m.Name), "message": "reserved prefix osp_"})
		}
		req.Metadata[m.Name] = m.Value.Text
	}
	return req, nil
}

// findOffering returns the authored offering and tier nodes, or the error the profile names.
func findOffering(m *manifests.OSPManifest, offeringID, tierID string, now time.Time) (*jsondoc.Node, *jsondoc.Node, *Error) {
	var ids []string
	var offering *jsondoc.Node
	for _, on := range m.Doc.Root.Get("offerings").List() {
		ids = append(ids, on.Str("offering_id"))
		if on.Str("offering_id") == offeringID {
			offering = on
		}
	}
	if offering == nil {
		return nil, nil, &Error{Status: 400, Code: "invalid_offering", Message: fmt.Sprintf("offering %q is not offered by %s", offeringID, m.ProviderID),
			Details: map[string]any{"available_offerings": ids}}
	}
	if sunset, err := time.Parse(time.RFC3339, offering.Str("sunset_at")); err == nil && !now.Before(sunset) {
		return nil, nil, &Error{Status: 410, Code: "deprecated_offering", Message: offeringID + " was sunset at " + sunset.UTC().Format(time.RFC3339),
			Details: map[string]any{"sunset_at": sunset.UTC().Format(time.RFC3339), "successor_id": offering.Str("successor_id")}}
	}
	var tiers []string
	for _, tn := range offering.Get("tiers").List() {
		tiers = append(tiers, tn.Str("tier_id"))
		if tn.Str("tier_id") == tierID {
			return offering, tn, nil
		}
	}
	return nil, nil, &Error{Status: 400, Code: "invalid_tier", Message: fmt.Sprintf("tier %q is not offered by %s", tierID, offeringID),
		Details: map[string]any{"available_tiers": tiers}}
}

// trustRequirement is the effective trust tier of a tier: the maximum of manifest, offering and
// tier requirements (strings mapped as in §2.3).
func trustRequirement(root, offering, tier *jsondoc.Node) int {
	best := 0
	for _, n := range []*jsondoc.Node{root.Get("trust_tier_required"), offering.Get("trust_tier_required"), tier.Get("trust_tier_required")} {
		best = max(best, trustTierNode(n).Int())
	}
	return best
}

func trustTierNode(n *jsondoc.Node) *jsondoc.Node {
	if n != nil && n.Kind == jsondoc.String {
		return jsondoc.NewNumber(map[string]string{"none": "0", "basic": "1", "verified": "2", "enterprise": "3"}[n.Text] + "")
	}
	return n
}

// fingerprint is the idempotency fingerprint: SHA-256 of the canonical body without nonce and
// idempotency_key (spec/osp.md §6.5).
func fingerprint(b *jsondoc.Node) string {
	c := b.Clone()
	c.Delete("nonce")
	c.Delete("idempotency_key")
	sum := sha256.Sum256(jsondoc.Canonical(c))
	return hex.EncodeToString(sum[:])
}

// OrchestratorToken is the payment method of the orchestrator's payment tokens
// (spec/orchestrator.md §4): every workspace provider accepts it, whatever its manifest lists,
// and redeems the token before it answers.
const OrchestratorToken = "orchestrator_token"

// redeemToken redeems the request's orchestrator payment token for the charge, inside tx, and
// marks the charge as paid with it.
func (c *core) redeemToken(ctx context.Context, tx *storage.Tx, p *ProviderState, req provisionRequest, charge *storage.Charge, resourceID string) error {
	if req.PaymentMethod != OrchestratorToken || charge == nil {
		return nil
	}
	if c.payments == nil {
		return &Error{Status: 402, Code: "payment_required", Message: "this sandbox has no orchestrator to redeem payment tokens"}
	}
	token := ""
	if req.PaymentProof != nil {
		token = req.PaymentProof.Text
		if req.PaymentProof.Kind == jsondoc.Object {
			token = req.PaymentProof.Str("token")
		}
	}
	if token == "" {
		return &Error{Status: 402, Code: "payment_required", Message: `payment_method orchestrator_token needs the token as payment_proof ("spt_…" or {"token": "spt_…"})`}
	}
	err := c.payments.RedeemInTx(ctx, tx, token, p.Serving.Manifest.ProviderID, charge.Amount, charge.Currency, resourceID)
	var refusal *kernel.Refusal
	if errors.As(err, &refusal) {
		return &Error{Status: refusal.Status, Code: refusal.Code, Message: "the payment token was refused: " + refusal.Message}
	}
	if err == nil {
		charge.PaymentToken = token
	}
	return err
}

// paymentOutcome applies spec/osp.md §6.3 to a paid, non-sandbox request.
func paymentOutcome(root, tier *jsondoc.Node, req provisionRequest) *Error {
	accepted := tier.Get("accepted_payment_methods")
	if accepted == nil {
		accepted = root.Get("accepted_payment_methods")
	}
	var methods []string
	if accepted != nil {
		for _, it := range accepted.List() {
			methods = append(methods, it.Text)
		}
	} else {
		methods = manifests.PaymentMethods
	}
	price := tier.Get("price")
	details := map[string]any{"tier_id": tier.Str("tier_id"),
		"price":                    map[string]any{"amount": price.Str("amount"), "currency": price.Str("currency"), "interval": nullable(price.Str("interval"))},
		"accepted_payment_methods": methods}
	proof := ""
	if req.PaymentProof != nil {
		proof = string(jsondoc.Compact(req.PaymentProof))
	}
	if req.PaymentMethod == "" || req.PaymentProof == nil || proof == `""` || proof == "{}" {
		return &Error{Status: 402, Code: "payment_required", Message: "tier " + tier.Str("tier_id") + " costs " + price.Str("currency") + " " + price.Str("amount") + ": send payment_method and payment_proof (or payment_context)", Details: details}
	}
	if req.PaymentMethod == OrchestratorToken {
		return nil // redeemed against the orchestrator in the provisioning's transaction (redeemToken)
	}
	if !slices.Contains(methods, req.PaymentMethod) {
		return &Error{Status: 402, Code: "payment_required", Message: "payment method " + req.PaymentMethod + " is not accepted for this tier", Details: details}
	}
	lower := strings.ToLower(proof)
	switch {
	case strings.Contains(lower, "decline"):
		return &Error{Status: 402, Code: "payment_declined", Message: "the simulated payment was declined"}
	case strings.Contains(lower, "insufficient"):
		return &Error{Status: 402, Code: "insufficient_funds", Message: "the simulated payment found insufficient funds"}
	case strings.Contains(lower, "fail"):
		return &Error{Status: 402, Code: "payment_failed", Message: "the simulated payment processor failed; retry", RetryAfter: 5}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// resourceData is what a resource keeps beyond its columns, stored as JSON.
type resourceData struct {
	Region         string            `json:"region"`
	ProjectName    string            `json:"project_name"`
	Metadata       map[string]string `json:"metadata"`
	RequestID      string            `json:"request_id"`
	AgentPublicKey string            `json:"agent_public_key,omitempty"`
	AutoDestroy    bool              `json:"auto_destroy"`
	TTLSeconds     int               `json:"ttl_seconds,omitempty"`
	PendingBundle  bool              `json:"pending_bundle,omitempty"` // deliver the bundle on the first status read
	PromotedAt     *time.Time        `json:"promoted_at,omitempty"`
	PendingTierID  string            `json:"pending_tier_id,omitempty"` // a next_period tier change, due at ReadyAt
	PrincipalID    string            `json:"principal_id,omitempty"`
	ExpiringSent   bool              `json:"expiring_sent,omitempty"`  // the one-hour warning went out
	BilledThrough  string            `json:"billed_through,omitempty"` // last month (YYYY-MM) with a base charge
	FailOnReady    bool              `json:"fail_on_ready,omitempty"`  // injected provisioning_failed
	FailCode       string            `json:"fail_code,omitempty"`      // a scenario's code for it ("" is provisioning_failed)
	FailMessage    string            `json:"fail_message,omitempty"`
	Client         string            `json:"client"`
	Dataset        *dataset          `json:"dataset,omitempty"` // nil for resources made before datasets
}

func decodeData(r storage.Resource) resourceData {
	var d resourceData
	json.Unmarshal(r.Data, &d)
	if d.Metadata == nil {
		d.Metadata = map[string]string{}
	}
	return d
}

func encodeData(d resourceData) []byte {
	b, _ := json.Marshal(d)
	return b
}

// errReplay carries a stored idempotent response out of the transaction.
type errReplay struct {
	status int
	body   []byte
}

func (e *errReplay) Error() string { return "idempotent replay" }

// serveProvision handles POST /osp/v1/provision (spec/osp.md §6), checks in the order of §4.4.
func (s *Engine) serveProvision(w http.ResponseWriter, r *http.Request, p *ProviderState, mount string, verr *Error) {
	if !Allow(w, r, http.MethodPost) {
		return
	}
	raw := kernel.ReadBody(r)
	doc, diags := manifests.CheckMessage("messages/osp-provision-request.json", raw)
	if len(diags) > 0 && diags[0].Rule == "json_syntax" {
		WriteError(w, bodyErrors("", diags))
		return
	}
	if verr != nil {
		WriteError(w, verr)
		return
	}
	if len(diags) > 0 {
		WriteError(w, bodyErrors("the request body does not have the shape of a provision request", diags))
		return
	}
	req, oerr := decodeProvision(r, doc)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	if cfg := s.view().Config.OSP; cfg.RequireNonce && req.Nonce == "" {
		WriteError(w, InvalidRequest("a nonce is required (osp.require_nonce is set): send a fresh \"nonce\" with every provision", map[string]any{"pointer": "/nonce", "message": "missing"}))
		return
	}
	if x := doc.Root.Get("tier_change"); x != nil {
		s.serveBTierChange(w, r, p, mount, doc.Root)
		return
	}
	now := s.clock.Now()
	m := p.Serving.Manifest
	fp := fingerprint(doc.Root)
	offering, tier, oerr := findOffering(m, req.OfferingID, req.TierID, now)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	// Steps 5 and 6: identity, then trust tier (spec/osp.md §19).
	identity, ierr := s.identify(r, doc.Root, p.Slug, m)
	if ierr != nil {
		WriteError(w, ierr)
		return
	}
	required := false
	for _, t := range m.Doc.Root.Get("identity").Get("identity_required_for_tiers").List() {
		required = required || t.Text == req.TierID
	}
	need := trustRequirement(m.Doc.Root, offering, tier)
	strict := s.view().Config.OSP.Auth.Strict
	if identity == nil && (need > 0 || required || strict) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="osp", schemes="agent_attestation resource_token"`)
		msg := fmt.Sprintf("%s (%s) requires an authenticated agent (trust tier %d): send a TAP attestation", req.OfferingID, req.TierID, need)
		if strict && need == 0 && !required {
			msg = "osp.auth.strict is set: every provision needs an authenticated agent (a TAP attestation, an OIDC token or an API key)"
		}
		WriteError(w, &Error{Status: 401, Code: "unauthorized", Message: msg})
		return
	}
	if !needScope(w, identity, authserver.ScopeProvision) {
		return
	}
	if identity != nil && identity.TrustTier < need {
		WriteError(w, &Error{Status: 403, Code: "trust_tier_insufficient", Message: fmt.Sprintf("%s (%s) requires trust tier %d; this agent has %d", req.OfferingID, req.TierID, need, identity.TrustTier),
			Details: map[string]any{"required_tier": need, "agent_tier": identity.TrustTier}})
		return
	}
	if identity != nil {
		req.Owner = identity.Subject
	}
	// Steps 7 and 8 of §4.4: the nonce, then the idempotency key, before region, configuration,
	// sandbox rules and payment. The key is checked again inside the write transaction.
	if !s.acceptNonce(w, r, p, req.Nonce, now) {
		return
	}
	if req.IdempotencyKey != "" {
		if ierr := s.idempotentReplay(w, r, p.Slug, req.IdempotencyKey, fp, now); ierr {
			return
		}
	}
	if req.WebhookURL != "" {
		if terr := kernel.WebhookTargetError(req.WebhookURL, s.view().Config.Webhooks.AllowLoopback); terr != nil {
			e := InvalidRequest("webhook_url is not allowed: " + terr.Error())
			e.Details = map[string]any{"field": "webhook_url", "reason": terr.Error()}
			WriteError(w, e)
			return
		}
	}
	region, oerr := chooseRegion(offering, req)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	if schema := offering.Get("configuration_schema"); schema != nil && req.Config != nil {
		if fails := manifests.CheckAgainst(schema, req.Config, "the configuration"); len(fails) > 0 {
			var list []map[string]any
			for _, f := range fails {
				list = append(list, map[string]any{"pointer": f.Pointer, "message": f.Message})
			}
			WriteError(w, &Error{Status: 400, Code: "invalid_configuration", Message: "config does not match the offering's configuration_schema", Details: map[string]any{"validation_errors": list}})
			return
		}
	}
	if req.Sandbox {
		if sa := offering.Get("sandbox_available"); sa != nil && sa.Text == "false" {
			WriteError(w, &Error{Status: 400, Code: "sandbox_not_available", Message: req.OfferingID + " offers no sandboxes"})
			return
		}
		if req.TTLSeconds == 0 {
			req.TTLSeconds = 86400
			if t := offering.Get("sandbox_ttl_seconds"); t != nil {
				req.TTLSeconds, _ = strconv.Atoi(t.Text)
			}
		}
	}
	if !req.Sandbox {
		if cerr := requestCeiling(req.Ceiling, tier, req.TTLSeconds); cerr != nil {
			WriteError(w, cerr)
			return
		}
	}
	req.Fault, req.FaultCode = injectedFault(r, s.view().Config.AllowFaultHeader())
	if f, ok := kernel.ProvisioningFailureOf(r.Context()); ok {
		req.Failure = &f
	}
	requestID := w.Header().Get("X-Request-Id")
	client := clientAddress(r)
	var status int
	var body []byte
	err := s.db.Update(r.Context(), func(tx *storage.Tx) error {
		if req.IdempotencyKey != "" {
			storedFP, st, b, err := tx.Idempotent(r.Context(), p.Slug, req.IdempotencyKey, now.Add(-24*time.Hour))
			switch {
			case err == nil && storedFP == fp:
				return &errReplay{status: st, body: b}
			case err == nil:
				return &Error{Status: 409, Code: "conflict", Message: "this idempotency key was used with a different request body",
					Details: map[string]any{"idempotency_key": req.IdempotencyKey, "reason": "idempotency_key_reused_with_different_body"}}
			case !errors.Is(err, storage.ErrNotFound):
				return err
			}
		}
		if req.Sandbox {
			if lerr := s.sandboxLimits(r.Context(), tx, p.Slug, offering, client, now); lerr != nil {
				return lerr
			}
		}
		if qerr := quotaCheck(r.Context(), tx, p.Slug, req.OfferingID, s.view().Config.OSP.Quotas); qerr != nil {
			return qerr
		}
		var err error
		status, body, err = s.createResource(r.Context(), tx, p, mount, offering, tier, req, region, requestID, client, now)
		if err != nil {
			return err
		}
		if req.IdempotencyKey != "" {
			return tx.PutIdempotent(r.Context(), p.Slug, req.IdempotencyKey, fp, status, body, now)
		}
		return nil
	})
	var replay *errReplay
	var oe *Error
	switch {
	case errors.As(err, &replay):
		w.Header().Set("Idempotent-Replayed", "true")
		kernel.WriteRaw(w, replay.status, replay.body)
	case errors.As(err, &oe):
		WriteError(w, oe)
	case err != nil:
		s.log.Error("provision", "err", err)
		WriteError(w, NewError("provider_error", "ospbox could not record the resource: "+err.Error()))
	default:
		kernel.WriteRaw(w, status, body)
	}
}

// clientAddress identifies an anonymous agent for sandbox limits.
func clientAddress(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i > 0 {
		host = host[:i]
	}
	return host
}

func chooseRegion(offering *jsondoc.Node, req provisionRequest) (string, *Error) {
	var regions []string
	for _, it := range offering.Get("regions").List() {
		if it.Kind == jsondoc.String {
			regions = append(regions, it.Text)
		} else {
			regions = append(regions, it.Str("id"))
		}
	}
	for _, it := range offering.Get("available_regions").List() {
		regions = append(regions, it.Text)
	}
	switch {
	case req.Region != "" && len(regions) > 0 && !slices.Contains(regions, req.Region):
		return "", &Error{Status: 400, Code: "invalid_region", Message: "region " + req.Region + " is not offered", Details: map[string]any{"available_regions": regions}}
	case req.Region != "":
		return req.Region, nil
	case req.PreferredRegion != "" && slices.Contains(regions, req.PreferredRegion):
		return req.PreferredRegion, nil
	case len(regions) > 0:
		return regions[0], nil
	}
	return "local", nil
}

// acceptNonce checks a request's optional nonce against osp.strict_nonce and records it; when it
// answers false it has written the invalid_request or nonce_reused error.
func (s *Engine) acceptNonce(w http.ResponseWriter, r *http.Request, p *ProviderState, nonce string, now time.Time) bool {
	if nonce == "" {
		return true
	}
	if ferr := nonceFormatError(nonce, s.view().Config.OSP.StrictNonce); ferr != nil {
		WriteError(w, ferr)
		return false
	}
	if nerr := s.useNonce(r.Context(), p.Slug, nonce, now); nerr != nil {
		WriteError(w, nerr)
		return false
	}
	return true
}

var uuidV4 = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// nonceFormatError applies osp.strict_nonce (spec/osp.md §6.4): only a UUID v4 or a string of at
// least 32 characters, never the nil UUID.
func nonceFormatError(nonce string, strict bool) *Error {
	if !strict || uuidV4.MatchString(nonce) || len([]rune(nonce)) >= 32 && strings.Trim(nonce, "0-") != "" {
		return nil
	}
	return InvalidRequest("nonce must be a UUID v4 or at least 32 characters, and not the nil UUID (osp.strict_nonce is set)",
		map[string]any{"pointer": "/nonce", "message": "not a UUID v4 nor 32 characters or more"})
}

// useNonce records a nonce for 24 hours; a repeat is 409 nonce_reused (spec/osp.md §6.4).
func (s *Engine) useNonce(ctx context.Context, provider, nonce string, now time.Time) *Error {
	var first *time.Time
	err := s.db.Update(ctx, func(tx *storage.Tx) error {
		var err error
		first, err = tx.UseNonce(ctx, provider, nonce, now, now.Add(-24*time.Hour))
		return err
	})
	if err != nil {
		return NewError("provider_error", "ospbox could not record the nonce: "+err.Error())
	}
	if first != nil {
		e := &Error{Status: 409, Code: "nonce_reused", Message: "this nonce was already used; send a new nonce (keep the idempotency key to retry)",
			Details: map[string]any{"original_request_at": first.UTC().Format(time.RFC3339)}}
		return e
	}
	return nil
}

// idempotentReplay answers a request whose idempotency key is already stored: the stored
// response for the same body, 409 for another body. It reports whether it answered.
func (s *Engine) idempotentReplay(w http.ResponseWriter, r *http.Request, provider, key, fp string, now time.Time) bool {
	storedFP, st, body, err := s.db.Idempotent(r.Context(), provider, key, now.Add(-24*time.Hour))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false
	case err != nil:
		WriteError(w, asError(err))
	case storedFP == fp:
		w.Header().Set("Idempotent-Replayed", "true")
		kernel.WriteRaw(w, st, body)
	default:
		WriteError(w, &Error{Status: 409, Code: "conflict", Message: "this idempotency key was used with a different request body",
			Details: map[string]any{"idempotency_key": key, "reason": "idempotency_key_reused_with_different_body"}})
	}
	return true
}

// serveBTierChange runs the B form of a tier change: POST /osp/v1/provision with tier_change.
func (s *Engine) serveBTierChange(w http.ResponseWriter, r *http.Request, p *ProviderState, mount string, body *jsondoc.Node) {
	id := body.Get("tier_change").Str("resource_id")
	res, err := s.db.Resource(r.Context(), p.Slug, id)
	if errors.Is(err, storage.ErrNotFound) || id == "" {
		WriteError(w, &Error{Status: 404, Code: "resource_not_found", Message: "tier_change.resource_id names no resource at this provider"})
		return
	}
	if err != nil {
		WriteError(w, asError(err))
		return
	}
	if !s.authorize(w, r, res, "upgrade") {
		return
	}
	tc, oerr := tierChangeFrom(body, r)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	s.serveTierChange(w, r, p, mount, res, tc)
}
