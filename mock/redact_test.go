package mock

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRedactJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"api_key":"sk_1","name":"x"}`, `{"api_key":"[redacted]","name":"x"}`},
		{`{"credentials_bundle":{"format":"plaintext","values":{"host":"h"}}}`, `{"credentials_bundle":"[redacted]"}`},
		{`{"db":"postgres://app:hunter2@db.local:5432/main"}`, `{"db":"postgres://app:redacted@db.local:5432/main"}`},
		{`{"credentials_schema":{"properties":{"password":{"type":"string"}}}}`, `{"credentials_schema":{"properties":{"password":{"type":"string"}}}}`},
		{`[{"resource_access_token":"rat_1"},{"Authorization":"Bearer x"}]`, `[{"resource_access_token":"[redacted]"},{"Authorization":"[redacted]"}]`},
		{`{"kty":"OKP","d":"seed","x":"pub"}`, `{"kty":"OKP","d":"[redacted]","x":"pub"}`},
		{`{"b":1,"a":2}`, `{"b":1,"a":2}`},
		{`{"credentials":null,"status":"provisioning"}`, `{"credentials":null,"status":"provisioning"}`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := RedactJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("RedactJSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	h := httptest.NewRequest("GET", "/", nil).Header
	h.Set("Authorization", "Bearer osp_rat_1")
	h.Set("X-Api-Key", "k1")
	h.Set("Cookie", "s=1")
	h.Set("Idempotency-Key", "idem-1")
	if got := redactHeaders(h, "acmedb.localhost", ""); got != `{"Authorization":["Bearer [redacted]"],"Cookie":["[redacted]"],"Host":["acmedb.localhost"],"Idempotency-Key":["idem-1"],"X-Api-Key":["[redacted]"]}` {
		t.Errorf("redactHeaders = %s", got)
	}
	for in, want := range map[string]string{
		"/x?token=abc&page=2":    "/x?page=2&token=[redacted]",
		"/x?page=2":              "/x?page=2",
		"/x?api_key=k1":          "/x?api_key=[redacted]",
		"/x?password=%zz":        "/x?[redacted]",
		"/osp/v1/usage/r1?at=2&": "/osp/v1/usage/r1?at=2&",
	} {
		if got := redactQuery(httptest.NewRequest("GET", in, nil).URL); got != want {
			t.Errorf("redactQuery(%s) = %s, want %s", in, got, want)
		}
	}
	if got := RedactJSON([]byte("password=hunter2")); strings.Contains(got, "hunter2") {
		t.Errorf("non-JSON body leaked: %s", got)
	}
}

func FuzzRedactJSON(f *testing.F) {
	f.Add([]byte(`{"password":"p","u":"x://a:b@c"}`))
	f.Add([]byte(`[1,{"credentials":{"k":"v"}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := RedactJSON(data)
		if strings.Contains(out, "hunter2") && strings.Contains(strings.ToLower(string(data)), `"password":"hunter2"`) {
			t.Fatalf("secret survived: %s", out)
		}
	})
}

func TestAgentOfNamesCallersWithoutSecrets(t *testing.T) {
	tap := makeTAP(agentSeed(), "x", RealClock{}.Now(), time.Hour, 1)
	for auth, want := range map[string]string{
		"":                         "curl/8",
		"Bearer osp_rat_secret123": "resource token",
		"Bearer osp_ak_secret":     "API key",
		"Bearer " + tap:            "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",
		"Bearer opaque":            "bearer token",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("User-Agent", "curl/8")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if got := agentOf(r); got != want {
			t.Errorf("%q: %q, want %q", auth, got, want)
		}
	}
}
