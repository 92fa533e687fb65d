package kernel

import (
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
	} {
		if got := RedactQuery(httptest.NewRequest("GET", in, nil).URL); got != want {
			t.Errorf("RedactQuery(%s) = %s, want %s", in, got, want)
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
