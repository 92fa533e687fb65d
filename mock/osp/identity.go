package osp

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Identity is a verified agent: its subject (owner of what it provisions) and trust tier.
type Identity struct {
	Subject   string
	TrustTier int
	Key       ed25519.PublicKey
	// OAuth is set for a provider's own OAuth access token, which allows only its Scopes.
	OAuth  bool
	Scopes []string
}

func (id *Identity) has(scope string) bool { return slices.Contains(id.Scopes, scope) }

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Decode decodes Bitcoin-alphabet base58.
func base58Decode(s string) ([]byte, bool) {
	n := new(big.Int)
	for _, c := range s {
		i := strings.IndexRune(base58Alphabet, c)
		if i < 0 {
			return nil, false
		}
		n.Mul(n, big.NewInt(58)).Add(n, big.NewInt(int64(i)))
	}
	out := n.Bytes()
	for _, c := range s {
		if c != '1' {
			break
		}
		out = append([]byte{0}, out...)
	}
	return out, true
}

func base58Encode(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), mod)
		out = append([]byte{base58Alphabet[mod.Int64()]}, out...)
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append([]byte{'1'}, out...)
	}
	return string(out)
}

// DIDKey is the did:key of an Ed25519 public key: did:key:z + base58btc(0xed 0x01 ‖ key).
func DIDKey(pub ed25519.PublicKey) string {
	return "did:key:z" + base58Encode(append([]byte{0xed, 0x01}, pub...))
}

// keyFromDID decodes an Ed25519 did:key.
func keyFromDID(did string) (ed25519.PublicKey, bool) {
	rest, ok := strings.CutPrefix(did, "did:key:z")
	if !ok {
		return nil, false
	}
	raw, ok := base58Decode(rest)
	if !ok || len(raw) != 34 || raw[0] != 0xed || raw[1] != 0x01 || !validPoint(raw[2:]) {
		return nil, false
	}
	return ed25519.PublicKey(raw[2:]), true
}

// verifyFailed is 403 identity_verification_failed with a reason (spec/osp.md §19.2).
func verifyFailed(reason string, extra ...any) *Error {
	d := map[string]any{"reason": reason}
	for i := 0; i+1 < len(extra); i += 2 {
		d[extra[i].(string)] = extra[i+1]
	}
	return &Error{Status: 403, Code: "identity_verification_failed", Message: "the agent attestation did not verify: " + strings.ReplaceAll(reason, "_", " "), Details: d}
}

// TAPPolicy is what the workspace allows of TAP attestations.
type TAPPolicy struct {
	MaxLifetime  time.Duration
	MaxTrustTier int
	Revoked      []string // did:key or jti values
}

// VerifyTAP checks a sandbox TAP attestation (compact JWS, EdDSA, self-issued) for a provider at
// time now.
func VerifyTAP(token, providerID string, now time.Time, policy TAPPolicy) (Identity, *Error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Identity{}, verifyFailed("malformed")
	}
	var header map[string]any
	var claims map[string]json.RawMessage
	hb, err1 := decodeSegment(parts[0])
	pb, err2 := decodeSegment(parts[1])
	sig, err3 := decodeSegment(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(pb, &claims) != nil || header == nil || claims == nil {
		return Identity{}, verifyFailed("malformed")
	}
	if header["alg"] != "EdDSA" || header["crit"] != nil {
		return Identity{}, verifyFailed("unsupported_alg")
	}
	kid, _ := header["kid"].(string)
	key, ok := keyFromDID(kid)
	if !ok {
		return Identity{}, verifyFailed("bad_kid")
	}
	for _, c := range []string{"iss", "sub", "aud", "iat", "exp", "trust_tier"} {
		if _, present := claims[c]; !present {
			return Identity{}, verifyFailed("missing_claim", "claim", c)
		}
	}
	var sub string
	if json.Unmarshal(claims["sub"], &sub) != nil || sub != kid {
		return Identity{}, verifyFailed("sub_mismatch")
	}
	if !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), sig) {
		return Identity{}, verifyFailed("bad_signature")
	}
	var iat, exp float64
	if json.Unmarshal(claims["iat"], &iat) != nil || json.Unmarshal(claims["exp"], &exp) != nil {
		return Identity{}, verifyFailed("malformed")
	}
	leeway := 60.0
	t := float64(now.Unix())
	switch {
	case exp+leeway < t:
		return Identity{}, verifyFailed("expired")
	case iat > t+leeway:
		return Identity{}, verifyFailed("not_yet_valid")
	case exp <= iat || time.Duration(exp-iat)*time.Second > policy.MaxLifetime:
		return Identity{}, verifyFailed("lifetime_too_long")
	}
	if raw, ok := claims["nbf"]; ok {
		var nbf float64
		if json.Unmarshal(raw, &nbf) != nil || nbf > t+leeway {
			return Identity{}, verifyFailed("not_yet_valid")
		}
	}
	if !audienceHas(claims["aud"], providerID) {
		return Identity{}, verifyFailed("audience_mismatch")
	}
	var tier json.Number
	dec := json.NewDecoder(strings.NewReader(string(claims["trust_tier"])))
	dec.UseNumber()
	if dec.Decode(&tier) != nil {
		return Identity{}, verifyFailed("invalid_trust_tier")
	}
	n, err := tier.Int64()
	if err != nil || n < 0 || n > 3 || int(n) > policy.MaxTrustTier {
		return Identity{}, verifyFailed("invalid_trust_tier")
	}
	var jti string
	json.Unmarshal(claims["jti"], &jti)
	for _, r := range policy.Revoked {
		if r == kid || (jti != "" && r == jti) {
			return Identity{}, &Error{Status: 403, Code: "attestation_revoked", Message: "this agent's attestation is revoked", Details: map[string]any{"revoked_at": nil, "reason": "listed in identity.revoked"}}
		}
	}
	return Identity{Subject: sub, TrustTier: int(n), Key: key}, nil
}

