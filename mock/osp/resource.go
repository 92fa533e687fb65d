package osp

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// credentialVersion is what the credentials table keeps of one bundle version.
type credentialVersion struct {
	Credentials      map[string]any `json:"credentials"`
	Scope            string         `json:"scope"`
	PreviousBundleID string         `json:"previous_bundle_id,omitempty"`
	AgentPublicKey   string         `json:"agent_public_key,omitempty"`
	// AccessToken is this version's resource access token, kept so that retrievals return the
	// same token (the token table holds only its hash, for lookups).
	AccessToken string `json:"access_token"`
}

const rotationIntervalHours = 720

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timePtrJSON(t *time.Time) any {
	if t == nil {
		return nil
	}
	return rfc3339(*t)
}

// bundleFor renders a credential bundle (spec/osp.md §7.1–§7.3): plaintext, or encrypted to
// agent when given; the A mirror is returned for encrypted bundles.
func (s *Engine) bundleFor(res storage.Resource, cred storage.Credential, agent ed25519.PublicKey, key manifests.SigningKey) (map[string]any, map[string]any, error) {
	var cv credentialVersion
	json.Unmarshal(cred.Data, &cv)
	return bundleOf(res, cred, cv, agent, key)
}

// bundleOf is bundleFor with the credential version already decoded (provisioning has it at
// hand and need not read back what it just encoded).
func bundleOf(res storage.Resource, cred storage.Credential, cv credentialVersion, agent ed25519.PublicKey, key manifests.SigningKey) (map[string]any, map[string]any, error) {
	token := cv.AccessToken
	b := map[string]any{
		"rotation_supported":      true,
		"rotation_interval_hours": rotationIntervalHours,
		"issued_at":               rfc3339(cred.CreatedAt),
		"expires_at":              timePtrJSON(res.ExpiresAt),
		"scope":                   cv.Scope,
		"sandbox":                 res.Sandbox,
		"bundle_id":               cred.ID,
		"version":                 cred.Version,
		"metadata":                map[string]any{"resource_access_token": token},
	}
	if cv.PreviousBundleID != "" {
		b["previous_bundle_id"] = cv.PreviousBundleID
	}
	if agent == nil {
		b["format"] = "plaintext"
		b["credentials"] = cv.Credentials
		return b, nil, nil
	}
	plaintext, _ := json.Marshal(cv.Credentials)
	doc, err := jsondoc.Parse(plaintext)
	if err != nil {
		return nil, nil, err
	}
	ec, ct, err := EncryptCredentials(agent, jsondoc.Canonical(doc.Root), cryptoRandom)
	if err != nil {
		return nil, nil, err
	}
	b["format"] = "encrypted"
	b["encrypted_credentials"] = ec
	mirror := map[string]any{
		"encrypted_payload":            ec.Ciphertext,
		"encryption_method":            ec.Algorithm,
		"ephemeral_public_key":         ec.ProviderEphemeralPublicKey,
		"nonce":                        ec.Nonce,
		"provider_signature":           manifests.B64(ed25519.Sign(key.Private, ct)),
		"bundle_id":                    cred.ID,
		"resource_id":                  res.ID,
		"offering_id":                  res.OfferingID,
		"issued_at":                    rfc3339(cred.CreatedAt),
		"expires_at":                   timePtrJSON(res.ExpiresAt),
		"version":                      cred.Version,
		"sandbox":                      res.Sandbox,
		"agent_public_key_fingerprint": KeyFingerprint(agent),
	}
	return b, mirror, nil
}

// dashboardURL is where the UI shows a resource of the provider mounted at mount: the host's
// UI, with the namespace chosen when the mount is inside one (/ns/<id>/…).
func dashboardURL(mount, id string) string {
	origin := originOf(mount)
	u := origin + "/ui/resources/" + id
	if rest, ok := strings.CutPrefix(mount[len(origin):], "/ns/"); ok {
		ns, _, _ := strings.Cut(rest, "/")
		u += "?ns=" + ns
	}
	return u
}

