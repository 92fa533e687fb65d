package kernel

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
	if got := RedactHeaders(h, "acmedb.localhost", ""); got != `{"Authorization":["Bearer [redacted]"],"Cookie":["[redacted]"],"Host":["acmedb.localhost"],"Idempotency-Key":["idem-1"],"X-Api-Key":["[redacted]"]}` {
		t.Errorf("RedactHeaders = %s", got)
	}
	for in, want := range map[string]string{
		"/x?token=abc&page=2":    "/x?page=2&token=[redacted]",
		"/x?page=2":              "/x?page=2",
		"/x?api_key=k1":          "/x?api_key=[redacted]",
		"/x?password=%zz":        "/x?[redacted]",
		"/osp/v1/usage/r1?at=2&": "/osp/v1/usage/r1?at=2&",
		"/cb?code=c1&state=s":    "/cb?code=[redacted]&state=s",
	} {
		if got := RedactQuery(httptest.NewRequest("GET", in, nil).URL); got != want {
			t.Errorf("RedactQuery(%s) = %s, want %s", in, got, want)
		}
	}
	loc := http.Header{"Location": {"http://127.0.0.1:7410/orchestrator/v1/oauth/callback?code=secret-code&state=s"}}
	if got := RedactHeaders(loc, "", ""); strings.Contains(got, "secret-code") || !strings.Contains(got, "http://127.0.0.1:7410/orchestrator/v1/oauth/callback?") {
		t.Errorf("a redirect's authorization code: %s", got)
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

// FuzzRedactCopyMatchesTree holds the copier to the tree-based redactor: for every input the
// copier accepts, both give the same bytes.
func FuzzRedactCopyMatchesTree(f *testing.F) {
	for _, s := range []string{
		`{"password":"p","u":"x://a:b@c"}`, `[1,{"credentials":{"k":"v"}}]`, ` {"a" : [ 1 , -0.5e+3 , true , null ] } `,
		`{"Api_Key":123,"d":null,"x":"\u00e9"}`, `{"a":1,"a":2}`, `{"token":{"nested":"v"}}`, `{"token":nul}`,
		`{"name":"é","ключ":"v","KEY":"postgres://u:p@h/d"}`, `{"credentials_bundle":{"a":"\"x\""}}`, `"\ud800"`, `{"a":"x\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		got, err := redactCopy(data)
		if err != nil {
			return
		}
		if want := redactTree(data); got != want {
			t.Fatalf("copier %q, tree %q for %q", got, want, data)
		}
	})
}

// TestRedactCopyTakesTheCommonBodies: the request log's usual bodies do not fall back to the tree.
func TestRedactCopyTakesTheCommonBodies(t *testing.T) {
	for _, body := range []string{
		`{"offering_id":"acmedb/postgres","tier_id":"free","sandbox":{"enabled":true}}`,
		`{"resource_id":"res_1","status":"active","credentials":{"password":"p","url":"postgres://a:b@h/d"},"resource_access_token":"osp_rat_1","created_at":"2026-01-01T00:00:00Z","cost":{"amount":"0.00"}}`,
		`[{"a":1},{"a":2}]`,
	} {
		got, err := redactCopy([]byte(body))
		if err != nil {
			t.Fatalf("redactCopy(%s): %v", body, err)
		}
		if want := redactTree([]byte(body)); got != want {
			t.Errorf("redactCopy(%s) = %s, tree %s", body, got, want)
		}
	}
}

// BenchmarkRedactJSON: the copier against the tree-based redactor on a provisioning answer.
func BenchmarkRedactJSON(b *testing.B) {
	body := []byte(`{"resource_id":"res_01J","offering_id":"acmedb/postgres","tier_id":"free","status":"active","credentials":{"password":"p","url":"postgres://a:b@h/d"},"resource_access_token":"osp_rat_1","created_at":"2026-01-01T00:00:00Z","cost":{"amount":"0.00","currency":"USD"},"links":{"self":"http://acmedb.localhost/osp/v1/resources/res_01J"}}`)
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			RedactJSON(body)
		}
	})
	b.Run("tree", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			redactTree(body)
		}
	})
}
