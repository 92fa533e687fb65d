package frontend

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// TestConsentAnsweredInTheUI: a consent waiting for the user is prompted on every page and listed
// on the Orchestrator page; the consent page names the provider, project and scopes; the page's
// Approve has the orchestrator walk the flow, so the consent ends approved with its tokens held.
func TestConsentAnsweredInTheUI(t *testing.T) {
	s := mocktest.New(t)
	ui := New(Options{Sandbox: s.Sandbox, DB: s.DB, Token: testToken, SandboxURL: s.URL, Version: "test", KeepaliveInterval: time.Hour})
	srv := httptest.NewServer(ui)
	t.Cleanup(srv.Close)
	t.Cleanup(ui.Close)
	f := &fixture{ui: ui, db: s.DB, sb: s.Sandbox, srv: srv}
	// Through the sandbox's own address, as an agent reaches it (the redirect URI names it).
	a := agenttest.Agent{T: t, Base: s.URL}
	_, _, p := a.Call("POST", "/orchestrator/v1/projects", "", `{"name": "shop"}`)
	token := p["token"].(string)
	st, _, c := a.Call("POST", "/orchestrator/v1/projects/"+p["id"].(string)+"/consents", token,
		`{"provider_id": "skyhost.example", "resource_metadata": "`+s.URL+`/providers/skyhost/.well-known/oauth-protected-resource"}`)
	if st != 201 {
		t.Fatalf("consent: %d %v", st, c)
	}
	id := c["consent_id"].(string)
	_, overview := f.get(t, "/ui/", authed())
	if prompt := cutOut(overview, `consent-prompt`, `</div>`); !strings.Contains(prompt, "skyhost.example") || !strings.Contains(prompt, "provision resources:read resources:delete") {
		t.Errorf("the prompt: %s", prompt)
	}
	_, page := f.get(t, "/ui/orchestrator", authed())
	if row := cutOut(page, `data-consent="`+id+`"`, `</tr>`); !strings.Contains(row, `data-status="pending"`) && !strings.Contains(row, "Approve") {
		t.Errorf("the consent row: %s", row)
	}
	// The desktop window cannot follow the provider's redirects: its pages answer in place.
	_, window := f.get(t, "/ui/orchestrator", http.Header{TokenHeader: {testToken}, WindowHeader: {"1"}})
	if strings.Contains(window, "/providers/skyhost/oauth/authorize") || !strings.Contains(cutOut(window, "consent-prompt", "</div>"), `href="/ui/orchestrator#consents"`) {
		t.Errorf("the window's Orchestrator page sends it to the provider: %s", cutOut(window, "consent-prompt", "</div>"))
	}
	// The consent page, reached as the provider's server sends the browser there.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(c["authorization_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	login, _ := url.Parse(resp.Header.Get("Location"))
	_, consent := f.get(t, login.RequestURI(), authed())
	for _, want := range []string{"skyhost", "shop (" + p["id"].(string) + ")", `value="provision"`, `value="resources:delete"`, `action="` + s.URL + `/providers/skyhost/oauth/consent"`} {
		if !strings.Contains(consent, want) {
			t.Errorf("the consent page lacks %q", want)
		}
	}
	if st, _ := f.get(t, "/ui/consent?request=oar_nope", authed()); st.StatusCode != 404 {
		t.Errorf("an unknown request: %d", st.StatusCode)
	}
	// Approve from the Orchestrator page.
	// Approve from the Orchestrator page, with resources:delete unticked.
	if st, _ := f.postForm(t, "/ui/consents/answer", url.Values{"consent": {id}, "decision": {"approve"}, "choose": {"1"}, "scope": {"provision", "resources:read"}}); st != http.StatusNoContent {
		t.Fatalf("answer: %d", st)
	}
	st, _, got := a.Call("GET", "/orchestrator/v1/consents/"+id, token, nil)
	if granted, _ := got["granted_scopes"].([]any); st != 200 || got["status"] != "approved" || len(granted) != 3 || slices.Contains(granted, any("resources:delete")) {
		t.Errorf("after Approve: %d %v", st, got)
	}
	if st, _ := f.postForm(t, "/ui/consents/answer", url.Values{"consent": {id}, "decision": {"maybe"}}); st != 400 {
		t.Errorf("a decision that is neither: %d", st)
	}
}