// createResource records a new resource, its first credential version and access token, and
// its first event, then renders the 201 or 202 response (spec/osp.md §6.6).
func (s *Engine) createResource(ctx context.Context, tx *storage.Tx, p *ProviderState, mount string, offering, tier *jsondoc.Node,
	req provisionRequest, region, requestID, client string, now time.Time) (int, []byte, error) {
	if req.WebhookURL == "" {
		ctx = withoutWebhook(ctx) // a resource made now has no webhook unless the request names one
	}
	charge, err := chargeFor(tier, req.Sandbox)
	if err != nil {
		return 0, nil, err
	}
	var verdict budgetVerdict
	if charge != nil {
		if err := s.ledger.checkCap(ctx, tx, p, mount, "provisioning "+req.OfferingID+" ("+req.TierID+")", charge.Amount, charge.Currency, now); err != nil {
			return 0, nil, err
		}
		principal := req.Owner
		if principal == "" {
			principal = req.PrincipalID
		}
		sc := chargeScope{ProjectID: "proj_" + req.ProjectName, Team: req.Metadata["team"], Principal: principal}
		if verdict, err = checkBudgets(ctx, tx, p.Slug, sc, charge.Amount, charge.Currency, req.BudgetOverride, now); err != nil {
			return 0, nil, err
		}
	}
	if a, err := ParseAmount(tier.Get("price").Str("amount")); err == nil && a.Sign() > 0 && !req.Sandbox {
		if perr := paymentOutcome(p.Serving.Manifest.Doc.Root, tier, req); perr != nil {
			return 0, nil, perr
		}
	}
	// Step 14: an injected fault (spec/osp.md §20.3); provisioning_failed on an asynchronous
	// offering lets the request succeed and fails the resource when it would complete.
	async := 0
	if eps := offering.Get("estimated_provision_seconds"); eps != nil {
		async, _ = strconv.Atoi(eps.Text)
		async = min(async, 300)
	}
	failLater := req.FaultCode == "provisioning_failed" && async > 0
	if f := req.Failure; f != nil {
		// A scenario rule's failure: accepted, and in error once its time has passed.
		async, failLater = int(f.After/time.Second), true
	}
	pending := async > 0 || req.Failure != nil
	if req.Fault != nil && !failLater {
		return 0, nil, req.Fault
	}
	id := kernel.NewID("res_", now)
	if err := s.redeemToken(ctx, tx, p, req, charge, id); err != nil {
		return 0, nil, err
	}
	res := storage.Resource{ID: id, Provider: p.Slug, OfferingID: req.OfferingID, TierID: req.TierID,
		ProjectID: "proj_" + req.ProjectName, Status: "provisioned", Sandbox: req.Sandbox, Owner: req.Owner, CreatedAt: now, UpdatedAt: now}
	data := resourceData{Region: region, ProjectName: req.ProjectName, Metadata: req.Metadata, RequestID: requestID,
		AutoDestroy: req.AutoDestroy, TTLSeconds: req.TTLSeconds, Client: client, PrincipalID: req.PrincipalID}
	if req.Sandbox {
		data.Metadata["osp_sandbox"] = "true"
		if req.SeedFrom != "" {
			seed, err := tx.Resource(ctx, p.Slug, req.SeedFrom)
			if err != nil || seed.OfferingID != req.OfferingID || seed.Status == "deprovisioned" {
				return 0, nil, InvalidRequest("sandbox.seed_from must name a live resource of " + req.OfferingID + " in this workspace")
			}
			data.Metadata["osp_seed_from"] = req.SeedFrom
			mode := req.SeedMode
			if mode == "" {
				mode = "schema_only"
			}
			data.Metadata["osp_seed_mode"] = mode
			source := datasetOf(seed)
			copied := seededDataset(source, seed.ID, mode)
			data.Dataset = &copied
		}
	}
	if data.Dataset == nil {
		fresh := newDataset(req.OfferingID, id)
		data.Dataset = &fresh
	}
	if req.TTLSeconds > 0 {
		exp := now.Add(time.Duration(req.TTLSeconds) * time.Second)
		res.ExpiresAt = &exp
	}
	if req.AgentKey != nil {
		data.AgentPublicKey = manifests.B64(req.AgentKey)
	}
	if pending {
		data.FailOnReady = failLater
		if f := req.Failure; f != nil {
			data.FailCode, data.FailMessage = f.Code, f.Message
		}
		res.Status = "provisioning"
		ready := now.Add(time.Duration(async) * time.Second)
		res.ReadyAt = &ready
		data.PendingBundle = true
	}
	res.Data = encodeData(data)
	if err := tx.PutResource(ctx, res); err != nil {
		return 0, nil, err
	}
	if charge != nil && charge.Kind == "base" {
		data.BilledThrough = now.UTC().Format("2006-01")
		res.Data = encodeData(data)
		if err := tx.PutResource(ctx, res); err != nil {
			return 0, nil, err
		}
	}
	if res.ExpiresAt != nil && !res.ExpiresAt.After(now.Add(time.Hour)) {
		if err := s.expiringEvent(ctx, tx, &res, now); err != nil {
			return 0, nil, err
		}
	}
	if charge != nil {
		charge.ResourceID, charge.ProjectID, charge.Provider, charge.At = id, res.ProjectID, p.Slug, now
		if err := tx.PostCharge(ctx, *charge); err != nil {
			return 0, nil, err
		}
		if err := s.ledger.afterCharge(ctx, tx, res, verdict, now); err != nil {
			return 0, nil, err
		}
	}
	scope := "admin"
	if req.Config != nil && req.Config.Str("credential_scope") != "" {
		scope = req.Config.Str("credential_scope")
	}
	token := NewAccessToken()
	cv := credentialVersion{Credentials: GenerateCredentials(offering.Get("credentials_schema"), id, p.Slug, nil), Scope: scope,
		AgentPublicKey: data.AgentPublicKey, AccessToken: token}
	if req.WebhookURL != "" {
		secret := newWebhookSecret()
		cv.Credentials["osp_webhook_secret"] = secret
		if err := tx.PutWebhook(ctx, storage.Webhook{ResourceID: id, ID: kernel.NewID("wh_", now), URL: req.WebhookURL, Events: "[]", Secret: secret, CreatedAt: now}); err != nil {
			return 0, nil, err
		}
	}
	cvBytes, _ := json.Marshal(cv)
	cred := storage.Credential{ID: kernel.NewID("bnd_", now), ResourceID: id, Version: 1, CreatedAt: now, ExpiresAt: res.ExpiresAt, Data: cvBytes}
	if err := tx.PutCredential(ctx, cred); err != nil {
		return 0, nil, err
	}
	if err := tx.PutAccessToken(ctx, tokenHash(token), id, cred.ID); err != nil {
		return 0, nil, err
	}
	body := provisionResponse{ResourceID: id, OfferingID: req.OfferingID, TierID: req.TierID, Status: res.Status,
		CreatedAt: rfc3339(now), RequestID: requestID, Region: region, ExpiresAt: timePtrJSON(res.ExpiresAt),
		Sandbox: req.Sandbox, ProjectID: res.ProjectID, ProjectName: req.ProjectName, Metadata: data.Metadata,
		IdempotencyKey: req.IdempotencyKey}
	if res.ExpiresAt != nil {
		body.TTLSeconds = &req.TTLSeconds
	}
	if len(verdict.Warnings) > 0 {
		body.Warnings = verdict.Warnings
	}
	price := tier.Get("price")
	if eq, recurring, err := MonthlyEquivalent(price.Str("amount"), price.Str("interval")); err == nil {
		if !recurring {
			eq = "0.00"
		}
		if req.Sandbox {
			eq = "0.00"
		}
		body.CostEstimate = &costEstimate{Breakdown: []any{}, Currency: price.Str("currency"), MonthlyEstimate: eq}
	}
	status := 201
	if pending {
		status = 202
		statusURL := mount + "/osp/v1/resources/" + id
		body.Credentials = jsonNull
		body.EstimatedReadySeconds = &async
		body.PollURL = statusURL
		body.StatusURL = statusURL
		// The profile delivers the bundle once, in the first status read after provisioning:
		// say so where the agent looks first, so a read piped to `jq .status` does not lose it.
		body.NextSteps = []string{
			fmt.Sprintf("GET %s until status is \"provisioned\" (about %d s of sandbox time)", statusURL, async),
			"the first status read after that carries credentials_bundle with the resource access token, once: keep that whole response",
			"lost it? the sandbox operator can reveal the credentials on " + dashboardURL(mount, id),
		}
		if err := s.event(ctx, tx, res, "resource.status_changed", requestID, now, map[string]any{"status": "provisioning", "previous_status": nil, "change": "created"}); err != nil {
			return 0, nil, err
		}
	} else {
		bundle, mirror, err := bundleOf(res, cred, cv, req.AgentKey, p.Serving.key)
		if err != nil {
			return 0, nil, err
		}
		body.CredentialsBundle = bundle
		if mirror != nil {
			body.Credentials = mirror
		}
		body.DashboardURL = dashboardURL(mount, id)
		if err := s.event(ctx, tx, res, "resource.provisioned", requestID, now, map[string]any{"status": "provisioned", "dashboard_url": body.DashboardURL}); err != nil {
			return 0, nil, err
		}
	}
	out, err := json.Marshal(body)
	return status, append(out, '\n'), err
}

