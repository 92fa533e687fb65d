// Package demo is a scripted agent for demonstrations: an ordinary OSP client that drives a
// running sandbox through discovery, provisioning (sandboxes, a seeded clone, an encrypted
// bundle), usage over advanced time, a soft budget block and its override, the spending cap,
// rotation and deprovisioning — so every page of the UI has something to show. It talks HTTP
// only; nothing reaches into the engine.
//
// It may import the host (mock), the protocol packages and the kernel.
package demo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/mock/projects"
)

// Options configures a run.
type Options struct {
	Target string        // the sandbox host, e.g. http://127.0.0.1:7410
	Speed  float64       // 1 is a comfortable pace to watch; larger is faster; 0 does not pause
	Pause  time.Duration // the pause between steps at speed 1 (default 700 ms)
	Log    func(step string)
	Client *http.Client
}

// Report is what a run did, for its caller to check.
type Report struct {
	Steps          []string
	Resources      []string // ids of the resources provisioned
	SoftBlocked    bool     // a provision got 402 budget_exceeded, and the override went through
	CapBlocked     bool     // a provision got 403 budget_exceeded from the spending cap
	OldTokenDenied bool     // the rotated-away token got 401 credentials_rotated
	Decrypted      bool     // the encrypted bundle opened with the agent's key
	OutageRetried  bool     // a scenario rule's 503 was retried through
	// FromZero: the orchestrator act added a paid service to a new project (an attested account,
	// a payment token), and after revoke its credential was refused.
	FromZero bool
}

type agent struct {
	o      Options
	report *Report
}

// Run plays the script against o.Target.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Pause == 0 {
		o.Pause = 700 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	o.Target = strings.TrimRight(o.Target, "/")
	a := &agent{o: o, report: &Report{}}
	return a.report, a.script(ctx)
}

func (a *agent) step(ctx context.Context, format string, args ...any) error {
	line := fmt.Sprintf(format, args...)
	a.report.Steps = append(a.report.Steps, line)
	a.o.Log(line)
	if a.o.Speed <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(float64(a.o.Pause) / a.o.Speed)):
		return nil
	}
}

// call sends a JSON request and decodes the JSON answer.
func (a *agent) call(ctx context.Context, method, path, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.o.Target+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ospbox-demo-agent/1")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.o.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w (is ospbox running at %s?)", method, path, err, a.o.Target)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&out)
	return resp.StatusCode, out, nil
}

// expect calls and fails unless the status is one of want.
func (a *agent) expect(ctx context.Context, method, path, token string, body any, want ...int) (map[string]any, error) {
	st, out, err := a.call(ctx, method, path, token, body)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if st == w {
			return out, nil
		}
	}
	return out, fmt.Errorf("%s %s answered %d %s, expected %s", method, path, st, describe(out), statuses(want))
}

