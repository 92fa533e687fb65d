package orchestrator

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Projects and the vault (spec/orchestrator.md §2, §5). A project holds the credentials of the
// resources added to it, sealed (AES-256-GCM, a key derived from the workspace's secret). Its
// token, shown once by POST /orchestrator/v1/projects, is needed to store, read or revoke them;
// every read is recorded. Revoking rotates each credential at its provider without grace and
// deprovisions the resource, so nothing the agent was handed still works.

// Project tokens start with opt_.
const projectTokenPrefix = "opt_"

var projectNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateProject makes a project and its token (returned once, stored hashed).
func (e *Engine) CreateProject(ctx context.Context, name string) (storage.Project, string, error) {
	if name == "" {
		name = "default"
	}
	if !projectNamePattern.MatchString(name) {
		return storage.Project{}, "", badRequest("a project name is letters, digits, spaces, dot, dash and underscore, at most 64")
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	token := projectTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := e.clock.Now()
	p := storage.Project{ID: kernel.NewID("prj_", now), Name: name, CreatedAt: now}
	err := e.db.Update(ctx, func(tx *storage.Tx) error { return tx.InsertProject(ctx, p, tokenHash(token)) })
	return p, token, err
}

// VaultEntry is one resource's credentials as a caller stores or reads them.
type VaultEntry struct {
	ResourceID  string            `json:"resource_id"`
	ProviderID  string            `json:"provider_id"`
	ProviderURL string            `json:"provider_url"` // the provider's OSP base URL (…/osp/v1)
	OfferingID  string            `json:"offering_id"`
	TierID      string            `json:"tier_id"`
	AccountID   string            `json:"account_id"`
	Credentials map[string]string `json:"credentials"`
}

func (e *Engine) vaultAEAD() (cipher.AEAD, error) {
	k, err := e.loadKeys()
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(kernel.Derive(k.secret, "vault key"))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (e *Engine) seal(projectID, resourceID string, creds map[string]string) ([]byte, error) {
	aead, err := e.vaultAEAD()
	if err != nil {
		return nil, err
	}
	plain, _ := json.Marshal(creds)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, []byte(projectID+"/"+resourceID)), nil
}

func (e *Engine) open(v storage.VaultItem) (map[string]string, error) {
	aead, err := e.vaultAEAD()
	if err != nil {
		return nil, err
	}
	if len(v.Sealed) < aead.NonceSize() {
		return nil, errors.New("a vault item is damaged")
	}
	plain, err := aead.Open(nil, v.Sealed[:aead.NonceSize()], v.Sealed[aead.NonceSize():], []byte(v.ProjectID+"/"+v.ResourceID))
	if err != nil {
		return nil, fmt.Errorf("a vault item of %s does not open with this workspace's key: %w", v.ProjectID, err)
	}
	var creds map[string]string
	return creds, json.Unmarshal(plain, &creds)
}

// authorizedProject is the project the request's bearer token opens; it must be id.
func (e *Engine) authorizedProject(r *http.Request, id string) (storage.Project, error) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	refused := &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the vault needs the project's token (ospbox projects init printed it): Authorization: Bearer opt_…"}
	if !strings.HasPrefix(token, projectTokenPrefix) {
		return storage.Project{}, refused
	}
	p, err := e.db.ProjectByToken(r.Context(), tokenHash(token))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(p.ID), []byte(id)) != 1) {
		return storage.Project{}, refused
	}
	if err != nil {
		return storage.Project{}, err
	}
	if p.RevokedAt != nil {
		return p, &Error{Status: http.StatusForbidden, Code: "project_revoked", Message: "project " + p.ID + " was revoked at " + p.RevokedAt.UTC().Format(time.RFC3339)}
	}
	return p, nil
}

func projectJSON(p storage.Project) map[string]any {
	out := map[string]any{"id": p.ID, "name": p.Name, "created_at": p.CreatedAt.UTC().Format(time.RFC3339)}
	if p.RevokedAt != nil {
		out["revoked_at"] = p.RevokedAt.UTC().Format(time.RFC3339)
	}
	return out
}