// provisionResponse is the 201 or 202 of a provisioning (spec/osp.md §6.6). Its fields are in
// the order of their names, so it encodes as the map it replaces did (encoding/json sorts a
// map's keys), without sorting them on every provisioning; TestProvisionResponseKeysSorted
// keeps the order. A nil pointer or empty field with omitempty is a member the answer omits.
type provisionResponse struct {
	CostEstimate          *costEstimate     `json:"cost_estimate,omitempty"`
	CreatedAt             string            `json:"created_at"`
	Credentials           any               `json:"credentials,omitempty"` // jsonNull in a 202
	CredentialsBundle     map[string]any    `json:"credentials_bundle,omitempty"`
	DashboardURL          string            `json:"dashboard_url,omitempty"`
	EstimatedReadySeconds *int              `json:"estimated_ready_seconds,omitempty"`
	ExpiresAt             any               `json:"expires_at"`
	IdempotencyKey        string            `json:"idempotency_key,omitempty"`
	Metadata              map[string]string `json:"metadata"`
	NextSteps             []string          `json:"next_steps,omitempty"`
	OfferingID            string            `json:"offering_id"`
	PollURL               string            `json:"poll_url,omitempty"`
	ProjectID             string            `json:"project_id"`
	ProjectName           string            `json:"project_name"`
	Region                string            `json:"region"`
	RequestID             string            `json:"request_id"`
	ResourceID            string            `json:"resource_id"`
	Sandbox               bool              `json:"sandbox"`
	Status                string            `json:"status"`
	StatusURL             string            `json:"status_url,omitempty"`
	TierID                string            `json:"tier_id"`
	TTLSeconds            *int              `json:"ttl_seconds,omitempty"`
	Warnings              []map[string]any  `json:"warnings,omitempty"`
}

