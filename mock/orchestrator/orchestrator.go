// Package orchestrator is the orchestrator side of agent provisioning (spec/orchestrator.md):
// the signed-in user and ospbox's OpenID Provider for them, and payment tokens reserved against
// the orchestrator's caps and redeemed by providers. One Engine serves one namespace; its state
// is that namespace's database, its keys the workspace's.
//
// Routes (under a namespace's origin): /.well-known/openid-configuration and /orchestrator/v1/…
// Errors use the OSP envelope {"error": {"code", "message", "retryable", "details"}}.
package orchestrator

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Deps is what the host gives the engine.
type Deps struct {
	DB    *storage.DB
	Clock kernel.Clock
	// KeysDir is the workspace's key folder; the orchestrator's secret is made there on first use.
	KeysDir string
	// Config returns orchestrator.* as served now.
	Config func() manifests.OrchestratorConfig
}

// Engine is one namespace's orchestrator.
type Engine struct {
	db      *storage.DB
	clock   kernel.Clock
	config  func() manifests.OrchestratorConfig
	keysDir string

	keysOnce sync.Once
	keys     *keys
	keysErr  error
}

// New makes the engine; its keys are read or made when first needed.
func New(d Deps) *Engine {
	return &Engine{db: d.DB, clock: d.Clock, config: d.Config, keysDir: d.KeysDir}
}

// keys are derived from one random secret kept in the workspace: the ID-token signing key (the
// same in every namespace, so one JWKS serves them all) and each provider's redemption key.
type keys struct {
	secret  []byte
	signing ed25519.PrivateKey
	kid     string
}

// secretFile is the orchestrator's secret under the workspace's keys folder.
const secretFile = "orchestrator.secret"

func (e *Engine) loadKeys() (*keys, error) {
	e.keysOnce.Do(func() {
		secret, err := kernel.LoadSecret(e.keysDir, secretFile)
		if err != nil {
			e.keysErr = err
			return
		}
		signing := ed25519.NewKeyFromSeed(kernel.Derive(secret, "oidc signing key"))
		sum := sha256.Sum256(signing.Public().(ed25519.PublicKey))
		e.keys = &keys{secret: secret, signing: signing, kid: "ospbox-" + hex.EncodeToString(sum[:8])}
	})
	return e.keys, e.keysErr
}

// RedemptionKey is the credential a provider presents to redeem its payment tokens: derived from
// the workspace's secret and the provider id, so it is stable across restarts and namespaces.
func (e *Engine) RedemptionKey(providerID string) (string, error) {
	k, err := e.loadKeys()
	if err != nil {
		return "", err
	}
	return "orp_" + base64.RawURLEncoding.EncodeToString(kernel.Derive(k.secret, "redemption key "+providerID)[:24]), nil
}

// Error is an orchestrator API error, written in the OSP envelope.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func badRequest(format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: fmt.Sprintf(format, a...)}
}

// writeError answers err in the envelope; an error that is not an *Error is a 500 that says so.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: err.Error()}
	}
	body := map[string]any{"code": e.Code, "message": e.Message, "retryable": e.Status >= 500}
	if e.Details != nil {
		body["details"] = e.Details
	}
	kernel.WriteJSON(w, e.Status, map[string]any{"error": body})
}

// Serve answers the orchestrator's routes; origin is where the client reached this namespace.
// The API belongs to the local user (the host accepts loopback only): a cross-site browser
// request is refused, and redemption needs the provider's key.
func (e *Engine) Serve(w http.ResponseWriter, r *http.Request, origin string) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		writeError(w, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "the orchestrator API refuses cross-site browser requests"})
		return
	}
	path := r.URL.Path
	switch {
	case path == "/.well-known/openid-configuration":
		e.serveDiscovery(w, r, origin)
	case path == "/orchestrator/v1/jwks":
		e.serveJWKS(w, r)
	case path == "/orchestrator/v1/user":
		e.serveUser(w, r)
	case path == "/orchestrator/v1/id_token":
		e.serveIDToken(w, r, origin)
	case path == "/orchestrator/v1/payment_tokens":
		e.servePaymentTokens(w, r)
	case strings.HasPrefix(path, "/orchestrator/v1/payment_tokens/"):
		e.servePaymentToken(w, r, strings.TrimPrefix(path, "/orchestrator/v1/payment_tokens/"))
	case path == "/orchestrator/v1/projects" || strings.HasPrefix(path, "/orchestrator/v1/projects/"):
		e.serveProjects(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "/orchestrator/v1/projects"), "/"), origin)
	case strings.HasPrefix(path, "/orchestrator/v1/consents/"):
		consentDesk{e}.serveConsent(w, r, strings.TrimPrefix(path, "/orchestrator/v1/consents/"), origin)
	case path == CallbackPath:
		consentDesk{e}.serveCallback(w, r, origin)
	case path == "/orchestrator/v1/spend":
		e.serveSpend(w, r)
	case strings.HasPrefix(path, "/orchestrator/v1/providers/") && strings.HasSuffix(path, "/redemption_key"):
		e.serveRedemptionKey(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/orchestrator/v1/providers/"), "/redemption_key"))
	default:
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no orchestrator API at " + path})
	}
}

// IsPath reports whether the orchestrator serves path.
func IsPath(path string) bool {
	return path == "/.well-known/openid-configuration" || strings.HasPrefix(path, "/orchestrator/v1/")
}

// allow answers 405 in the envelope unless the method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if kernel.MethodIn(w, r, methods...) {
		return true
	}
	writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: r.Method + " is not allowed here; use " + strings.Join(methods, " or ")})
	return false
}

// decodeStrict reads a JSON body into v, refusing unknown members and trailing data, with the
// offset of a syntax error in the message.
func decodeStrict(r *http.Request, v any) error {
	body := kernel.ReadBody(r)
	if len(strings.TrimSpace(string(body))) == 0 {
		return badRequest("the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest("the body is not JSON at offset %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return badRequest("%s must be a %s", te.Field, te.Type)
		}
		return badRequest("%v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return badRequest("the body has data after its JSON object")
	}
	return nil
}

// User is the signed-in user the orchestrator plays (orchestrator.user).
func (e *Engine) User() manifests.OrchestratorUser { return e.config().User }