// describe is an answer as a person reads it: the protocol's error code and message (any of the
// three envelopes has {"error": {"code", "message"}}), else the body as compact JSON.
func describe(body map[string]any) string {
	if e, ok := body["error"].(map[string]any); ok {
		code, _ := e["code"].(string)
		msg, _ := e["message"].(string)
		if code != "" || msg != "" {
			return strings.TrimSpace(code + ": " + msg)
		}
	}
	if body == nil {
		return "(no JSON body)"
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// statuses lists the wanted statuses as "201 or 202".
func statuses(want []int) string {
	s := make([]string, len(want))
	for i, w := range want {
		s[i] = strconv.Itoa(w)
	}
	return strings.Join(s, " or ")
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

const (
	acme = "/providers/acmedb/osp/v1"
	sky  = "/providers/skyhost/osp/v1"
)

func (a *agent) script(ctx context.Context) error {
	// Discover.
	m, err := a.expect(ctx, "GET", "/providers/acmedb/.well-known/osp.json", "", nil, 200)
	if err != nil {
		return err
	}
	offerings, _ := m["offerings"].([]any)
	if err := a.step(ctx, "discovered %s: %d offerings", str(m, "provider_name"), len(offerings)); err != nil {
		return err
	}
	catalog, err := a.expect(ctx, "GET", "/ospbox/v1/catalog", "", nil, 200)
	if err != nil {
		return err
	}
	data, _ := catalog["data"].(map[string]any)
	services, _ := data["services"].([]any)
	if err := a.step(ctx, "read the workspace catalog: %d services", len(services)); err != nil {
		return err
	}

	// A sandbox with its credentials encrypted to this agent's key.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub := manifests.B64(key.Public().(ed25519.PublicKey))
	sb, err := a.expect(ctx, "POST", acme+"/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free",
		"agent_public_key": pub, "project_name": "demo-shop", "sandbox": map[string]any{"enabled": true, "ttl_hours": 24}}, 201)
	if err != nil {
		return err
	}
	sandboxID := str(sb, "resource_id")
	a.report.Resources = append(a.report.Resources, sandboxID)
	token := str(sb, "credentials_bundle", "metadata", "resource_access_token")
	raw, _ := json.Marshal(sb["credentials_bundle"].(map[string]any)["encrypted_credentials"])
	var ec osp.EncryptedCredentials
	json.Unmarshal(raw, &ec)
	if _, err := osp.DecryptCredentials(key.Seed(), ec); err != nil {
		return fmt.Errorf("decrypting the bundle: %w", err)
	}
	a.report.Decrypted = true
	if err := a.step(ctx, "provisioned sandbox %s (acmedb/redis, 24 h TTL) and decrypted its bundle with the agent key", sandboxID); err != nil {
		return err
	}

	// Paid resources at two providers.
	pay := map[string]any{"payment_method": "stripe_spt", "payment_proof": "demo"}
	paid := func(base, offering, tier, project string, extra map[string]any, want ...int) (map[string]any, error) {
		body := map[string]any{"offering_id": offering, "tier_id": tier, "project_name": project}
		for k, v := range pay {
			body[k] = v
		}
		for k, v := range extra {
			body[k] = v
		}
		return a.expect(ctx, "POST", base+"/provision", "", body, want...)
	}
	pg, err := paid(acme, "acmedb/postgres", "pro", "demo-shop", nil, 201, 202)
	if err != nil {
		return err
	}
	a.report.Resources = append(a.report.Resources, str(pg, "resource_id"))
	if err := a.step(ctx, "provisioned %s (acmedb/postgres pro, USD 25.00 a month)", str(pg, "resource_id")); err != nil {
		return err
	}
	site, err := paid(sky, "skyhost/static-site", "team", "demo-web", nil, 201, 202)
	if err != nil {
		return err
	}
	a.report.Resources = append(a.report.Resources, str(site, "resource_id"))
	if err := a.step(ctx, "provisioned %s (skyhost/static-site team)", str(site, "resource_id")); err != nil {
		return err
	}
	clone, err := a.expect(ctx, "POST", acme+"/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "free", "project_name": "demo-shop",
		"sandbox": map[string]any{"enabled": true, "ttl_hours": 24, "seed_from": str(pg, "resource_id"), "seed_mode": "full_clone"}}, 201, 202)
	if err != nil {
		return err
	}
	a.report.Resources = append(a.report.Resources, str(clone, "resource_id"))
	if err := a.step(ctx, "seeded sandbox %s from %s (full clone)", str(clone, "resource_id"), str(pg, "resource_id")); err != nil {
		return err
	}

	// Time passes: asynchronous provisioning completes, usage accrues.
	if _, err := a.expect(ctx, "POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 3 * 3600}, 200); err != nil {
		return err
	}
	usage, err := a.expect(ctx, "GET", acme+"/resources/"+sandboxID+"/usage", token, nil, 200)
	if err != nil {
		return err
	}
	dims, _ := usage["dimensions"].([]any)
	if err := a.step(ctx, "advanced the sandbox clock 3 hours; the sandbox's usage report has %s", manifests.Plural(len(dims), "metered dimension")); err != nil {
		return err
	}
	summary, err := a.expect(ctx, "GET", acme+"/cost-summary", "", nil, 200)
	if err != nil {
		return err
	}
	if err := a.step(ctx, "cost so far at acmedb: %s %s", str(summary, "total_cost"), str(summary, "currency")); err != nil {
		return err
	}

	// A soft budget for the project: the next paid provision is refused, then overridden.
	if _, err := a.expect(ctx, "POST", acme+"/budgets", "", map[string]any{"scope": "project", "scope_id": "demo-shop",
		"limit": map[string]any{"amount": "40.00", "currency": "USD"}, "enforcement": "soft_block", "period": "monthly"}, 201, 409); err != nil {
		return err
	}
	st, body, err := a.call(ctx, "POST", acme+"/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "pro",
		"project_name": "demo-shop", "payment_method": "stripe_spt", "payment_proof": "demo"})
	if err != nil {
		return err
	}
	if st != http.StatusPaymentRequired || errorCode(body) != "budget_exceeded" {
		return fmt.Errorf("expected a soft budget block (402 budget_exceeded), got %d %s", st, describe(body))
	}
	if err := a.step(ctx, "hit the project's soft budget (402 budget_exceeded)"); err != nil {
		return err
	}
	over, err := paid(acme, "acmedb/postgres", "pro", "demo-shop", map[string]any{"budget_override": true}, 201, 202)
	if err != nil {
		return err
	}
	a.report.Resources = append(a.report.Resources, str(over, "resource_id"))
	a.report.SoftBlocked = true
	if err := a.step(ctx, "overrode the soft budget: provisioned %s", str(over, "resource_id")); err != nil {
		return err
	}

	// The provider's monthly spending cap (USD 100 unless raised) stops a USD 99 tier.
	st, body, err = a.call(ctx, "POST", acme+"/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "scale",
		"project_name": "demo-analytics", "payment_method": "stripe_spt", "payment_proof": "demo", "budget_override": true})
	if err != nil {
		return err
	}
	if st != http.StatusForbidden || errorCode(body) != "budget_exceeded" {
		return fmt.Errorf("expected the spending cap to refuse (403 budget_exceeded), got %d %s", st, describe(body))
	}
	a.report.CapBlocked = true
	if err := a.step(ctx, "blocked by acmedb's monthly spending cap (403 budget_exceeded)"); err != nil {
		return err
	}

	// Rotate the sandbox's credentials; after the grace period the old token is refused.
	if _, err := a.expect(ctx, "POST", acme+"/resources/"+sandboxID+"/credentials", token, map[string]any{}, 200); err != nil {
		return err
	}
	if err := a.step(ctx, "rotated the sandbox's credentials"); err != nil {
		return err
	}
	if _, err := a.expect(ctx, "POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 3600}, 200); err != nil {
		return err
	}
	st, body, err = a.call(ctx, "GET", acme+"/resources/"+sandboxID, token, nil)
	if err != nil {
		return err
	}
	if st != http.StatusUnauthorized || errorCode(body) != "credentials_rotated" {
		return fmt.Errorf("expected the old token to be refused (401 credentials_rotated), got %d %s", st, describe(body))
	}
	a.report.OldTokenDenied = true
	if err := a.step(ctx, "an hour later the old token is refused (401 credentials_rotated)"); err != nil {
		return err
	}

	// An outage on purpose: a scenario rule makes skyhost answer the next deprovision with 503,
	// as a provider that is down would; the agent honours Retry-After and tries again. (A run in
	// the default namespace, which is not made fresh, may find the rule of an earlier run.)
	if _, err := a.expect(ctx, "DELETE", "/ospbox/v1/scenarios/demo-outage", "", nil, 200, 404); err != nil {
		return err
	}
	if _, err := a.expect(ctx, "POST", "/ospbox/v1/scenarios", "", map[string]any{"id": "demo-outage", "name": "skyhost down for one call",
		"match": map[string]any{"provider": "skyhost", "operation": "osp.deprovision"}, "when": map[string]any{"times": 1},
		"effect": map[string]any{"error": "provider_unavailable", "retry_after_seconds": 1}}, 201); err != nil {
		return err
	}
	siteURL := sky + "/resources/" + str(site, "resource_id")
	st, body, err = a.call(ctx, "DELETE", siteURL, "", nil)
	if err != nil {
		return err
	}
	if st != http.StatusServiceUnavailable || errorCode(body) != "provider_unavailable" {
		return fmt.Errorf("expected the scenario rule's outage (503 provider_unavailable), got %d %s", st, describe(body))
	}
	if err := a.step(ctx, "skyhost is down (503 provider_unavailable, Retry-After 1 s): scenario rule demo-outage, on the Scenarios page"); err != nil {
		return err
	}
	if _, err := a.expect(ctx, "DELETE", siteURL, "", nil, 200, 202); err != nil {
		return err
	}
	a.report.OutageRetried = true
	if err := a.step(ctx, "retried: deprovisioned %s", str(site, "resource_id")); err != nil {
		return err
	}
	if err := a.fromZero(ctx); err != nil {
		return err
	}
	return a.step(ctx, "the demo is done — see Resources, Requests, Scenarios, Events, Spend and Orchestrator")
}