type costEstimate struct {
	Breakdown       []any  `json:"breakdown"`
	Currency        string `json:"currency"`
	MonthlyEstimate string `json:"monthly_estimate"`
}

// jsonNull is a member present as null.
var jsonNull = json.RawMessage("null")

// originOf strips the provider mount path from a mount URL.
func originOf(mount string) string {
	if i := indexAfterScheme(mount); i > 0 {
		return mount[:i]
	}
	return mount
}

func indexAfterScheme(u string) int {
	start := 0
	if j := len("https://"); len(u) > j && u[:j] == "https://" {
		start = j
	} else if j := len("http://"); len(u) > j && u[:j] == "http://" {
		start = j
	}
	for i := start; i < len(u); i++ {
		if u[i] == '/' {
			return i
		}
	}
	return len(u)
}

// ospEvent is an OSP event's body, its fields in the order of their names (the order of the
// map it replaced; TestProvisionResponseKeysSorted keeps it).
type ospEvent struct {
	Data       map[string]any `json:"data"`
	Event      string         `json:"event"`
	EventID    string         `json:"event_id"`
	EventType  string         `json:"event_type"`
	OfferingID string         `json:"offering_id"`
	RequestID  string         `json:"request_id,omitempty"`
	ResourceID string         `json:"resource_id"`
	Timestamp  string         `json:"timestamp"`
}

// event appends an OSP event for a resource (spec/osp.md §18.1).
func (s *core) event(ctx context.Context, tx *storage.Tx, res storage.Resource, typ, requestID string, at time.Time, data map[string]any) error {
	id := kernel.NewID("evt_", at)
	b, _ := json.Marshal(ospEvent{Data: data, Event: typ, EventID: id, EventType: typ, OfferingID: res.OfferingID,
		RequestID: requestID, ResourceID: res.ID, Timestamp: rfc3339(at)})
	if err := tx.PutEvent(ctx, storage.Event{ID: id, At: at, Protocol: "osp", Provider: res.Provider, ResourceID: res.ID, Type: typ, Data: b}); err != nil {
		return err
	}
	if s.sink != nil && s.sink.Wants() {
		tx.AfterCommit(func() { s.sink.Publish(typ, b) })
	}
	return s.queueDeliveries(ctx, tx, res, id, typ, b, at)
}

// The per-agent sandbox limits an offering has when its sandbox_limits do not say.
const (
	defaultMaxConcurrentSandboxes = 5
	defaultMaxSandboxesPerDay     = 20
)

