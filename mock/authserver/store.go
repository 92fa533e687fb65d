package authserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// store is op.Storage for one provider, over the namespace's database. Times that the provider
// checks (expiry of tokens) are on the workspace clock; what op reports to the client
// (expires_in) is a duration, so it is the same on either clock.
type store struct {
	s    *Server
	p    Provider
	keys *keys
}

var _ op.Storage = (*store)(nil)

// notFound is the error op reads as "no such thing".
type notFound struct{ what string }

func (e notFound) Error() string { return e.what + " not found" }
func (notFound) IsNotFound()     {}

func randomToken(prefix string) string {
	b := make([]byte, 24)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func valueHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func (st *store) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("this server requires PKCE with code_challenge_method S256")
	}
	now := st.s.clock.Now()
	a := storage.OAuthRequest{ID: kernel.NewID("oar_", now), Provider: st.p.Slug, ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		State: req.State, Nonce: req.Nonce, Scopes: strings.Join(req.Scopes, " "), Challenge: req.CodeChallenge,
		ChallengeMethod: string(req.CodeChallengeMethod), ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		Status: "pending", CreatedAt: now}
	if err := st.s.db.Update(ctx, func(tx *storage.Tx) error { return tx.InsertOAuthRequest(ctx, a) }); err != nil {
		return nil, err
	}
	return authRequest{a}, nil
}

func (st *store) request(a storage.OAuthRequest, err error) (op.AuthRequest, error) {
	if errors.Is(err, storage.ErrNotFound) || (err == nil && a.Provider != st.p.Slug) {
		return nil, notFound{"authorization request"}
	}
	if err != nil {
		return nil, err
	}
	if st.s.clock.Now().After(a.CreatedAt.Add(requestLife)) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the authorization request expired")
	}
	return authRequest{a}, nil
}

func (st *store) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return st.request(st.s.db.OAuthRequest(ctx, id))
}

func (st *store) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return st.request(st.s.db.OAuthRequestByCode(ctx, code))
}

func (st *store) SaveAuthCode(ctx context.Context, id, code string) error {
	return st.s.db.Update(ctx, func(tx *storage.Tx) error { return tx.SetOAuthCode(ctx, id, code) })
}

func (st *store) DeleteAuthRequest(ctx context.Context, id string) error {
	return st.s.db.Update(ctx, func(tx *storage.Tx) error { return tx.DeleteOAuthRequest(ctx, id) })
}

// accessToken stores a new access token of grant and returns its id and op's expiry (which op
// only turns into expires_in).
func (st *store) accessToken(ctx context.Context, tx *storage.Tx, req op.TokenRequest, grant string, authTime time.Time) (string, time.Time, error) {
	now := st.s.clock.Now()
	t := storage.OAuthToken{ID: kernel.NewID("oat_", now), Provider: st.p.Slug, Kind: "access", GrantID: grant, ClientID: ClientID,
		Subject: req.GetSubject(), Scopes: strings.Join(providerScopes(req.GetScopes()), " "), Audience: strings.Join(req.GetAudience(), " "),
		AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(AccessTokenLife)}
	return t.ID, time.Now().Add(AccessTokenLife), tx.InsertOAuthToken(ctx, t, "")
}

// providerScopes drops the protocol's own scopes (offline_access) from what a token carries.
func providerScopes(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == oidc.ScopeOfflineAccess || s == oidc.ScopeOpenID })
}

func authTimeOf(req op.TokenRequest) time.Time {
	if a, ok := req.(interface{ GetAuthTime() time.Time }); ok {
		return a.GetAuthTime()
	}
	return time.Time{}
}

func (st *store) CreateAccessToken(ctx context.Context, req op.TokenRequest) (id string, exp time.Time, err error) {
	err = st.s.db.Update(ctx, func(tx *storage.Tx) error {
		id, exp, err = st.accessToken(ctx, tx, req, "", authTimeOf(req))
		return err
	})
	return id, exp, err
}

