package mock

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzProvisionRequest sends arbitrary bodies to the provisioning endpoint: it must answer in the
// error envelope or succeed, never with a 500, never by panicking.
func FuzzProvisionRequest(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{
		`{"offering_id":"acmedb/redis","tier_id":"free"}`,
		`{"offering_id":"acmedb/redis","tier_id":"free","sandbox":{"enabled":true,"ttl_hours":3},"metadata":{"a":"b"}}`,
		`{"offering_id":"acmedb/postgres","tier_id":"pro","payment_context":{"method":"stripe","token":"x"},"config":{"a":1}}`,
		`{"offering_id":"acmedb/redis","tier_id":"free","agent_public_key":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		`[]`, `{"metadata":1}`, `{"sandbox":[]}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "http://127.0.0.1:7410/providers/acmedb/osp/v1/provision", strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		fx.sb.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`) {
			t.Fatalf("error without the envelope: %s", rec.Body)
		}
	})
}
