package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// DefaultListen is the sandbox host's default address.
const DefaultListen = "127.0.0.1:7410"

// Config is the part of ospbox.json that ospbox reads. Settings other pages define are kept in
// the file and read by the features that need them.
type Config struct {
	Name     string         `json:"name"`
	Listen   string         `json:"listen"`
	OSP      OSPConfig      `json:"osp"`
	Caps     CapsConfig     `json:"caps"`
	Identity IdentityConfig `json:"identity"`
	Webhooks WebhooksConfig `json:"webhooks"`
	Faults   FaultsConfig   `json:"faults"`
	BSP      BSPConfig      `json:"bsp"`
	OAP      OAPConfig      `json:"oap"`
	// Namespaces is namespaces.* (spec/control.md §1).
	Namespaces NamespacesConfig `json:"namespaces"`
	// Orchestrator is orchestrator.* (spec/orchestrator.md).
	Orchestrator OrchestratorConfig `json:"orchestrator"`
}

// OrchestratorConfig is orchestrator.*: the signed-in user ospbox plays, the orchestrator's
// spending caps, and how each workspace provider authorizes it (spec/orchestrator.md §1).
type OrchestratorConfig struct {
	User OrchestratorUser `json:"user"`
	Caps OrchestratorCaps `json:"caps"`
	// Providers is keyed by the provider's slug.
	Providers map[string]OrchestratorProvider `json:"providers"`
}

// OrchestratorUser is orchestrator.user: the identity in the user's ID tokens.
type OrchestratorUser struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// OrchestratorCaps is orchestrator.caps: what payment tokens may reserve each month, per
// provider and for the user across providers. By default the per-provider cap is
// caps.default_monthly_limit and the user's is two and a half times it.
type OrchestratorCaps struct {
	PerProvider MoneyAmount `json:"per_provider"`
	User        MoneyAmount `json:"user"`
}

// OrchestratorProvider is orchestrator.providers.<slug>: "attested" account creation (the
// default) or "oauth" consent, and the scopes the provider offers.
type OrchestratorProvider struct {
	AccountCreation string   `json:"account_creation"`
	Scopes          []string `json:"scopes"`
}

// AccountCreations are the accepted values of orchestrator.providers.<slug>.account_creation.
var AccountCreations = []string{"attested", "oauth"}

// OAuthScopes are the scopes a workspace provider's OSP routes enforce, and so the values
// orchestrator.providers.<slug>.scopes may list (all of them when it lists none): provision
// (provisioning and tier changes), resources:read, resources:delete.
var OAuthScopes = []string{"provision", "resources:read", "resources:delete"}

// NamespacesConfig is namespaces.*.
type NamespacesConfig struct {
	Max int `json:"max"`
}

// MaxNamespaces is how many namespaces may live at once, the default one included: 1000 by
// default.
func (c NamespacesConfig) MaxNamespaces() int {
	if c.Max > 0 {
		return c.Max
	}
	return 1000
}

// OAPConfig is oap.* (spec/oap.md §8).
type OAPConfig struct {
	LogSizeSetting int `json:"log_size"`
}

// LogSize is how many entries each OAP log keeps, 1000 by default.
func (c OAPConfig) LogSize() int {
	if c.LogSizeSetting > 0 {
		return c.LogSizeSetting
	}
	return 1000
}

// BSPConfig is bsp.* (spec/bsp.md §5, §10–§14); zero values mean the defaults.
type BSPConfig struct {
	Credentials                 []BSPCredential `json:"credentials"`
	MaxBodyBytes                int64           `json:"max_body_bytes"`
	SSEKeepaliveSeconds         int             `json:"sse_keepalive_seconds"`
	EventLogSize                int             `json:"event_log_size"`
	IdempotencyRetentionSeconds int             `json:"idempotency_retention_seconds"`
	AcceptRelativeDataschema    bool            `json:"accept_relative_dataschema"`
	HeartbeatWindowSeconds      *int            `json:"heartbeat_window_seconds"`
	LegacyAlias                 bool            `json:"legacy_alias"`
}

// BSPCredential is a token agents present to the BSP/BEST services: the tenants it is bound to
// (["*"] for all; none: root routes only) and the command types it may submit (["*"] for all).
type BSPCredential struct {
	Token   string   `json:"token"`
	Tenants []string `json:"tenants"`
	Allow   []string `json:"allow"`
}

// BodyLimit is bsp.max_body_bytes, 1 MiB by default.
func (c BSPConfig) BodyLimit() int64 {
	if c.MaxBodyBytes > 0 {
		return c.MaxBodyBytes
	}
	return 1 << 20
}

// Keepalive is the SSE keepalive interval, 15 s by default.
func (c BSPConfig) Keepalive() time.Duration {
	if c.SSEKeepaliveSeconds > 0 {
		return time.Duration(c.SSEKeepaliveSeconds) * time.Second
	}
	return 15 * time.Second
}

