package osp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// oidcAlgorithms are the signature algorithms accepted on OIDC tokens (spec/osp.md §19.3).
var oidcAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// oidcClaims are the claims read from an OIDC token beyond the registered ones.
type oidcClaims struct {
	jwt.Claims
}

// oidcCarrier is what the dialect C carrier authentication{method: "oidc"} says alongside the
// token; every member present must agree with the token.
type oidcCarrier struct {
	Issuer, Audience, Subject string
}

// advertisedIssuers are the OIDC issuers a provider's manifest trusts:
// identity.oauth2_issuers and extensions.osp_identity_federation (strings or {issuer}).
func advertisedIssuers(m *manifests.OSPManifest) []string {
	if m == nil || m.Doc == nil || m.Doc.Root == nil {
		return nil
	}
	var out []string
	add := func(list *jsondoc.Node) {
		if list == nil {
			return
		}
		for _, it := range list.Items {
			switch it.Kind {
			case jsondoc.String:
				out = append(out, it.Text)
			case jsondoc.Object:
				if iss := it.Str("issuer"); iss != "" {
					out = append(out, iss)
				}
			}
		}
	}
	if id := m.Doc.Root.Get("identity"); id != nil {
		add(id.Get("oauth2_issuers"))
	}
	if ext := m.Doc.Root.Get("extensions"); ext != nil {
		add(ext.Get("osp_identity_federation"))
	}
	return out
}

// verifyOIDC verifies an OIDC token presented to the provider of manifest m (spec/osp.md §19.3):
// the issuer must be advertised by the manifest and configured with keys in the workspace; the
// signature, issuer, audience and times must check out. The subject is "<iss>#<sub>".
func verifyOIDC(token string, m *manifests.OSPManifest, cfg manifests.Config, workspaceDir string, carrier *oidcCarrier, now time.Time) (Identity, *Error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Identity{}, verifyFailed("malformed")
	}
	hb, err := decodeSegment(parts[0])
	var header struct {
		Alg  string   `json:"alg"`
		Crit []string `json:"crit"`
	}
	if err != nil || json.Unmarshal(hb, &header) != nil {
		return Identity{}, verifyFailed("malformed")
	}
	if !slices.Contains(oidcAlgorithms, jose.SignatureAlgorithm(header.Alg)) || header.Crit != nil {
		return Identity{}, verifyFailed("unsupported_alg")
	}
	tok, err := jwt.ParseSigned(token, oidcAlgorithms)
	if err != nil {
		return Identity{}, verifyFailed("malformed")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Identity{}, verifyFailed("malformed")
	}
	if unverified.Issuer == "" {
		return Identity{}, verifyFailed("missing_claim", "claim", "iss")
	}
	if !slices.Contains(advertisedIssuers(m), unverified.Issuer) {
		return Identity{}, &Error{Status: 403, Code: "identity_issuer_unknown",
			Message: "this provider's manifest does not advertise the OIDC issuer " + unverified.Issuer,
			Details: map[string]any{"issuer": unverified.Issuer, "trusted_issuers": advertisedIssuers(m)}}
	}
	var conf *manifests.OIDCIssuer
	for i := range cfg.Identity.OIDC {
		if cfg.Identity.OIDC[i].Issuer == unverified.Issuer {
			conf = &cfg.Identity.OIDC[i]
		}
	}
	if conf == nil {
		return Identity{}, verifyFailed("issuer_keys_unavailable", "issuer", unverified.Issuer)
	}
	keys, ok := issuerKeys(*conf, workspaceDir)
	if !ok {
		return Identity{}, verifyFailed("issuer_keys_unavailable", "issuer", unverified.Issuer)
	}
	var claims jwt.Claims
	if err := tok.Claims(keys, &claims); err != nil {
		return Identity{}, verifyFailed("bad_signature")
	}
	for name, missing := range map[string]bool{"sub": claims.Subject == "", "exp": claims.Expiry == nil, "aud": len(claims.Audience) == 0} {
		if missing {
			return Identity{}, verifyFailed("missing_claim", "claim", name)
		}
	}
	audience := conf.Audience
	if audience == "" {
		audience = m.ProviderID
	}
	switch {
	case claims.Issuer != conf.Issuer || (carrier != nil && carrier.Issuer != "" && carrier.Issuer != claims.Issuer):
		return Identity{}, verifyFailed("issuer_mismatch")
	case !claims.Audience.Contains(audience) || (carrier != nil && carrier.Audience != "" && !claims.Audience.Contains(carrier.Audience)):
		return Identity{}, verifyFailed("audience_mismatch")
	case carrier != nil && carrier.Subject != "" && carrier.Subject != claims.Subject:
		return Identity{}, verifyFailed("sub_mismatch")
	}
	const leeway = 60 * time.Second
	switch {
	case now.Add(-leeway).After(claims.Expiry.Time()):
		return Identity{}, verifyFailed("expired")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(leeway)),
		claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(leeway)):
		return Identity{}, verifyFailed("not_yet_valid")
	}
	tier := 1
	if conf.TrustTier != nil {
		tier = *conf.TrustTier
	}
	return Identity{Subject: claims.Issuer + "#" + claims.Subject, TrustTier: tier}, nil
}

// issuerKeys reads an issuer's JWK Set, inline or from its file.
func issuerKeys(conf manifests.OIDCIssuer, workspaceDir string) (*jose.JSONWebKeySet, bool) {
	raw := []byte(conf.JWKS)
	if len(raw) == 0 && conf.JWKSFile != "" {
		path := conf.JWKSFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(workspaceDir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, false
		}
		raw = b
	}
	var set jose.JSONWebKeySet
	if len(raw) == 0 || json.Unmarshal(raw, &set) != nil || len(set.Keys) == 0 {
		return nil, false
	}
	return &set, true
}