func decodeSegment(s string) ([]byte, error) {
	if strings.ContainsAny(s, "+/=") {
		return nil, errors.New("not base64url")
	}
	return base64URL(s)
}

func audienceHas(raw json.RawMessage, id string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == id
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if a == id {
				return true
			}
		}
	}
	return false
}

// tapPolicy is the workspace's TAP policy with its defaults.
func tapPolicy(cfg manifests.Config) TAPPolicy {
	p := TAPPolicy{MaxLifetime: 24 * time.Hour, MaxTrustTier: 3, Revoked: cfg.Identity.Revoked}
	if s := cfg.Identity.TAP.MaxLifetimeSeconds; s > 0 {
		p.MaxLifetime = time.Duration(s) * time.Second
	}
	if t := cfg.Identity.TAP.MaxTrustTier; t != nil {
		p.MaxTrustTier = *t
	}
	return p
}

// identify verifies every identity carrier of a request (spec/osp.md §19.1): the bearer
// value, the body's agent_attestation and agent_identity. It returns nil without any carrier;
// carriers that disagree on the subject are 400 invalid_request.
func (s *core) identify(r *http.Request, body *jsondoc.Node, slug string, m *manifests.OSPManifest) (*Identity, *Error) {
	cfg := *s.view().Config
	now := s.clock.Now()
	providerID := m.ProviderID
	var found []Identity
	var carrier *oidcCarrier // the C authentication{method: "oidc"} members, checked against its token
	verify := func(token string) *Error {
		switch {
		case strings.HasPrefix(token, "osp_rat_"):
			return nil // a resource access token: not an agent identity
		case strings.HasPrefix(token, AccountKeyPrefix):
			id, verr := s.accountIdentity(r.Context(), slug, token)
			if verr != nil {
				return verr
			}
			found = append(found, id)
			return nil
		case strings.HasPrefix(token, "osp_ak_"):
			for _, k := range cfg.Identity.APIKeys {
				if k.Key == token {
					found = append(found, Identity{Subject: k.Subject, TrustTier: k.TrustTier})
					return nil
				}
			}
			return verifyFailed("unknown_api_key")
		case strings.Count(token, ".") == 2:
			if h, err := decodeSegment(strings.SplitN(token, ".", 2)[0]); err == nil && strings.Contains(string(h), `"did:key:`) {
				id, verr := VerifyTAP(token, providerID, now, tapPolicy(cfg))
				if verr != nil {
					return verr
				}
				found = append(found, id)
				return nil
			}
			id, verr := verifyOIDC(token, m, cfg, s.ws.Dir, carrier, now)
			if verr != nil {
				return verr
			}
			found = append(found, id)
			return nil
		}
		if id, ok, verr := s.oauthIdentity(r, slug, token); ok {
			if verr != nil {
				return verr
			}
			found = append(found, id)
			return nil
		}
		return &Error{Status: 401, Code: "unauthorized", Message: "unrecognised bearer value"}
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		if e := verify(tok); e != nil {
			return nil, e
		}
	}
	if body != nil {
		if att := body.Str("agent_attestation"); att != "" {
			if e := verify(att); e != nil {
				return nil, e
			}
		}
		if ai := body.Get("agent_identity"); ai != nil {
			switch ai.Str("method") {
			case "api_key":
				key := ai.Str("credential")
				if key == "" {
					key = ai.Str("api_key")
				}
				if e := verify(key); e != nil {
					return nil, e
				}
			case "oauth2_client":
				if e := verify(ai.Str("credential")); e != nil {
					return nil, e
				}
			case "ed25519_did":
				key, ok := keyFromDID(ai.Str("credential"))
				if !ok {
					return nil, verifyFailed("bad_kid")
				}
				nonce := body.Str("nonce")
				if nonce == "" {
					return nil, verifyFailed("missing_claim", "claim", "nonce")
				}
				sig, err := manifests.DecodeB64(ai.Str("nonce_signature"))
				if err != nil || !ed25519.Verify(key, []byte(nonce), sig) {
					return nil, verifyFailed("bad_signature")
				}
				found = append(found, Identity{Subject: ai.Str("credential"), TrustTier: 0, Key: key})
			default:
				return nil, verifyFailed("unsupported_method")
			}
		}
		if auth := body.Get("authentication"); auth != nil && auth.Str("method") == "oidc" {
			tok := auth.Str("token")
			if tok == "" {
				return nil, verifyFailed("missing_claim", "claim", "token")
			}
			if strings.Count(tok, ".") != 2 {
				return nil, verifyFailed("malformed")
			}
			carrier = &oidcCarrier{Issuer: auth.Str("issuer"), Audience: auth.Str("audience"), Subject: auth.Str("subject")}
			id, verr := verifyOIDC(tok, m, cfg, s.ws.Dir, carrier, now)
			if verr != nil {
				return nil, verr
			}
			found = append(found, id)
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	for _, id := range found[1:] {
		if id.Subject != found[0].Subject {
			return nil, InvalidRequest("the identity carriers of this request name different agents")
		}
	}
	if body != nil && found[0].Key != nil {
		if k := body.Str("agent_public_key"); k != "" {
			if ak, err := ParseAgentKey(k); err == nil && !ak.Equal(found[0].Key) {
				return nil, verifyFailed("key_mismatch")
			}
		}
	}
	return &found[0], nil
}
