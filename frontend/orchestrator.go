package frontend

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/orchestrator"
	"github.com/ospbox/ospbox/storage"
)

// orchestratorView is the Orchestrator page (spec/orchestrator.md §6): the user, the caps with
// what payment tokens hold against them, the tokens, the projects and their vaults, the accounts
// providers made, and the reads of credentials.
type orchestratorView struct {
	User      manifests.OrchestratorUser
	Issuer    string
	UserCap   orchestrator.CapSpend
	Providers []orchestrator.CapSpend
	Tokens    []storage.PaymentToken
	Projects  []projectRow
	Accounts  []storage.ProviderAccount
	Reads     []storage.VaultRead
	Consents  []storage.Consent
	// Answered is the consent the user just answered (?consent=), for its outcome.
	Answered *storage.Consent
	Now      time.Time
	CSRF     string // for the consents' Approve and Deny
}

// projectRow is a project with how many resources its vault holds.
type projectRow struct {
	storage.Project
	Resources int
}

func (u *UI) orchestratorViewOf(ctx context.Context) (orchestratorView, error) {
	o := u.Sandbox.Orchestrator()
	v := orchestratorView{User: o.User(), Issuer: u.SandboxURL, Now: u.Sandbox.Clock().Now, CSRF: u.csrf}
	var err error
	if v.UserCap, v.Providers, err = o.Spend(ctx); err != nil {
		return v, err
	}
	if v.Tokens, err = u.DB.PaymentTokens(ctx, "", 100); err != nil {
		return v, err
	}
	projects, err := u.DB.Projects(ctx)
	if err != nil {
		return v, err
	}
	for _, p := range projects {
		items, err := u.DB.VaultItems(ctx, p.ID)
		if err != nil {
			return v, err
		}
		v.Projects = append(v.Projects, projectRow{Project: p, Resources: len(items)})
	}
	if v.Accounts, err = u.DB.ProviderAccounts(ctx); err != nil {
		return v, err
	}
	if v.Consents, err = u.DB.Consents(ctx, "", ""); err != nil {
		return v, err
	}
	v.Reads, err = u.DB.VaultReads(ctx, 50)
	return v, err
}

func (u *UI) orchestratorPage(w http.ResponseWriter, r *http.Request) {
	v, err := u.orchestratorViewOf(r.Context())
	if err != nil {
		u.fail(w, err)
		return
	}
	if id := r.URL.Query().Get("consent"); id != "" {
		if c, err := u.DB.Consent(r.Context(), id); err == nil {
			v.Answered = &c
		}
	}
	u.render(w, r, orchestratorPageView(u.meta("Orchestrator", "orchestrator"), v))
}

func (u *UI) orchestratorFragment(w http.ResponseWriter, r *http.Request) {
	v, err := u.orchestratorViewOf(r.Context())
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, orchestratorLive(v))
}

// tokenClass is a payment token's status pill.
func tokenClass(status string) string {
	switch status {
	case "issued":
		return "accent"
	case "redeemed":
		return "ok"
	}
	return ""
}

// capPercent is how much of a cap reservations and redemptions use.
func capPercent(c orchestrator.CapSpend) float64 {
	limit := ratFloat(c.Cap.Amount)
	if limit <= 0 {
		return 0
	}
	return (ratFloat(c.Reserved.Amount) + ratFloat(c.Redeemed.Amount)) / limit * 100
}

// consentClass is a consent's status pill.
func consentClass(status string) string {
	switch status {
	case "approved":
		return "ok"
	case "pending":
		return "warn"
	case "denied", "failed", "revoked", "expired":
		return "err"
	}
	return ""
}

// withoutOffline is a space-separated scope list without offline_access, which is how a client
// stays connected rather than a permission.
func withoutOffline(scopes string) string {
	return strings.Join(slices.DeleteFunc(strings.Fields(scopes), func(s string) bool { return s == "offline_access" }), " ")
}