// CreateAccessAndRefreshTokens makes the tokens of a code exchange (a new grant) or of a refresh,
// which rotates the refresh token: the one presented is revoked, its grant goes on.
func (st *store) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (accessID, refresh string, exp time.Time, err error) {
	now := st.s.clock.Now()
	refresh = randomToken("osp_oauth_rt_")
	rt := storage.OAuthToken{ID: kernel.NewID("ort_", now), Provider: st.p.Slug, Kind: "refresh", ClientID: ClientID, Subject: req.GetSubject(),
		Scopes: strings.Join(req.GetScopes(), " "), Audience: strings.Join(req.GetAudience(), " "), AuthTime: authTimeOf(req),
		CreatedAt: now, ExpiresAt: now.Add(RefreshTokenLife)}
	rt.GrantID = rt.ID
	err = st.s.db.Update(ctx, func(tx *storage.Tx) error {
		if current != "" {
			old, err := st.s.db.OAuthRefreshToken(ctx, valueHash(current))
			if err != nil {
				return op.ErrInvalidRefreshToken
			}
			if live, err := tx.RevokeOAuthToken(ctx, old.ID, now); err != nil || !live {
				return op.ErrInvalidRefreshToken
			}
			rt.GrantID = old.GrantID
		}
		if err := tx.InsertOAuthToken(ctx, rt, valueHash(refresh)); err != nil {
			return err
		}
		accessID, exp, err = st.accessToken(ctx, tx, req, rt.GrantID, rt.AuthTime)
		return err
	})
	return accessID, refresh, exp, err
}

// TokenRequestByRefreshToken finds a live refresh token. A revoked one presented again means it
// leaked or was replayed: its whole grant is revoked (OAuth 2.1 §4.3.1).
func (st *store) TokenRequestByRefreshToken(ctx context.Context, value string) (op.RefreshTokenRequest, error) {
	t, err := st.s.db.OAuthRefreshToken(ctx, valueHash(value))
	if err != nil || t.Provider != st.p.Slug {
		return nil, op.ErrInvalidRefreshToken
	}
	now := st.s.clock.Now()
	if t.RevokedAt != nil {
		if err := st.s.db.Update(ctx, func(tx *storage.Tx) error { return tx.RevokeOAuthGrant(ctx, t.GrantID, now) }); err != nil {
			return nil, err
		}
		return nil, op.ErrInvalidRefreshToken
	}
	if !now.Before(t.ExpiresAt) {
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshRequest{t: t}, nil
}

func (st *store) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes a token by its id (op decrypts access tokens to their id) or a refresh
// token by its value; revoking a refresh token revokes its grant (RFC 7009 §2.1).
func (st *store) RevokeToken(ctx context.Context, tokenOrID, _, _ string) *oidc.Error {
	now := st.s.clock.Now()
	t, err := st.s.db.OAuthToken(ctx, tokenOrID)
	if errors.Is(err, storage.ErrNotFound) {
		t, err = st.s.db.OAuthRefreshToken(ctx, valueHash(tokenOrID))
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && t.Provider != st.p.Slug) {
		return nil // RFC 7009 §2.2: an unknown token is not an error
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	err = st.s.db.Update(ctx, func(tx *storage.Tx) error {
		if t.Kind == "refresh" {
			return tx.RevokeOAuthGrant(ctx, t.GrantID, now)
		}
		_, err := tx.RevokeOAuthToken(ctx, t.ID, now)
		return err
	})
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (st *store) GetRefreshTokenInfo(ctx context.Context, _ string, value string) (string, string, error) {
	t, err := st.s.db.OAuthRefreshToken(ctx, valueHash(value))
	if err != nil || t.Provider != st.p.Slug {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.Subject, t.ID, nil
}

// signingKey is the server's Ed25519 key, for op's key set and ID tokens.
type signingKey struct{ k *keys }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (s signingKey) Key() any                                    { return s.k.signing }
func (s signingKey) ID() string                                  { return s.k.kid }

type publicKey struct{ k *keys }

func (p publicKey) ID() string                         { return p.k.kid }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.signing.Public() }

func (st *store) SigningKey(context.Context) (op.SigningKey, error) { return signingKey{st.keys}, nil }
func (st *store) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.EdDSA}, nil
}
func (st *store) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{st.keys}}, nil }