// fromZero is the orchestrator act (spec/orchestrator.md §2): what `ospbox projects` does, from
// no account and no token to a paid service, its credentials from the vault, and revocation.
func (a *agent) fromZero(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "ospbox-demo-projects-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c := &projects.Client{Target: a.o.Target, HTTP: a.o.Client, StateFile: filepath.Join(dir, "projects.json"), Wait: time.Minute,
		Approve: true} // the demo answers skyhost's consent as `projects add --approve` does
	p, err := c.Init(ctx, "demo-app")
	if err != nil {
		return err
	}
	if err := a.step(ctx, "from zero, as the orchestrator's client: project %s (ospbox projects init)", p.ID); err != nil {
		return err
	}
	added, err := c.Add(ctx, "skyhost/object-storage:standard")
	if err != nil {
		return err
	}
	how := "made from the user's attested identity"
	if added.Authorization == "oauth" {
		how = "linked by the user's OAuth consent " + added.Consent + " (approved for the demo, as --approve does)"
	}
	if err := a.step(ctx, "added skyhost/object-storage standard: account %s %s, payment token %s redeemed, resource %s", added.AccountID, how, added.PaidWith, added.ResourceID); err != nil {
		return err
	}
	vars, err := c.Env(ctx, true)
	if err != nil {
		return err
	}
	token := ""
	for _, v := range vars {
		if strings.HasSuffix(v.Name, "_RESOURCE_ACCESS_TOKEN") {
			token = v.Value
		}
	}
	if err := a.step(ctx, "read %s from the project's vault (ospbox projects env)", manifests.Plural(len(vars), "credential")); err != nil {
		return err
	}
	if _, err := c.Revoke(ctx); err != nil {
		return err
	}
	st, body, err := a.call(ctx, "GET", "/providers/skyhost/osp/v1/resources/"+added.ResourceID, token, nil)
	if err != nil {
		return err
	}
	if st != http.StatusUnauthorized {
		return fmt.Errorf("after revoke the agent's credential should be refused, got %d %s", st, describe(body))
	}
	a.report.FromZero = true
	return a.step(ctx, "revoked the project: the credential the agent was handed is refused (401 %s)", errorCode(body))
}
