package frontend

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ospbox/ospbox/storage"
)

// The consent page (spec/orchestrator.md §3): where a provider's authorization server sends the
// user's browser to answer an authorization request. It names the provider, the client, the
// project the orchestrator asks for and each scope (ticked; the user may untick some), and posts
// the answer to the provider's server (<issuer>/consent), which goes on with the OAuth flow.

// consentView is one authorization request as the page shows it.
type consentView struct {
	Request storage.OAuthRequest
	// Consent is the orchestrator's side of it, when the orchestrator asked (it names the project).
	Consent *storage.Consent
	Project string
	Issuer  string // where the answer is posted
	Scopes  []string
	Offline bool // offline_access asked: the orchestrator may refresh
	Error   string
}

// scopeHelp says what each scope of a workspace provider allows.
var scopeHelp = map[string]string{
	"provision":        "create resources and change their tiers",
	"resources:read":   "read resources, their usage and costs",
	"resources:delete": "deprovision resources",
}

func (u *UI) consentViewOf(ctx context.Context, id string) (consentView, error) {
	v := consentView{}
	a, err := u.DB.OAuthRequest(ctx, id)
	if err != nil {
		return v, err
	}
	v.Request = a
	v.Issuer = u.SandboxURL + "/providers/" + a.Provider + "/oauth"
	if c, err := u.DB.ConsentByState(ctx, a.State); err == nil && strings.HasSuffix(c.Issuer, "/providers/"+a.Provider+"/oauth") {
		v.Consent, v.Issuer = &c, c.Issuer
		if p, err := u.DB.Project(ctx, c.ProjectID); err == nil {
			v.Project = p.Name + " (" + p.ID + ")"
		}
	}
	for _, s := range strings.Fields(a.Scopes) {
		if s == "offline_access" {
			v.Offline = true
		} else if s != "openid" {
			v.Scopes = append(v.Scopes, s)
		}
	}
	return v, nil
}

func (u *UI) consentPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("request")
	v, err := u.consentViewOf(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		w.WriteHeader(http.StatusNotFound)
		v.Error = "There is no authorization request " + id + " waiting here: it was answered already, or it expired. Start again from the client."
	} else if err != nil {
		u.fail(w, err)
		return
	} else if v.Request.Status != "pending" {
		v.Error = "This request was already " + v.Request.Status + "."
	}
	m := u.meta("Consent", "orchestrator")
	m.Consents = nil // this page answers one
	u.render(w, r, consentPageView(m, v))
}

// pendingConsents are the orchestrator's consents waiting for the user, for the layout's prompt.
func (u *UI) pendingConsents(ctx context.Context) []storage.Consent {
	list, err := u.DB.Consents(ctx, "", "pending")
	if err != nil {
		return nil
	}
	now := u.Sandbox.Clock().Now
	var out []storage.Consent
	for _, c := range list {
		if now.Before(c.ExpiresAt) {
			out = append(out, c)
		}
	}
	return out
}

// consentPromptItem is one waiting consent, as the layout's prompt shows it: Review opens its
// authorization URL, which the provider's server sends on to the consent page.
type consentPromptItem struct{ Provider, Scopes, Project, URL string }

func (u *UI) consentPrompts() []consentPromptItem {
	var out []consentPromptItem
	ctx := context.Background()
	for _, c := range u.pendingConsents(ctx) {
		project := c.ProjectID
		if p, err := u.DB.Project(ctx, c.ProjectID); err == nil {
			project = "project " + p.Name
		}
		out = append(out, consentPromptItem{Provider: c.ProviderID, Scopes: withoutOffline(c.Scopes), Project: project, URL: c.AuthorizeURL})
	}
	return out
}

// answerConsent is POST /ui/consents/answer: Approve or Deny on the Orchestrator page (and in
// the desktop window, which cannot follow the provider's redirects): the orchestrator walks the
// same flow the consent page's form starts, granting the scopes ticked.
func (u *UI) answerConsent(w http.ResponseWriter, r *http.Request) {
	id, decision := r.PostFormValue("consent"), r.PostFormValue("decision")
	if decision != "approve" && decision != "deny" {
		http.Error(w, "ospbox UI: decision is approve or deny", http.StatusBadRequest)
		return
	}
	var scopes []string // nil: every scope asked; the boxes ticked when the form offered them
	if r.PostFormValue("choose") != "" {
		scopes = append([]string{}, r.PostForm["scope"]...)
	}
	c, err := u.Sandbox.Orchestrator().AnswerConsent(r.Context(), id, decision, scopes, u.SandboxURL)
	if err != nil && c.ID == "" {
		http.Error(w, "ospbox UI: "+err.Error(), http.StatusBadRequest)
		return
	}
	to := "/ui/orchestrator?consent=" + url.QueryEscape(c.ID)
	if u.namespace != "" {
		to += "&ns=" + url.QueryEscape(u.namespace)
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// WindowHeader marks a request from the desktop window (app.DesktopHandler sets it): the window
// cannot follow a provider's redirects, so its pages answer consents in place instead of sending
// it to the provider's consent page.
const WindowHeader = "X-Ospbox-Window"

type inWindowKey struct{}

// inWindow reports whether the page renders for the desktop window.
func inWindow(ctx context.Context) bool { v, _ := ctx.Value(inWindowKey{}).(bool); return v }
