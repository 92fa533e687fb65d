package orchestrator

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ospbox/ospbox/mock/kernel"
)

// ospbox is the user's OpenID Provider (spec/orchestrator.md §1): its issuer is the namespace's
// origin, discovery at <issuer>/.well-known/openid-configuration, and ID tokens are EdDSA JWTs
// that a provider verifies against the JWKS — the attestation of attested account creation.
// There is no login: the user is signed in by being the local user, so tokens are issued on
// request (POST /orchestrator/v1/id_token) for an audience, the way the orchestrator attests.

// MaxIDTokenLifetime is the longest an ID token lives: an attestation must expire within five
// minutes (§3).
const MaxIDTokenLifetime = 5 * time.Minute

func (e *Engine) serveDiscovery(w http.ResponseWriter, r *http.Request, origin string) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                origin,
		"jwks_uri":                              origin + "/orchestrator/v1/jwks",
		"id_token_signing_alg_values_supported": []string{"EdDSA"},
		"subject_types_supported":               []string{"public"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "jti", "email", "email_verified", "name"},
		"ospbox_id_token_endpoint":              origin + "/orchestrator/v1/id_token",
	})
}

func (e *Engine) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	k, err := e.loadKeys()
	if err != nil {
		writeError(w, err)
		return
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.signing.Public(), KeyID: k.kid, Algorithm: string(jose.EdDSA), Use: "sig"}}}
	w.Header().Set("Cache-Control", "max-age=300")
	kernel.WriteJSON(w, http.StatusOK, set)
}

func (e *Engine) serveUser(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	u := e.config().User
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"user_id": u.UserID, "email": u.Email, "name": u.Name})
}

// idTokenRequest is POST /orchestrator/v1/id_token's body.
type idTokenRequest struct {
	Audience         string `json:"audience"`
	ExpiresInSeconds int    `json:"expires_in_seconds"`
	Nonce            string `json:"nonce"`
}

func (e *Engine) serveIDToken(w http.ResponseWriter, r *http.Request, origin string) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	var req idTokenRequest
	if err := decodeStrict(r, &req); err != nil {
		writeError(w, err)
		return
	}
	ttl := MaxIDTokenLifetime
	switch {
	case req.Audience == "":
		writeError(w, badRequest("audience is required: the provider the token attests the user to"))
		return
	case req.ExpiresInSeconds < 0 || time.Duration(req.ExpiresInSeconds)*time.Second > MaxIDTokenLifetime:
		writeError(w, badRequest("expires_in_seconds must be between 1 and %d", int(MaxIDTokenLifetime/time.Second)))
		return
	case req.ExpiresInSeconds > 0:
		ttl = time.Duration(req.ExpiresInSeconds) * time.Second
	}
	token, claims, err := e.IDToken(origin, req.Audience, ttl, req.Nonce)
	if err != nil {
		writeError(w, err)
		return
	}
	kernel.WriteJSON(w, http.StatusCreated, map[string]any{"id_token": token, "expires_at": claims.Expiry.Time().UTC().Format(time.RFC3339), "jti": claims.ID})
}

// IDToken signs an ID token for the user, issued by issuer for audience, living ttl on the
// workspace clock, with a fresh jti (a provider refuses a jti it has seen).
func (e *Engine) IDToken(issuer, audience string, ttl time.Duration, nonce string) (string, jwt.Claims, error) {
	k, err := e.loadKeys()
	if err != nil {
		return "", jwt.Claims{}, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: k.signing},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.kid))
	if err != nil {
		return "", jwt.Claims{}, err
	}
	now := e.clock.Now()
	u := e.config().User
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := jwt.Claims{Issuer: issuer, Subject: u.UserID, Audience: jwt.Audience{audience}, IssuedAt: jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)), ID: "jti_" + base64.RawURLEncoding.EncodeToString(jti)}
	extra := map[string]any{"email": u.Email, "email_verified": true, "name": u.Name}
	if nonce != "" {
		extra["nonce"] = nonce
	}
	token, err := jwt.Signed(signer).Claims(claims).Claims(extra).Serialize()
	return token, claims, err
}
