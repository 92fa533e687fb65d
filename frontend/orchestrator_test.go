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
	_, overview := f.get(t, "/ui/", authed())
	if tile := cutOut(overview, `id="tile-tokens"`, `</a>`); !strings.Contains(tile, `href="/ui/orchestrator"`) || !strings.Contains(tile, ">1<") {
		t.Errorf("the Overview's token tile: %s", tile)
	}
	_, spend := f.get(t, "/ui/spend", authed())
	if !strings.Contains(cutOut(spend, `id="spend-tokens"`, `</p>`), "<b>1</b> outstanding") {
		t.Errorf("the Spend page does not count the token: %s", cutOut(spend, `id="spend-tokens"`, `</p>`))
	}
}

// TestResourcePaidWithATokenSaysSo: a resource provisioned with an orchestrator payment token
// names the token on its page, and the ledger's charge carries it.
func TestResourcePaidWithATokenSaysSo(t *testing.T) {
	f := newFixture(t)
	_, tok := f.api(t, "POST", "/orchestrator/v1/payment_tokens", `{"provider_id": "acmedb.example", "max_amount": {"amount": "5.00", "currency": "USD"}}`)
	st, res := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id": "acmedb/redis", "tier_id": "pay-as-you-go", "payment_method": "orchestrator_token", "payment_proof": "`+tok["id"].(string)+`"}`)
	if st != 201 {
		t.Fatalf("provision: %d %v", st, res)
	}
	_, page := f.get(t, "/ui/resources/"+res["resource_id"].(string), authed())
	if !strings.Contains(page, `data-paid-with="`+tok["id"].(string)+`"`) {
		t.Errorf("the resource page does not name the token: %s", cutOut(page, `id="cost-h"`, `</dl>`))
	}
}
