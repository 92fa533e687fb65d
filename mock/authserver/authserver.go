// Package authserver is a workspace provider's OAuth 2.0 authorization server (spec/orchestrator.md
// §3): authorization code with PKCE (S256 only), refresh tokens that rotate, revocation, and the
// consent step answered by the local user. zitadel/oidc's op package speaks the protocol; this
// package keeps its state in the namespace's database and decides who may consent.
//
// Each provider's server has its issuer at <provider mount>/oauth. Its one client is the
// orchestrator of the same namespace ("ospbox-orchestrator", public, redirecting to
// <namespace origin>/orchestrator/v1/oauth/callback). Access tokens are opaque: the provider
// verifies one with Verify, which also reads its scopes, expiry and revocation from the database.
package authserver

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// ClientID is the orchestrator's client id at every workspace provider's server.
const ClientID = "ospbox-orchestrator"

// CallbackPath is where the orchestrator takes the answer, under its namespace's origin.
const CallbackPath = "/orchestrator/v1/oauth/callback"

// Lifetimes, on the workspace clock.
const (
	AccessTokenLife  = time.Hour
	RefreshTokenLife = 30 * 24 * time.Hour
	requestLife      = 15 * time.Minute
)

// DefaultScopes are the scopes a provider offers when orchestrator.providers.<slug>.scopes is
// not set: what the OSP routes enforce.
var DefaultScopes = manifests.OAuthScopes

// The scopes a workspace provider enforces (manifests.OAuthScopes).
const (
	ScopeProvision = "provision"        // POST /provision, tier changes
	ScopeRead      = "resources:read"   // reading resources, usage and costs
	ScopeDelete    = "resources:delete" // deprovisioning
)

// secretFile keeps the providers' authorization servers' secret in the workspace's keys folder.
const secretFile = "authserver.secret"

// Deps is what the host gives the server.
type Deps struct {
	DB      *storage.DB
	Clock   kernel.Clock
	KeysDir string
}

// Server is one namespace's authorization servers, one per provider, made on first use.
type Server struct {
	db      *storage.DB
	clock   kernel.Clock
	keysDir string

	mu      sync.Mutex
	servers map[string]*op.Provider // by issuer

	keysOnce sync.Once
	keys     *keys
	keysErr  error
}

type keys struct {
	signing ed25519.PrivateKey
	kid     string
	crypto  op.Crypto
	cryptoK [32]byte
}

// New makes the server; its keys are read or made when first needed.
func New(d Deps) *Server {
	return &Server{db: d.DB, clock: d.Clock, keysDir: d.KeysDir, servers: map[string]*op.Provider{}}
}

func (s *Server) loadKeys() (*keys, error) {
	s.keysOnce.Do(func() {
		secret, err := kernel.LoadSecret(s.keysDir, secretFile)
		if err != nil {
			s.keysErr = err
			return
		}
		k := &keys{signing: ed25519.NewKeyFromSeed(kernel.Derive(secret, "authorization server signing key"))}
		copy(k.cryptoK[:], kernel.Derive(secret, "access token key"))
		sum := sha256.Sum256(k.signing.Public().(ed25519.PublicKey))
		k.kid = "ospbox-as-" + hex.EncodeToString(sum[:8])
		k.crypto = op.NewAES256GCMCrypto(k.cryptoK, k.kid)
		s.keys = k
	})
	return s.keys, s.keysErr
}

// Provider is one provider as its authorization server needs it.
type Provider struct {
	Slug, ProviderID, DisplayName string
	// Mount is the provider's base URL (its OSP routes are under it); Origin the namespace's,
	// where the orchestrator and the UI are.
	Mount, Origin string
	// Scopes are the scopes it offers.
	Scopes []string
	// User is who consents: the namespace's signed-in user, by the orchestrator's issuer.
	UserIssuer, UserSubject, UserEmail string
}

// Issuer is the provider's authorization server's issuer.
func (p Provider) Issuer() string { return p.Mount + "/oauth" }

// ResourceMetadataURL is where the provider's Protected Resource Metadata (RFC 9728) is.
func (p Provider) ResourceMetadataURL() string {
	return p.Mount + "/.well-known/oauth-protected-resource"
}

// ResourceMetadata is the provider's RFC 9728 document.
func (p Provider) ResourceMetadata() map[string]any {
	return map[string]any{"resource": p.Mount, "authorization_servers": []string{p.Issuer()},
		"scopes_supported": p.Scopes, "bearer_methods_supported": []string{"header"}, "resource_name": p.DisplayName}
}

