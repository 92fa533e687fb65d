package osp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Attested account creation (spec/orchestrator.md §3): POST /osp/v1/accounts with
// {"attestation": "<JWT>"}. The JWT is the user's ID token from an orchestrator the provider
// trusts — this namespace's own (its issuer is the namespace's origin) or one the manifest
// advertises — verified against the issuer's JWKS fetched over HTTP: audience the provider id,
// an expiry at most five minutes after issue, a jti the provider has never accepted. The account
// is keyed by (issuer, subject); each attestation gives it one more API key (osp_ak_acct_…), which
// authenticates the account's provisioning; earlier keys stay valid, so clients adding services
// at once do not invalidate each other's.

// AccountKeyPrefix starts an account's API key.
const AccountKeyPrefix = "osp_ak_acct_"

// maxAttestationLife is the longest an attestation may live (exp − iat).
const maxAttestationLife = 5 * time.Minute

// issuerKeyCache keeps each issuer's JWKS for a few minutes, so a burst of attestations fetches
// it once.
type issuerKeyCache struct {
	mu   sync.Mutex
	sets map[string]cachedKeys
}

type cachedKeys struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
}

var jwksCache = issuerKeyCache{sets: map[string]cachedKeys{}}

// jwksClient fetches issuers' discovery documents and key sets.
var jwksClient = &http.Client{Timeout: 5 * time.Second}

