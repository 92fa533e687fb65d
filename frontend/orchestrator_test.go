package frontend

import (
	"strings"
	"testing"
)

// TestOrchestratorPageShowsTokensCapsAndProjects: the Orchestrator page shows the user, each
// token with its status, the caps with what tokens hold, the projects, and the Spend page counts
// the tokens.
func TestOrchestratorPageShowsTokensCapsAndProjects(t *testing.T) {
	f := newFixture(t)
	st, tok := f.api(t, "POST", "/orchestrator/v1/payment_tokens", `{"provider_id": "skyhost.example", "max_amount": {"amount": "40.00", "currency": "USD"}}`)
	if st != 201 {
		t.Fatalf("token: %d %v", st, tok)
	}
	if st, p := f.api(t, "POST", "/orchestrator/v1/projects", `{"name": "shop"}`); st != 201 {
		t.Fatalf("project: %d %v", st, p)
	}
	_, page := f.get(t, "/ui/orchestrator", authed())
	for _, want := range []string{"dev@example.test", `data-token="` + tok["id"].(string) + `" data-status="issued"`, "skyhost.example", "$40.00", `data-project="prj_`, ">shop<", "user (all providers)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Orchestrator page lacks %q", want)
		}
	}
	_, spend := f.get(t, "/ui/spend", authed())
	if !strings.Contains(cutOut(spend, `id="spend-tokens"`, `</p>`), "<b>1</b> outstanding") {
		t.Errorf("the Spend page does not count the token: %s", cutOut(spend, `id="spend-tokens"`, `</p>`))
	}
}