// serveProjects answers /orchestrator/v1/projects and everything under it.
func (e *Engine) serveProjects(w http.ResponseWriter, r *http.Request, rest, origin string) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "":
		if !allow(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodPost {
			var req struct {
				Name string `json:"name"`
			}
			if err := decodeStrict(r, &req); err != nil {
				writeError(w, err)
				return
			}
			p, token, err := e.CreateProject(r.Context(), req.Name)
			if err != nil {
				writeError(w, err)
				return
			}
			body := projectJSON(p)
			body["token"] = token
			kernel.WriteJSON(w, http.StatusCreated, body)
			return
		}
		list, err := e.db.Projects(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		out := []map[string]any{}
		for _, p := range list {
			out = append(out, projectJSON(p))
		}
		kernel.WriteJSON(w, http.StatusOK, map[string]any{"projects": out})
	case len(parts) == 1:
		if !allow(w, r, http.MethodGet) {
			return
		}
		p, err := e.db.Project(r.Context(), parts[0])
		if errors.Is(err, storage.ErrNotFound) {
			err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no project " + parts[0]}
		}
		if err != nil {
			writeError(w, err)
			return
		}
		items, err := e.db.VaultItems(r.Context(), p.ID)
		if err != nil {
			writeError(w, err)
			return
		}
		body := projectJSON(p)
		resources := []map[string]any{}
		for _, v := range items {
			resources = append(resources, map[string]any{"resource_id": v.ResourceID, "provider_id": v.ProviderID, "provider_url": v.ProviderURL,
				"offering_id": v.OfferingID, "tier_id": v.TierID, "account_id": v.AccountID, "added_at": v.CreatedAt.UTC().Format(time.RFC3339)})
		}
		body["resources"] = resources
		kernel.WriteJSON(w, http.StatusOK, body)
	case len(parts) == 2 && parts[1] == "credentials":
		if !allow(w, r, http.MethodPost) {
			return
		}
		e.serveStore(w, r, parts[0])
	case len(parts) == 3 && parts[1] == "credentials":
		if !allow(w, r, http.MethodDelete) {
			return
		}
		e.serveForget(w, r, parts[0], parts[2])
	case len(parts) == 2 && parts[1] == "consents":
		consentDesk{e}.serveProjectConsents(w, r, parts[0], origin)
	case len(parts) == 2 && parts[1] == "env":
		if !allow(w, r, http.MethodGet) {
			return
		}
		e.serveEnv(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "revoke":
		if !allow(w, r, http.MethodPost) {
			return
		}
		e.serveRevoke(w, r, parts[0])
	default:
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no orchestrator API at " + r.URL.Path})
	}
}

func (e *Engine) serveStore(w http.ResponseWriter, r *http.Request, id string) {
	p, err := e.authorizedProject(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	var v VaultEntry
	if err := decodeStrict(r, &v); err != nil {
		writeError(w, err)
		return
	}
	if v.ResourceID == "" || v.ProviderID == "" || v.ProviderURL == "" || len(v.Credentials) == 0 {
		writeError(w, badRequest("resource_id, provider_id, provider_url and credentials (an object of strings) are required"))
		return
	}
	sealed, err := e.seal(p.ID, v.ResourceID, v.Credentials)
	if err != nil {
		writeError(w, err)
		return
	}
	item := storage.VaultItem{ProjectID: p.ID, ResourceID: v.ResourceID, ProviderID: v.ProviderID, ProviderURL: strings.TrimSuffix(v.ProviderURL, "/"),
		OfferingID: v.OfferingID, TierID: v.TierID, AccountID: v.AccountID, Sealed: sealed, CreatedAt: e.clock.Now()}
	if err := e.db.Update(r.Context(), func(tx *storage.Tx) error { return tx.PutVaultItem(r.Context(), item) }); err != nil {
		writeError(w, err)
		return
	}
	kernel.WriteJSON(w, http.StatusCreated, map[string]any{"project_id": p.ID, "resource_id": v.ResourceID, "stored": len(v.Credentials)})
}

func (e *Engine) serveForget(w http.ResponseWriter, r *http.Request, id, resource string) {
	p, err := e.authorizedProject(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	var found bool
	if err := e.db.Update(r.Context(), func(tx *storage.Tx) error {
		var err error
		found, err = tx.DeleteVaultItem(r.Context(), p.ID, resource)
		return err
	}); err != nil {
		writeError(w, err)
		return
	}
	if !found {
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: resource + " is not in project " + p.ID})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// EnvVar is one credential as an environment variable.
type EnvVar struct {
	Name       string `json:"name"`
	Value      string `json:"value"`
	ResourceID string `json:"resource_id"`
	Redacted   bool   `json:"redacted"`
}

var notEnvChar = regexp.MustCompile(`[^A-Z0-9]+`)

// envName is <OFFERING>_<KEY> in upper case: acmedb/redis's redis_url is ACMEDB_REDIS_REDIS_URL.
func envName(offering, key string) string {
	return strings.Trim(notEnvChar.ReplaceAllString(strings.ToUpper(offering+"_"+key), "_"), "_")
}

// RedactSecret shows a secret's shape without it: the first three and last four characters.
func RedactSecret(v string) string {
	if len(v) <= 10 {
		return "…"
	}
	return v[:3] + "…" + v[len(v)-4:]
}

func (e *Engine) serveEnv(w http.ResponseWriter, r *http.Request, id string) {
	p, err := e.authorizedProject(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	reveal := r.URL.Query().Get("reveal") == "true" || r.URL.Query().Get("reveal") == "1"
	items, err := e.db.VaultItems(r.Context(), p.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	vars := []EnvVar{}
	for _, v := range items {
		creds, err := e.open(v)
		if err != nil {
			writeError(w, err)
			return
		}
		keys := make([]string, 0, len(creds))
		for k := range creds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ev := EnvVar{Name: envName(v.OfferingID, k), Value: creds[k], ResourceID: v.ResourceID}
			if !reveal {
				ev.Value, ev.Redacted = RedactSecret(ev.Value), true
			}
			vars = append(vars, ev)
		}
	}
	if err := e.db.Update(r.Context(), func(tx *storage.Tx) error {
		return tx.RecordVaultRead(r.Context(), storage.VaultRead{ProjectID: p.ID, At: e.clock.Now(), Revealed: reveal, Items: len(items)})
	}); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if reveal {
		// The request log keeps the answer with every value redacted.
		logged := make([]EnvVar, len(vars))
		for i, v := range vars {
			logged[i] = v
			logged[i].Value, logged[i].Redacted = RedactSecret(v.Value), true
		}
		b, _ := json.Marshal(map[string]any{"project_id": p.ID, "revealed": reveal, "variables": logged})
		kernel.SetLogBody(w, kernel.DocumentOf(b))
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"project_id": p.ID, "revealed": reveal, "variables": vars})
}

// Revoked is what revoking did to one resource.
type Revoked struct {
	ResourceID string `json:"resource_id"`
	ProviderID string `json:"provider_id"`
	Rotated    bool   `json:"rotated"`
	Removed    bool   `json:"deprovisioned"`
	Error      string `json:"error,omitempty"`
}

func (e *Engine) serveRevoke(w http.ResponseWriter, r *http.Request, id string) {
	p, err := e.authorizedProject(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	items, err := e.db.VaultItems(r.Context(), p.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	consentDesk{e}.revokeGrants(r.Context(), p.ID)
	results := []Revoked{}
	for _, v := range items {
		results = append(results, e.revokeAtProvider(r.Context(), v))
	}
	err = e.db.Update(r.Context(), func(tx *storage.Tx) error {
		for _, v := range results {
			if v.Removed {
				if _, err := tx.DeleteVaultItem(r.Context(), p.ID, v.ResourceID); err != nil {
					return err
				}
			}
		}
		return tx.RevokeProject(r.Context(), p.ID, e.clock.Now())
	})
	if err != nil {
		writeError(w, err)
		return
	}
	kernel.WriteJSON(w, http.StatusOK, map[string]any{"project_id": p.ID, "revoked": results})
}

// revokeAtProvider rotates a resource's credentials without grace, then deprovisions it with
// the new access token: the credentials handed out stop working at once, and so does the rest.
func (e *Engine) revokeAtProvider(ctx context.Context, v storage.VaultItem) Revoked {
	out := Revoked{ResourceID: v.ResourceID, ProviderID: v.ProviderID}
	creds, err := e.open(v)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	token := creds["resource_access_token"]
	base := v.ProviderURL + "/resources/" + v.ResourceID // ProviderURL is the OSP base URL
	status, body, err := providerCall(ctx, http.MethodPost, base+"/credentials/rotate", token, `{"invalidate_previous_after_seconds": 0}`)
	if err == nil && status == http.StatusOK {
		out.Rotated = true
		var rotated struct {
			Bundle struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"credentials_bundle"`
		}
		json.Unmarshal(body, &rotated)
		if t := rotated.Bundle.Metadata["resource_access_token"]; t != "" {
			token = t
		}
	}
	status, body, err = providerCall(ctx, http.MethodDelete, base, token, "")
	switch {
	case err != nil:
		out.Error = err.Error()
	case status < 300 || status == http.StatusGone:
		out.Removed = true
	default:
		out.Error = fmt.Sprintf("the provider answered %d: %.200s", status, body)
	}
	return out
}

func providerCall(ctx context.Context, method, url, token, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "ospbox-orchestrator")
	resp, err := partyClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, bytes.TrimSpace(raw), nil
}