// sandboxLimitsOf is an offering's sandbox_limits, with the defaults for what it leaves out.
func sandboxLimitsOf(offering *jsondoc.Node) (maxConcurrent, maxPerDay int) {
	maxConcurrent, maxPerDay = defaultMaxConcurrentSandboxes, defaultMaxSandboxesPerDay
	if l := offering.Get("sandbox_limits"); l != nil {
		if v := l.Get("max_concurrent").Int(); v > 0 {
			maxConcurrent = v
		}
		if v := l.Get("max_per_day").Int(); v > 0 {
			maxPerDay = v
		}
	}
	return maxConcurrent, maxPerDay
}

// sandboxLimits enforces the per-client sandbox limits of spec/osp.md §6.2.
func (s *Engine) sandboxLimits(ctx context.Context, tx *storage.Tx, provider string, offering *jsondoc.Node, client string, now time.Time) error {
	maxConcurrent, maxPerDay := sandboxLimitsOf(offering)
	live, today, err := tx.SandboxCounts(ctx, provider, client, now.Truncate(24*time.Hour))
	if err != nil {
		return err
	}
	if live >= maxConcurrent {
		return &Error{Status: 429, Code: "rate_limit_exceeded", Message: "too many live sandboxes for this agent; deprovision one first",
			RetryAfter: 60, Details: map[string]any{"limit": maxConcurrent, "window_seconds": 0}}
	}
	if today >= maxPerDay {
		midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
		return &Error{Status: 429, Code: "rate_limit_exceeded", Message: "the daily sandbox limit is reached",
			RetryAfter: int(midnight.Sub(now).Seconds()) + 1, Details: map[string]any{"limit": maxPerDay, "window_seconds": 86400}}
	}
	return nil
}

// chargeFor is what provisioning a tier posts to the ledger (spec/osp.md §14.2): the
// monthly-equivalent price for a recurring price, the amount for a one-time price, nothing for
// free tiers and sandboxes.
func chargeFor(tier *jsondoc.Node, sandbox bool) (*storage.Charge, error) {
	price := tier.Get("price")
	amount, err := ParseAmount(price.Str("amount"))
	if err != nil || amount.Sign() == 0 || sandbox {
		return nil, nil
	}
	eq, recurring, err := MonthlyEquivalent(price.Str("amount"), price.Str("interval"))
	if err != nil {
		return nil, err
	}
	if !recurring {
		return &storage.Charge{Kind: "one_time", Amount: Cents(amount), Currency: price.Str("currency")}, nil
	}
	return &storage.Charge{Kind: "base", Amount: eq, Currency: price.Str("currency")}, nil
}

// expiringEvent announces a TTL ending within the hour (spec/osp.md §6.2, §18.2), once.
func (s *Engine) expiringEvent(ctx context.Context, tx *storage.Tx, res *storage.Resource, at time.Time) error {
	d := decodeData(*res)
	if d.ExpiringSent || res.ExpiresAt == nil {
		return nil
	}
	d.ExpiringSent = true
	res.Data = encodeData(d)
	if err := tx.PutResource(ctx, *res); err != nil {
		return err
	}
	typ := "environment.ttl_expiring"
	if res.Sandbox {
		typ = "resource.sandbox_expiring"
	}
	remaining := int(res.ExpiresAt.Sub(at).Seconds())
	return s.event(ctx, tx, *res, typ, "", at, map[string]any{"expires_at": rfc3339(*res.ExpiresAt), "ttl_event": map[string]any{
		"action": "expiring", "ttl_remaining_seconds": max(0, remaining), "original_ttl_seconds": d.TTLSeconds, "extension_available": false}})
}

// quotaCheck applies osp.quotas: the provider's live resources of the offering, and of all its
// offerings together ("*"), must stay under their quotas. It runs in the provisioning
// transaction, so concurrent provisions cannot both take the last place.
func quotaCheck(ctx context.Context, tx *storage.Tx, provider, offeringID string, quotas map[string]int) error {
	for _, scope := range []string{offeringID, "*"} {
		limit, ok := quotas[scope]
		if !ok {
			continue
		}
		filter := scope
		if scope == "*" {
			filter = ""
		}
		live, err := tx.CountLiveResources(ctx, provider, filter)
		if err != nil {
			return err
		}
		if live >= limit {
			return &Error{Status: 429, Code: "quota_exceeded", Message: fmt.Sprintf("the quota of %d live resources (osp.quotas[%q]) is reached; deprovision one first", limit, scope),
				Details: map[string]any{"quota_type": "live_resources", "limit": limit, "current": live, "offering_id": scope}}
		}
	}
	return nil
}