// LogSize is how many events each service keeps, 10,000 by default.
func (c BSPConfig) LogSize() int {
	if c.EventLogSize > 0 {
		return c.EventLogSize
	}
	return 10000
}

// IdempotencyWindow is how long command ids are remembered, 24 hours by default.
func (c BSPConfig) IdempotencyWindow() time.Duration {
	if c.IdempotencyRetentionSeconds > 0 {
		return time.Duration(c.IdempotencyRetentionSeconds) * time.Second
	}
	return 24 * time.Hour
}

// HeartbeatWindow is how long a 0.6 service may stay silent after a heartbeat; 0 disables.
func (c BSPConfig) HeartbeatWindow() time.Duration {
	if c.HeartbeatWindowSeconds == nil {
		return 60 * time.Second
	}
	return time.Duration(*c.HeartbeatWindowSeconds) * time.Second
}

// FaultsConfig is faults.* (spec/osp.md §20.3).
type FaultsConfig struct {
	AllowHeader *bool `json:"allow_header"` // default true
}

// AllowFaultHeader reports whether X-Ospbox-Fault is honoured.
func (c Config) AllowFaultHeader() bool { return c.Faults.AllowHeader == nil || *c.Faults.AllowHeader }

// WebhooksConfig is webhooks.* (spec/osp.md §18.4).
type WebhooksConfig struct {
	AllowLoopback bool `json:"allow_loopback"`
}

// IdentityConfig holds identity.* (spec/osp.md §19).
type IdentityConfig struct {
	TAP struct {
		MaxLifetimeSeconds int  `json:"max_lifetime_seconds"`
		MaxTrustTier       *int `json:"max_trust_tier"`
	} `json:"tap"`
	Revoked []string     `json:"revoked"`
	APIKeys []APIKey     `json:"api_keys"`
	OIDC    []OIDCIssuer `json:"oidc"`
}

// OIDCIssuer is the local configuration of an OIDC issuer whose tokens agents may present
// (spec/osp.md §19.3): ospbox does not fetch remote key sets, so the keys are here.
type OIDCIssuer struct {
	Issuer    string          `json:"issuer"`
	JWKS      json.RawMessage `json:"jwks"`      // an inline JWK Set
	JWKSFile  string          `json:"jwks_file"` // or a JWK Set file, relative to the workspace
	Audience  string          `json:"audience"`  // default: the provider_id
	TrustTier *int            `json:"trust_tier"`
}

// APIKey is a provider API key an agent may present (osp_ak_…).
type APIKey struct {
	Key       string `json:"key"`
	Subject   string `json:"subject"`
	TrustTier int    `json:"trust_tier"`
}

// CapsConfig holds the caps.* settings (spec/osp.md §16.1).
type CapsConfig struct {
	DefaultMonthlyLimit MoneyAmount       `json:"default_monthly_limit"`
	FXRates             map[string]string `json:"fx_rates"`
}

// MoneyAmount is a decimal amount in a currency.
type MoneyAmount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// OSPConfig holds the osp.* settings.
type OSPConfig struct {
	DefaultProvider string           `json:"default_provider"`
	EndpointStyle   string           `json:"endpoint_style"`
	RateLimits      RateLimitsConfig `json:"rate_limits"`
	// RequireNonce makes a provision without a nonce 400; StrictNonce accepts only a UUID v4
	// or a string of at least 32 characters, never the nil UUID (spec/osp.md §6.4).
	RequireNonce bool `json:"require_nonce"`
	StrictNonce  bool `json:"strict_nonce"`
	// Auth.Strict refuses every route but discovery and health without an identity
	// (spec/osp.md §19.5).
	Auth OSPAuthConfig `json:"auth"`
	// Quotas caps the live resources a provider holds per offering id ("*": all its offerings
	// together); one more provision is 429 quota_exceeded (spec/osp.md §20.1).
	Quotas map[string]int `json:"quotas"`
}

// OSPAuthConfig is osp.auth.
type OSPAuthConfig struct {
	Strict bool `json:"strict"`
}

// RateLimitsConfig is osp.rate_limits: the headers are always sent; requests are refused only
// when Enforce is set (spec/osp.md §21).
type RateLimitsConfig struct {
	Enforce bool `json:"enforce"`
}

var amountSetting = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// EndpointStyles are the accepted values of osp.endpoint_style.
var EndpointStyles = []string{"brace", "colon", "append"}

// LoadConfig reads ospbox.json; a missing file gives the defaults.
func LoadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	doc, err := jsondoc.Parse(data)
	if err != nil {
		var se *jsondoc.SyntaxError
		if errors.As(err, &se) {
			line, col := doc.Position(se.Offset)
			return cfg, fmt.Errorf("%s:%d:%d: %s", path, line, col, se.Msg)
		}
		return cfg, err
	}
	if len(doc.Duplicates) > 0 {
		d := doc.Duplicates[0]
		line, col := doc.Position(d.Offset)
		return cfg, fmt.Errorf("%s:%d:%d: duplicate setting %q", path, line, col, d.Name)
	}
	if doc.Root.Kind != jsondoc.Object {
		return cfg, fmt.Errorf("%s: settings must be a JSON object", path)
	}
	decoded, err := decodeConfig(data)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return decoded, nil
}