// Challenge is the WWW-Authenticate value of a 401 that asks for OAuth (RFC 9728 §5.1).
func (p Provider) Challenge() string {
	return `Bearer resource_metadata="` + p.ResourceMetadataURL() + `", scope="` + strings.Join(p.Scopes, " ") + `"`
}

// ResourceMetadataOf is the resource_metadata URL of a WWW-Authenticate challenge such as
// Challenge writes (RFC 9728 §5.1), or "" when it names none.
func ResourceMetadataOf(challenge string) string {
	_, rest, ok := strings.Cut(challenge, `resource_metadata="`)
	if !ok {
		return ""
	}
	u, _, _ := strings.Cut(rest, `"`)
	return u
}

// ConsentURL is the UI page where the user answers request id.
func (p Provider) ConsentURL(id string) string {
	return kernel.UIPage(p.Origin, "consent", url.Values{"request": {id}})
}

// Serve answers the provider's authorization server; path is relative to its issuer. The RFC
// 8414 document is the OpenID one (RFC 8414 §5 lets them be the same), and /consent takes the
// user's answer.
func (s *Server) Serve(w http.ResponseWriter, r *http.Request, p Provider, path string) {
	if path == "/consent" {
		s.serveConsent(w, r, p)
		return
	}
	o, err := s.providerFor(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r2 := r.Clone(op.ContextWithIssuer(r.Context(), p.Issuer()))
	if path == "/.well-known/oauth-authorization-server" {
		path = oidc.DiscoveryEndpoint
	}
	r2.URL.Path, r2.URL.RawPath = path, ""
	o.ServeHTTP(w, r2)
}

func (s *Server) providerFor(p Provider) (*op.Provider, error) {
	k, err := s.loadKeys()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One server per issuer and configuration: the scopes or the user may change with a reload.
	key := p.Issuer() + "\x00" + p.Origin + "\x00" + strings.Join(p.Scopes, " ") + "\x00" + p.UserSubject + "\x00" + p.UserIssuer
	if o, ok := s.servers[key]; ok {
		return o, nil
	}
	cfg := &op.Config{CryptoKey: k.cryptoK, CryptoKeyId: k.kid, CodeMethodS256: true, GrantTypeRefreshToken: true,
		SupportedScopes: append(slices.Clone(p.Scopes), oidc.ScopeOfflineAccess)}
	o, err := op.NewProvider(cfg, &store{s: s, p: p, keys: k}, op.StaticIssuer(p.Issuer()), op.WithAllowInsecure(),
		op.WithCustomTokenEndpoint(op.NewEndpoint("token")), op.WithCustomIntrospectionEndpoint(op.NewEndpoint("introspect")))
	if err != nil {
		return nil, err
	}
	s.servers[key] = o
	return o, nil
}

// Grant is what a verified access token allows.
type Grant struct {
	TokenID, Subject string // Subject is the provider account's id
	Scopes           []string
	ExpiresAt        time.Time
}

// ErrNotAccessToken is a bearer value that is no access token of these servers (it does not open
// under their key): some other kind of credential, or garbage.
var ErrNotAccessToken = errors.New("not an access token of these authorization servers")

// ErrInvalidToken is an access token of these servers that is not a live one of this provider.
var ErrInvalidToken = errors.New("invalid access token")

// ErrExpiredToken is an access token past its expiry on the workspace clock.
var ErrExpiredToken = errors.New("expired access token")

// Verify checks an access token presented to provider slug: one this provider's server issued,
// not revoked and not expired.
func (s *Server) Verify(ctx context.Context, slug, token string) (Grant, error) {
	k, err := s.loadKeys()
	if err != nil {
		return Grant{}, err
	}
	plain, err := k.crypto.Decrypt(token)
	if err != nil {
		return Grant{}, ErrNotAccessToken
	}
	id, _, _ := strings.Cut(plain, ":")
	t, err := s.db.OAuthToken(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Grant{}, ErrInvalidToken
	case err != nil:
		return Grant{}, err
	case t.Provider != slug || t.Kind != "access" || t.RevokedAt != nil:
		return Grant{}, ErrInvalidToken
	case !s.clock.Now().Before(t.ExpiresAt):
		return Grant{}, ErrExpiredToken
	}
	return Grant{TokenID: t.ID, Subject: t.Subject, Scopes: strings.Fields(t.Scopes), ExpiresAt: t.ExpiresAt}, nil
}
