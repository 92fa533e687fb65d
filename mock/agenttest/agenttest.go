// Package agenttest makes the HTTP calls an agent makes, for tests: a JSON body in, the status,
// headers and decoded JSON body out. The host's tests, the protocol packages' tests and
// mocktest share it; it imports nothing of ospbox, so any of them may use it.
package agenttest

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Agent calls the API under Base.
type Agent struct {
	T    testing.TB
	Base string
}

// Call sends method Base+path with body (nil, a string sent as is, or a value sent as JSON),
// the bearer token when given, and hdr's name/value pairs; a transport failure fails the test.
func (a Agent) Call(method, path, token string, body any, hdr ...string) (int, http.Header, map[string]any) {
	a.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = strings.NewReader(string(j))
	}
	req, _ := http.NewRequest(method, a.Base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.T.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out
}

// ErrCode is the error code of an error body in any protocol's envelope ({"error": {"code"}}).
func ErrCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Seed is the Ed25519 seed of the spec's test agent (RFC 8032's first test key), whose did:key
// is did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw.
func Seed() []byte {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	return seed
}

// Do sends method url with hdr (a "Host" entry sets the request's host) and body, and returns
// the response with its whole body read; a transport failure fails the test.
func Do(t testing.TB, method, url string, hdr map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TAP signs a TAP attestation as an agent would (spec/osp.md §19.2): a compact JWS with EdDSA
// by the agent's own key, kid and sub its did:key did, valid from iat for lifetime.
func TAP(priv ed25519.PrivateKey, did, aud string, iat time.Time, lifetime time.Duration, tier int) string {
	h, _ := json.Marshal(map[string]any{"alg": "EdDSA", "kid": did, "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"iss": did, "sub": did, "aud": aud, "iat": iat.Unix(), "exp": iat.Add(lifetime).Unix(), "trust_tier": tier})
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return signing + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(signing)))
}