func defaultConfig() Config {
	cfg := Config{Listen: DefaultListen, OSP: OSPConfig{EndpointStyle: "brace"},
		Caps: CapsConfig{DefaultMonthlyLimit: MoneyAmount{Amount: "100.00", Currency: "USD"}}}
	cfg.Orchestrator.complete(cfg.Caps.DefaultMonthlyLimit)
	return cfg
}

// decodeConfig reads the settings ospbox uses from a parsed-clean ospbox.json, with defaults.
func decodeConfig(data []byte) (Config, error) {
	cfg := defaultConfig()
	cfg.Orchestrator = OrchestratorConfig{} // its defaults depend on what is set (complete, below)
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&cfg); err != nil {
		return cfg, err
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.OSP.EndpointStyle == "" {
		cfg.OSP.EndpointStyle = "brace"
	}
	if !contains(EndpointStyles, cfg.OSP.EndpointStyle) {
		return cfg, fmt.Errorf("osp.endpoint_style %q is not one of brace, colon, append", cfg.OSP.EndpointStyle)
	}
	if cfg.Caps.DefaultMonthlyLimit.Amount == "" {
		cfg.Caps.DefaultMonthlyLimit = defaultConfig().Caps.DefaultMonthlyLimit
	}
	if !amountSetting.MatchString(cfg.Caps.DefaultMonthlyLimit.Amount) || !currencyCode.MatchString(cfg.Caps.DefaultMonthlyLimit.Currency) {
		return cfg, fmt.Errorf("caps.default_monthly_limit must be {\"amount\": \"100.00\", \"currency\": \"USD\"}")
	}
	for cur, rate := range cfg.Caps.FXRates {
		if !currencyCode.MatchString(cur) || !amountSetting.MatchString(rate) {
			return cfg, fmt.Errorf("caps.fx_rates must map currency codes to decimal strings, e.g. {\"EUR\": \"1.08\"}")
		}
	}
	for offering, n := range cfg.OSP.Quotas {
		if n < 0 {
			return cfg, fmt.Errorf("osp.quotas[%q] must be a whole number of resources, at least 0", offering)
		}
	}
	for i, c := range cfg.BSP.Credentials {
		if c.Token == "" {
			return cfg, fmt.Errorf("bsp.credentials[%d] needs a token", i)
		}
	}
	if err := cfg.Orchestrator.complete(cfg.Caps.DefaultMonthlyLimit); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// complete fills orchestrator.* defaults and checks what was set.
func (o *OrchestratorConfig) complete(providerDefault MoneyAmount) error {
	if o.User.UserID == "" {
		o.User.UserID = "usr_dev"
	}
	if o.User.Email == "" {
		o.User.Email = "dev@example.test"
	}
	if o.User.Name == "" {
		o.User.Name = "Dev User"
	}
	if !strings.Contains(o.User.Email, "@") {
		return fmt.Errorf("orchestrator.user.email %q is not an email address", o.User.Email)
	}
	if o.Caps.PerProvider.Amount == "" {
		o.Caps.PerProvider = providerDefault
	}
	if o.Caps.User.Amount == "" {
		whole, _ := new(big.Rat).SetString(o.Caps.PerProvider.Amount)
		if whole == nil {
			whole = new(big.Rat)
		}
		o.Caps.User = MoneyAmount{Amount: whole.Mul(whole, big.NewRat(5, 2)).FloatString(2), Currency: o.Caps.PerProvider.Currency}
	}
	// per_provider first: the user cap's default is made from it, so its mistake is the one to name.
	for _, c := range []struct {
		name string
		m    MoneyAmount
	}{{"per_provider", o.Caps.PerProvider}, {"user", o.Caps.User}} {
		if !amountSetting.MatchString(c.m.Amount) || !currencyCode.MatchString(c.m.Currency) {
			return fmt.Errorf("orchestrator.caps.%s must be {\"amount\": \"100.00\", \"currency\": \"USD\"}", c.name)
		}
	}
	if o.Caps.User.Currency != o.Caps.PerProvider.Currency {
		return fmt.Errorf("orchestrator.caps.user and orchestrator.caps.per_provider must be in one currency")
	}
	for _, slug := range slices.Sorted(maps.Keys(o.Providers)) { // the first mistake by name, every time
		p := o.Providers[slug]
		if p.AccountCreation == "" {
			p.AccountCreation = "attested"
			o.Providers[slug] = p
		}
		if !contains(AccountCreations, p.AccountCreation) {
			return fmt.Errorf("orchestrator.providers.%s.account_creation %q is not one of attested, oauth", slug, p.AccountCreation)
		}
		for _, sc := range p.Scopes {
			if !contains(OAuthScopes, sc) {
				return fmt.Errorf("orchestrator.providers.%s.scopes has %q; a provider enforces %s", slug, sc, strings.Join(OAuthScopes, ", "))
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