// keysOf returns issuer's key set: from ospbox.json's identity.oidc when configured there, else
// from the issuer's discovery document over HTTP (cached five minutes).
func keysOf(ctx context.Context, issuer string, cfg manifests.Config, workspaceDir string) (*jose.JSONWebKeySet, error) {
	for _, c := range cfg.Identity.OIDC {
		if c.Issuer == issuer {
			if set, ok := issuerKeys(c, workspaceDir); ok {
				return set, nil
			}
		}
	}
	jwksCache.mu.Lock()
	c, ok := jwksCache.sets[issuer]
	jwksCache.mu.Unlock()
	if ok && time.Since(c.fetched) < 5*time.Minute {
		return c.set, nil
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := kernel.GetJSON(ctx, jwksClient, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if disc.Issuer != issuer || disc.JWKSURI == "" {
		return nil, fmt.Errorf("the discovery document of %s names issuer %q and jwks_uri %q", issuer, disc.Issuer, disc.JWKSURI)
	}
	var set jose.JSONWebKeySet
	if err := kernel.GetJSON(ctx, jwksClient, disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	jwksCache.mu.Lock()
	jwksCache.sets[issuer] = cachedKeys{set: &set, fetched: time.Now()}
	jwksCache.mu.Unlock()
	return &set, nil
}

func getJSON(ctx context.Context, url string, v any) error {
	return kernel.GetJSON(ctx, jwksClient, url, v)
}

// attestationClaims are an attestation's claims beyond the registered ones.
type attestationClaims struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

func attestationFailed(reason, message string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_attestation", Message: message, Details: map[string]any{"reason": reason}}
}

// accounts is the provider's account desk: attested creation and the keys it hands out.
type accounts struct{ *core }

// serve is POST /osp/v1/accounts.
func (s accounts) serve(w http.ResponseWriter, r *http.Request, p *ProviderState, mount string) {
	if !Allow(w, r, http.MethodPost) {
		return
	}
	cfg := *s.view().Config
	if ap, ok := s.oauthProvider(p, mount); ok {
		s.serveOAuthAccount(w, r, p, ap)
		return
	}
	var body struct {
		Attestation string `json:"attestation"`
	}
	dec := json.NewDecoder(strings.NewReader(string(kernel.ReadBody(r))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Attestation == "" {
		WriteError(w, InvalidRequest(`the body must be {"attestation": "<the user's ID token for this provider>"}`))
		return
	}
	m := p.Serving.Manifest
	local := strings.TrimSuffix(mount, "/providers/"+p.Slug)
	acct, key, created, aerr := s.createAccount(r.Context(), p.Slug, m, cfg, body.Attestation, append([]string{local}, advertisedIssuers(m)...))
	if aerr != nil {
		WriteError(w, aerr)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	kernel.WriteJSON(w, status, map[string]any{"account_id": acct.ID, "provider_id": m.ProviderID, "email": acct.Email,
		"issuer": acct.Issuer, "subject": acct.Subject, "created": created, "api_key": key,
		"created_at": acct.CreatedAt.UTC().Format(time.RFC3339)})
}

// createAccount verifies an attestation and makes or finds its account, with a new API key.
func (s accounts) createAccount(ctx context.Context, slug string, m *manifests.OSPManifest, cfg manifests.Config, token string, trusted []string) (storage.ProviderAccount, string, bool, *Error) {
	tok, err := jwt.ParseSigned(token, oidcAlgorithms)
	if err != nil {
		return storage.ProviderAccount{}, "", false, attestationFailed("malformed", "the attestation is not a signed JWT (EdDSA, ES256 or RS256)")
	}
	var unverified jwt.Claims
	tok.UnsafeClaimsWithoutVerification(&unverified)
	if !slices.Contains(trusted, unverified.Issuer) {
		return storage.ProviderAccount{}, "", false, &Error{Status: http.StatusForbidden, Code: "identity_issuer_unknown",
			Message: "this provider does not trust the issuer " + unverified.Issuer, Details: map[string]any{"issuer": unverified.Issuer, "trusted_issuers": trusted}}
	}
	keys, err := keysOf(ctx, unverified.Issuer, cfg, s.ws.Dir)
	if err != nil {
		return storage.ProviderAccount{}, "", false, attestationFailed("issuer_keys_unavailable", "the issuer's keys could not be read: "+err.Error())
	}
	var claims jwt.Claims
	var extra attestationClaims
	if err := tok.Claims(keys, &claims, &extra); err != nil {
		return storage.ProviderAccount{}, "", false, attestationFailed("bad_signature", "the attestation's signature does not verify against the issuer's keys")
	}
	now := s.clock.Now()
	switch {
	case claims.Subject == "" || extra.Email == "" || claims.ID == "" || claims.Expiry == nil || claims.IssuedAt == nil:
		return storage.ProviderAccount{}, "", false, attestationFailed("missing_claim", "an attestation carries iss, sub, email, aud, iat, exp and jti")
	case !claims.Audience.Contains(m.ProviderID):
		return storage.ProviderAccount{}, "", false, attestationFailed("audience_mismatch", "the attestation is for "+strings.Join(claims.Audience, ", ")+", not "+m.ProviderID)
	case claims.Expiry.Time().Sub(claims.IssuedAt.Time()) > maxAttestationLife:
		return storage.ProviderAccount{}, "", false, attestationFailed("too_long_lived", "an attestation may live at most five minutes")
	case now.After(claims.Expiry.Time().Add(30 * time.Second)):
		return storage.ProviderAccount{}, "", false, attestationFailed("expired", "the attestation expired at "+claims.Expiry.Time().UTC().Format(time.RFC3339))
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	key := AccountKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	acct := storage.ProviderAccount{Provider: slug, Issuer: claims.Issuer, Subject: claims.Subject, ID: kernel.NewID("acct_", now),
		Email: extra.Email, CreatedAt: now, UpdatedAt: now}
	var created bool
	var replayed bool
	err = s.db.Update(ctx, func(tx *storage.Tx) error {
		fresh, err := tx.UseJTI(ctx, slug, claims.ID, claims.Expiry.Time(), now)
		if err != nil || !fresh {
			replayed = !fresh
			return err
		}
		acct, created, err = tx.UpsertAccount(ctx, acct, keyHash(key))
		return err
	})
	switch {
	case err != nil:
		return acct, "", false, &Error{Status: 500, Code: "internal_error", Message: err.Error()}
	case replayed:
		return acct, "", false, attestationFailed("replayed", "this attestation (jti "+claims.ID+") was already used: ask the orchestrator for a new one")
	}
	return acct, key, created, nil
}

// keyHash is how an account key is stored.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// accountIdentity is the identity of an account key, or an error when the key is not one.
func (s *core) accountIdentity(ctx context.Context, slug, key string) (Identity, *Error) {
	a, err := s.db.AccountByKey(ctx, slug, keyHash(key))
	if errors.Is(err, storage.ErrNotFound) {
		return Identity{}, verifyFailed("unknown_api_key")
	}
	if err != nil {
		return Identity{}, &Error{Status: 500, Code: "internal_error", Message: err.Error()}
	}
	return Identity{Subject: a.ID, TrustTier: 1}, nil
}

// serveOAuthAccount is POST /osp/v1/accounts at a provider that takes OAuth consent: with one of
// its access tokens it names the linked account and what the grant allows; without, it is the
// 401 that points to the consent.
func (s accounts) serveOAuthAccount(w http.ResponseWriter, r *http.Request, p *ProviderState, ap authserver.Provider) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	id, ok, verr := s.oauthIdentity(r, p.Slug, token)
	if !ok {
		consentRequired(w, ap)
		return
	}
	if verr != nil {
		WriteError(w, verr)
		return
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"account_id": id.Subject, "provider_id": ap.ProviderID, "method": "oauth", "scopes": id.Scopes})
}
