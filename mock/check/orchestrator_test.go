package check

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock/mocktest"
)

// TestOrchestratorChecks: ospbox's providers pass the provider side of the orchestrator profile
// — acmedb by attestation (the OAuth checks skipped), skyhost by consent (the attestation checks
// skipped, the consent flow walked); a provider that refuses attestations without pointing at
// OAuth, and one that does not redeem payment tokens, fail the MUST checks that say so.
func TestOrchestratorChecks(t *testing.T) {
	srv := httptest.NewServer(sandbox(t))
	defer srv.Close()
	rep, err := Run(t.Context(), Options{Target: srv.URL, Protocol: "orchestrator"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Protocol != "orchestrator" || len(rep.Results) != len(orchestratorChecks) {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Results {
		if r.Status != Pass && !strings.HasPrefix(r.ID, "orchestrator.oauth.") {
			t.Errorf("%s %s: %s (%s)", r.ID, r.Status, r.Evidence, r.Request)
		}
	}
	if s := statuses(rep); s["orchestrator.oauth.metadata"] != Skip || s["orchestrator.oauth.consent"] != Skip {
		t.Errorf("the OAuth checks of an attested provider: %v", s)
	}

	// skyhost wants OAuth consent: no account from an attestation, the consent flow instead.
	oauth := mocktest.NewWith(t, map[string]string{"ospbox.json": `{"name": "o", "orchestrator": {"providers": {"skyhost": {"account_creation": "oauth"}}}}`})
	rep, err = Run(t.Context(), Options{Target: oauth.URL + "/providers/skyhost", Protocol: "orchestrator", InPlace: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := statuses(rep)
	if s["orchestrator.accounts.attested"] != Skip || s["orchestrator.oauth.metadata"] != Pass || s["orchestrator.oauth.consent"] != Pass ||
		s["orchestrator.payment.redeem"] != Pass || rep.MustFailed != 0 {
		t.Errorf("a provider that takes consent: %v", s)
	}

	// A provider that refuses attestations and names no OAuth metadata.
	plain := mocktest.New(t)
	refusing := answering(t, plain, "/osp/v1/accounts", 403, `{"error": {"code": "forbidden", "message": "no"}}`)
	rep, err = Run(t.Context(), Options{Target: refusing.URL, Protocol: "orchestrator", InPlace: true, Orchestrator: plain.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := statuses(rep); s["orchestrator.accounts.attested"] != Fail || rep.MustFailed == 0 {
		t.Errorf("a provider refusing attestations: %v", s)
	}

	// A provider that takes the token as proof but never redeems it.
	sb := mocktest.New(t)
	lazy := answering(t, sb, "/osp/v1/provision", 201, `{"resource_id": "res_lazy", "status": "provisioned"}`)
	rep, err = Run(t.Context(), Options{Target: lazy.URL, Protocol: "orchestrator", InPlace: true, Orchestrator: sb.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := statuses(rep); s["orchestrator.payment.redeem"] != Fail || s["orchestrator.payment.once"] != Fail {
		t.Errorf("a provider that does not redeem: %v", s)
	}
}

// answering is sb behind a server that answers status and body for requests whose path ends in
// suffix, the way a provider that gets one route wrong would.
func answering(t *testing.T, sb http.Handler, suffix string, status int, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, suffix) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
