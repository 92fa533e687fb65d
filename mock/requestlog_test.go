package mock

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
)

func TestAgentOfNamesCallersWithoutSecrets(t *testing.T) {
	tap := makeTAP(agentSeed(), "x", kernel.RealClock{}.Now(), time.Hour, 1)
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
		if got := agentOf(false, r.Header); got != want {
			t.Errorf("%q: %q, want %q", auth, got, want)
		}
	}
}