func (st *store) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != ClientID {
		// An *oidc.Error, so op answers 401 invalid_client rather than a 500.
		return nil, oidc.ErrInvalidClient().WithDescription("no client %q here; the one client is %s", id, ClientID)
	}
	return client{p: st.p}, nil
}

func (st *store) AuthorizeClientIDSecret(context.Context, string, string) error {
	return oidc.ErrInvalidClient().WithDescription("the orchestrator is a public client: it proves itself with PKCE, not a secret")
}

func (st *store) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (st *store) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	info.Subject = subject
	info.Email = st.p.UserEmail
	return nil
}

func (st *store) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return oidc.ErrInvalidClient().WithDescription("introspection needs a confidential client; this server has none")
}

func (st *store) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (st *store) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, notFound{"client key"}
}

func (st *store) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnauthorizedClient()
}

func (st *store) Health(ctx context.Context) error { return nil }

// authRequest is a stored request as op reads it: once approved, its scopes are the ones the
// user granted, so the tokens carry exactly those.
type authRequest struct{ a storage.OAuthRequest }

func (r authRequest) GetID() string          { return r.a.ID }
func (r authRequest) GetACR() string         { return "" }
func (r authRequest) GetAMR() []string       { return []string{"user"} }
func (r authRequest) GetAudience() []string  { return []string{ClientID} }
func (r authRequest) GetClientID() string    { return r.a.ClientID }
func (r authRequest) GetNonce() string       { return r.a.Nonce }
func (r authRequest) GetRedirectURI() string { return r.a.RedirectURI }
func (r authRequest) GetState() string       { return r.a.State }
func (r authRequest) GetSubject() string     { return r.a.Subject }
func (r authRequest) Done() bool             { return r.a.Status == "approved" }
func (r authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(r.a.ResponseType)
}
func (r authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(r.a.ResponseMode)
}
func (r authRequest) GetAuthTime() time.Time {
	if r.a.DecidedAt != nil {
		return *r.a.DecidedAt
	}
	return time.Time{}
}
func (r authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: r.a.Challenge, Method: oidc.CodeChallengeMethod(r.a.ChallengeMethod)}
}
func (r authRequest) GetScopes() []string {
	if r.a.Status == "approved" {
		return strings.Fields(r.a.GrantedScopes)
	}
	return strings.Fields(r.a.Scopes)
}

// refreshRequest is a live refresh token as op reads it.
type refreshRequest struct {
	t      storage.OAuthToken
	scopes []string
}

func (r *refreshRequest) GetAMR() []string       { return []string{"user"} }
func (r *refreshRequest) GetAudience() []string  { return strings.Fields(r.t.Audience) }
func (r *refreshRequest) GetAuthTime() time.Time { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string    { return r.t.ClientID }
func (r *refreshRequest) GetSubject() string     { return r.t.Subject }
func (r *refreshRequest) GetScopes() []string {
	if r.scopes != nil {
		return r.scopes
	}
	return strings.Fields(r.t.Scopes)
}
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// client is the orchestrator as this server's one client: public, PKCE, code and refresh.
type client struct{ p Provider }

func (c client) GetID() string                    { return ClientID }
func (c client) RedirectURIs() []string           { return []string{c.p.Origin + CallbackPath} }
func (c client) PostLogoutRedirectURIs() []string { return nil }
func (c client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodNone }
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c client) LoginURL(id string) string            { return c.p.ConsentURL(id) }
func (c client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c client) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c client) DevMode() bool                        { return true } // http redirects: a local sandbox
func (c client) IsScopeAllowed(scope string) bool     { return slices.Contains(c.p.Scopes, scope) }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c client) ClockSkew() time.Duration             { return 0 }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
