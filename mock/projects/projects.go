// Package projects is `ospbox projects`: an agent's way from zero to a running service through
// the orchestrator (spec/orchestrator.md §2), as a client of a running ospbox over HTTP only —
// the orchestrator API, the aggregated catalog and the providers' OSP APIs, the calls any agent
// could make. The project's token is kept in the user's config folder, one per target.
package projects

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/orchestrator"
)

// Client talks to one ospbox (Target: its base URL, a namespace's included).
type Client struct {
	Target string
	HTTP   *http.Client
	// StateFile keeps the current project per target; "" is the user's config folder.
	StateFile string
	// Wait is how long add waits for an asynchronous resource to be ready.
	Wait time.Duration
	// Log reports progress (nil: silent).
	Log func(format string, a ...any)
	// Approve answers a provider's consent for the user (scripts); otherwise add waits up to
	// ConsentWait (default five minutes) for the user to answer it in the UI.
	Approve     bool
	ConsentWait time.Duration
}

// Project is a project as the client keeps it.
type Project struct {
	ID    string `json:"project_id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// APIError is an error answer of ospbox or a provider.
type APIError struct {
	Status        int
	Code, Message string
	URL           string
	// Challenge is the answer's WWW-Authenticate header.
	Challenge string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s answered %d %s: %s", e.URL, e.Status, e.Code, e.Message)
}

func (c *Client) logf(format string, a ...any) {
	if c.Log != nil {
		c.Log(format, a...)
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// call sends a JSON request and decodes a JSON answer into out; an answer of 400 or more is an
// *APIError.
func (c *Client) call(ctx context.Context, method, url, token string, body, out any, hdr ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.Header.Set("User-Agent", "ospbox-projects")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 400 {
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(raw, &env)
		if env.Error.Code == "" {
			env.Error.Message = strings.TrimSpace(string(raw))
		}
		return resp.StatusCode, &APIError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message, URL: method + " " + url,
			Challenge: resp.Header.Get("WWW-Authenticate")}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: the answer is not JSON: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) api(path string) string { return strings.TrimSuffix(c.Target, "/") + path }

// state is the file of current projects, by target.
type state struct {
	Targets map[string]Project `json:"targets"`
}

func (c *Client) stateFile() (string, error) {
	if c.StateFile != "" {
		return c.StateFile, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "ospbox", "projects.json"), nil
}

func (c *Client) readState() (state, error) {
	s := state{Targets: map[string]Project{}}
	path, err := c.stateFile()
	if err != nil {
		return s, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s is not an ospbox projects file: %w", path, err)
	}
	if s.Targets == nil {
		s.Targets = map[string]Project{}
	}
	return s, nil
}

func (c *Client) writeState(s state) error {
	path, err := c.stateFile()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := path + ".saving"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Current is the target's current project, from init; OSPBOX_PROJECT_TOKEN and
// OSPBOX_PROJECT_ID name another.
func (c *Client) Current() (Project, error) {
	if tok, id := os.Getenv("OSPBOX_PROJECT_TOKEN"), os.Getenv("OSPBOX_PROJECT_ID"); tok != "" && id != "" {
		return Project{ID: id, Token: tok}, nil
	}
	s, err := c.readState()
	if err != nil {
		return Project{}, err
	}
	p, ok := s.Targets[strings.TrimSuffix(c.Target, "/")]
	if !ok {
		return Project{}, fmt.Errorf("no project for %s yet: run ospbox projects init", c.Target)
	}
	return p, nil
}

// Init makes a project at the orchestrator and makes it the target's current one.
func (c *Client) Init(ctx context.Context, name string) (Project, error) {
	var created struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Token string `json:"token"`
	}
	if _, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/projects"), "", map[string]string{"name": name}, &created); err != nil {
		return Project{}, err
	}
	p := Project{ID: created.ID, Name: created.Name, Token: created.Token}
	s, err := c.readState()
	if err != nil {
		return p, err
	}
	s.Targets[strings.TrimSuffix(c.Target, "/")] = p
	return p, c.writeState(s)
}

// Service is one offering of the aggregated catalog, with what the add flow needs.
type Service struct {
	OfferingID   string `json:"offering_id"`
	ProviderSlug string `json:"provider_slug"`
	ProviderID   string `json:"provider_id"`
	Name         string `json:"name"`
	DefaultTier  string `json:"default_tier"`
	Tiers        []Tier `json:"tiers"`
}

// Tier is one tier of a service.
type Tier struct {
	TierID string `json:"tier_id"`
	Name   string `json:"name"`
	Price  struct {
		Amount   string  `json:"amount"`
		Currency string  `json:"currency"`
		Interval *string `json:"interval"`
	} `json:"price"`
}

// ProviderEntry is one provider of the catalog.
type ProviderEntry struct {
	ProviderSlug string `json:"provider_slug"`
	ProviderID   string `json:"provider_id"`
	ProviderName string `json:"provider_name"`
	OSPBaseURL   string `json:"osp_base_url"`
}

// Catalog is the aggregated catalog (catalog.md's envelope's data).
type Catalog struct {
	Providers []ProviderEntry `json:"providers"`
	Services  []Service       `json:"services"`
}

// Catalog reads the aggregated catalog.
func (c *Client) Catalog(ctx context.Context) (Catalog, json.RawMessage, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if _, err := c.call(ctx, http.MethodGet, c.api("/ospbox/v1/catalog"), "", nil, &env); err != nil {
		return Catalog{}, nil, err
	}
	var cat Catalog
	err := json.Unmarshal(env.Data, &cat)
	return cat, env.Data, err
}

// Added is what Add did.
type Added struct {
	ProjectID  string   `json:"project_id"`
	ResourceID string   `json:"resource_id"`
	OfferingID string   `json:"offering_id"`
	TierID     string   `json:"tier_id"`
	ProviderID string   `json:"provider_id"`
	AccountID  string   `json:"account_id"`
	Status     string   `json:"status"`
	PaidWith   string   `json:"payment_token,omitempty"`
	Stored     []string `json:"stored_credentials"`
	// Authorization is how the account was reached: "attested" or "oauth" (then Consent is the
	// consent the user answered).
	Authorization string `json:"authorization"`
	Consent       string `json:"consent_id,omitempty"`
}

// Add takes a service from the catalog to running credentials in the project's vault:
// attested account at the provider, a payment token when the tier costs money, provisioning
// with it, and the credentials stored (spec/orchestrator.md §2).
func (c *Client) Add(ctx context.Context, ref string) (Added, error) {
	proj, err := c.Current()
	if err != nil {
		return Added{}, err
	}
	offering, tierID, _ := strings.Cut(ref, ":")
	cat, _, err := c.Catalog(ctx)
	if err != nil {
		return Added{}, err
	}
	var svc *Service
	for i := range cat.Services {
		if cat.Services[i].OfferingID == offering {
			svc = &cat.Services[i]
		}
	}
	if svc == nil {
		var ids []string
		for _, s := range cat.Services {
			ids = append(ids, s.OfferingID)
		}
		sort.Strings(ids)
		return Added{}, fmt.Errorf("no service %q in the catalog; it has %s", offering, strings.Join(ids, ", "))
	}
	if tierID == "" {
		tierID = svc.DefaultTier
	}
	var tier *Tier
	for i := range svc.Tiers {
		if svc.Tiers[i].TierID == tierID {
			tier = &svc.Tiers[i]
		}
	}
	if tier == nil {
		return Added{}, fmt.Errorf("%s has no tier %q", offering, tierID)
	}
	var base string
	for _, p := range cat.Providers {
		if p.ProviderSlug == svc.ProviderSlug {
			base = strings.TrimSuffix(p.OSPBaseURL, "/")
		}
	}
	out := Added{ProjectID: proj.ID, OfferingID: offering, TierID: tierID, ProviderID: svc.ProviderID}

	// Authorization: the user's identity, attested to this provider; the account's key.
	var idt struct {
		IDToken string `json:"id_token"`
	}
	if _, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/id_token"), "", map[string]string{"audience": svc.ProviderID}, &idt); err != nil {
		return out, err
	}
	var acct struct {
		AccountID string `json:"account_id"`
		APIKey    string `json:"api_key"`
		Created   bool   `json:"created"`
	}
	_, err = c.call(ctx, http.MethodPost, base+"/accounts", "", map[string]string{"attestation": idt.IDToken}, &acct)
	var refused *APIError
	switch {
	case errors.As(err, &refused) && refused.Status == http.StatusUnauthorized && authserver.ResourceMetadataOf(refused.Challenge) != "":
		// The provider links accounts by OAuth consent: the user answers, the orchestrator holds
		// the grant, and its access token authenticates what follows.
		// A grant the project already holds at this provider is used again; the user is asked
		// only when there is none, or it no longer works.
		consent, err := c.heldConsent(ctx, proj, svc.ProviderID)
		if err == nil && consent.ID != "" {
			acct.APIKey, err = c.consentToken(ctx, proj, consent.ID)
		}
		if err != nil || consent.ID == "" {
			if consent, err = c.consent(ctx, proj, svc.ProviderID, authserver.ResourceMetadataOf(refused.Challenge)); err != nil {
				return out, err
			}
			if acct.APIKey, err = c.consentToken(ctx, proj, consent.ID); err != nil {
				return out, err
			}
		}
		out.Consent, out.Authorization = consent.ID, "oauth"
		if _, err := c.call(ctx, http.MethodPost, base+"/accounts", acct.APIKey, map[string]any{}, &acct); err != nil {
			return out, err
		}
		c.logf("account %s at %s, linked by consent %s (scopes %s)", acct.AccountID, svc.ProviderID, consent.ID, strings.Join(slices.DeleteFunc(consent.Granted, func(s string) bool { return s == "offline_access" }), " "))
	case err != nil:
		return out, err
	default:
		out.Authorization = "attested"
		c.logf("account %s at %s (%s)", acct.AccountID, svc.ProviderID, map[bool]string{true: "created from the attestation", false: "found"}[acct.Created])
	}
	out.AccountID = acct.AccountID

	// Payment: a token capped at the tier's price, for a paid tier.
	body := map[string]any{"offering_id": offering, "tier_id": tierID, "project_name": proj.Name}
	if price := tier.Price.Amount; price != "" && strings.Trim(price, "0.") != "" {
		var tok struct {
			ID string `json:"id"`
		}
		if _, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/payment_tokens"), "", map[string]any{"provider_id": svc.ProviderID, "project_id": proj.ID,
			"max_amount": map[string]string{"amount": price, "currency": tier.Price.Currency}}, &tok); err != nil {
			return out, err
		}
		body["payment_method"], body["payment_proof"] = "orchestrator_token", tok.ID
		out.PaidWith = tok.ID
		c.logf("payment token %s for up to %s %s", tok.ID, price, tier.Price.Currency)
	}
	if body["project_name"] == "" {
		delete(body, "project_name")
	}

	// Provisioning, then the credentials once the resource is ready.
	var res map[string]any
	if _, err := c.call(ctx, http.MethodPost, base+"/provision", acct.APIKey, body, &res); err != nil {
		return out, err
	}
	out.ResourceID, _ = res["resource_id"].(string)
	out.Status, _ = res["status"].(string)
	deadline := time.Now().Add(c.Wait)
	for res["credentials_bundle"] == nil && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		res = nil
		if _, err := c.call(ctx, http.MethodGet, base+"/resources/"+out.ResourceID, acct.APIKey, nil, &res); err != nil {
			return out, err
		}
		out.Status, _ = res["status"].(string)
	}
	creds := credentialsOf(res)
	if len(creds) == 0 {
		return out, fmt.Errorf("%s is still %s after %s, so its credentials are not in the vault; it goes on at the provider (and is paid): wait with a longer --wait next time, or move the sandbox clock", out.ResourceID, out.Status, c.Wait)
	}
	entry := map[string]any{"resource_id": out.ResourceID, "provider_id": svc.ProviderID, "provider_url": base, "offering_id": offering,
		"tier_id": tierID, "account_id": acct.AccountID, "credentials": creds}
	if _, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/projects/"+proj.ID+"/credentials"), proj.Token, entry, nil); err != nil {
		return out, err
	}
	for k := range creds {
		out.Stored = append(out.Stored, k)
	}
	sort.Strings(out.Stored)
	return out, nil
}

// credentialsOf flattens a status answer's bundle: its string credentials and the resource
// access token.
func credentialsOf(res map[string]any) map[string]string {
	bundle, _ := res["credentials_bundle"].(map[string]any)
	out := map[string]string{}
	if creds, ok := bundle["credentials"].(map[string]any); ok {
		for k, v := range creds {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	if meta, ok := bundle["metadata"].(map[string]any); ok {
		if t, ok := meta["resource_access_token"].(string); ok {
			out["resource_access_token"] = t
		}
	}
	return out
}

// EnvVar is one credential as an environment variable, as the orchestrator answers it.
type EnvVar = orchestrator.EnvVar

// Env reads the project's credentials, redacted unless reveal.
func (c *Client) Env(ctx context.Context, reveal bool) ([]EnvVar, error) {
	proj, err := c.Current()
	if err != nil {
		return nil, err
	}
	var out struct {
		Variables []EnvVar `json:"variables"`
	}
	q := ""
	if reveal {
		q = "?reveal=true"
	}
	_, err = c.call(ctx, http.MethodGet, c.api("/orchestrator/v1/projects/"+proj.ID+"/env"+q), proj.Token, nil, &out)
	return out.Variables, err
}

// Resource is one resource of the project.
type Resource struct {
	ResourceID  string `json:"resource_id"`
	ProviderID  string `json:"provider_id"`
	ProviderURL string `json:"provider_url"`
	OfferingID  string `json:"offering_id"`
	TierID      string `json:"tier_id"`
	AccountID   string `json:"account_id"`
	AddedAt     string `json:"added_at"`
}

// List is the project and its resources.
func (c *Client) List(ctx context.Context) (Project, []Resource, error) {
	proj, err := c.Current()
	if err != nil {
		return proj, nil, err
	}
	var out struct {
		Name      string     `json:"name"`
		Resources []Resource `json:"resources"`
	}
	_, err = c.call(ctx, http.MethodGet, c.api("/orchestrator/v1/projects/"+proj.ID), "", nil, &out)
	proj.Name = out.Name
	return proj, out.Resources, err
}

// Remove deprovisions one of the project's resources at its provider and forgets its
// credentials.
func (c *Client) Remove(ctx context.Context, resourceID string) error {
	proj, resources, err := c.List(ctx)
	if err != nil {
		return err
	}
	var res *Resource
	for i := range resources {
		if resources[i].ResourceID == resourceID {
			res = &resources[i]
		}
	}
	if res == nil {
		return fmt.Errorf("%s is not in project %s", resourceID, proj.ID)
	}
	vars, err := c.Env(ctx, true)
	if err != nil {
		return err
	}
	token := ""
	for _, v := range vars {
		if v.ResourceID == resourceID && strings.HasSuffix(v.Name, "_RESOURCE_ACCESS_TOKEN") {
			token = v.Value
		}
	}
	if st, err := c.call(ctx, http.MethodDelete, res.ProviderURL+"/resources/"+resourceID, token, nil, nil); err != nil && st != http.StatusNotFound {
		return err
	}
	_, err = c.call(ctx, http.MethodDelete, c.api("/orchestrator/v1/projects/"+proj.ID+"/credentials/"+resourceID), proj.Token, nil, nil)
	return err
}

// Spend is the orchestrator's standing against its caps this month.
func (c *Client) Spend(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := c.call(ctx, http.MethodGet, c.api("/orchestrator/v1/spend"), "", nil, &out)
	return out, err
}

// Revoke revokes every credential of the project at every provider and deprovisions its
// resources.
func (c *Client) Revoke(ctx context.Context) (json.RawMessage, error) {
	proj, err := c.Current()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	_, err = c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/projects/"+proj.ID+"/revoke"), proj.Token, map[string]any{}, &out)
	return out, err
}

// Consent is a consent as the orchestrator answers it.
type Consent struct {
	ID               string   `json:"consent_id"`
	ProviderID       string   `json:"provider_id"`
	Status           string   `json:"status"`
	Scopes           []string `json:"scopes"`
	Granted          []string `json:"granted_scopes"`
	AuthorizationURL string   `json:"authorization_url"`
	ConsentURL       string   `json:"consent_url"`
	Error            string   `json:"error"`
}

// consent asks the orchestrator for the user's consent at the provider whose 401 named
// metadata, and waits for the answer (or gives it, with Approve).
func (c *Client) consent(ctx context.Context, proj Project, providerID, metadata string) (Consent, error) {
	var cs Consent
	if _, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/projects/"+proj.ID+"/consents"), proj.Token,
		map[string]any{"resource_metadata": metadata, "provider_id": providerID}, &cs); err != nil {
		return cs, err
	}
	if c.Approve {
		c.logf("consent %s for %s at %s: approving it (--approve)", cs.ID, strings.Join(cs.Scopes, " "), providerID)
		if _, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/consents/"+cs.ID+"/approve"), proj.Token, map[string]any{}, &cs); err != nil {
			return cs, err
		}
	} else {
		c.logf("%s asks for consent to %s: approve or deny it at %s (the Orchestrator page, or the desktop window); waiting", providerID, strings.Join(cs.Scopes, " "), cs.ConsentURL)
		wait := c.ConsentWait
		if wait == 0 {
			wait = 5 * time.Minute
		}
		for deadline := time.Now().Add(wait); cs.Status == "pending"; {
			if time.Now().After(deadline) {
				return cs, fmt.Errorf("nobody answered consent %s within %s; answer it at %s, or pass --approve", cs.ID, wait, cs.ConsentURL)
			}
			select {
			case <-ctx.Done():
				return cs, ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
			if _, err := c.call(ctx, http.MethodGet, c.api("/orchestrator/v1/consents/"+cs.ID), proj.Token, nil, &cs); err != nil {
				return cs, err
			}
		}
	}
	switch cs.Status {
	case "approved":
		return cs, nil
	case "denied":
		return cs, &APIError{Status: http.StatusForbidden, Code: "access_denied", Message: "the user denied " + providerID + " access (" + cs.Error + ")"}
	}
	return cs, fmt.Errorf("consent %s ended %s: %s", cs.ID, cs.Status, cs.Error)
}

// heldConsent is the project's newest approved consent at providerID (ID "" when none).
func (c *Client) heldConsent(ctx context.Context, proj Project, providerID string) (Consent, error) {
	var list struct {
		Consents []Consent `json:"consents"`
	}
	if _, err := c.call(ctx, http.MethodGet, c.api("/orchestrator/v1/projects/"+proj.ID+"/consents"), proj.Token, nil, &list); err != nil {
		return Consent{}, err
	}
	for _, cs := range list.Consents {
		if cs.ProviderID == providerID && cs.Status == "approved" {
			return cs, nil
		}
	}
	return Consent{}, nil
}

// consentToken is a live access token of an approved consent, refreshed by the orchestrator
// when it has expired.
func (c *Client) consentToken(ctx context.Context, proj Project, consentID string) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_, err := c.call(ctx, http.MethodPost, c.api("/orchestrator/v1/consents/"+consentID+"/token"), proj.Token, map[string]any{}, &tok)
	return tok.AccessToken, err
}
