package frontend

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/check"
)

// checkState is a check run for rendering: the URL, the results so far, and the report.
type checkState struct {
	runState[check.Result]
	Report *check.Report
}

// checkView is the Check page.
type checkView struct {
	Targets []checkTarget // the workspace's providers
	Run     checkState
}

// checkTarget is a server of the workspace to check, and the protocol to check it for.
type checkTarget struct{ Label, URL, Protocol string }

func (u *UI) checkViewOf() checkView {
	v := checkView{Run: u.checkState()}
	for _, slug := range u.providerSlugs() {
		v.Targets = append(v.Targets, checkTarget{Label: slug + " — OSP provider", URL: u.SandboxURL + "/providers/" + slug, Protocol: "auto"})
	}
	snap := u.Sandbox.Snapshot()
	if snap.OAP.Disk.Present {
		v.Targets = append(v.Targets, checkTarget{Label: "OAP server", URL: u.SandboxURL, Protocol: "oap"})
	}
	if snap.BSP.Disk.Present {
		v.Targets = append(v.Targets, checkTarget{Label: "BSP service", URL: u.SandboxURL, Protocol: "bsp"})
		v.Targets = append(v.Targets, checkTarget{Label: "BEST service", URL: u.SandboxURL, Protocol: "best"})
	}
	return v
}

func (u *UI) checkPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, checkPageView(u.meta("Check", "check"), u.checkViewOf()))
}

func (u *UI) checkResults(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, checkResultsCard(u.checkState()))
}

// startCheck runs ospbox check against the URL given (any provider, not only this workspace's)
// in the background; the page follows the results live.
func (u *UI) startCheck(w http.ResponseWriter, r *http.Request) {
	target := strings.TrimSpace(r.PostFormValue("url"))
	if p, err := url.Parse(target); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		u.checks.fail(target, "enter the provider's base URL, such as "+u.SandboxURL+"/providers/acmedb")
		u.checkReport.Store(nil)
		u.checkResults(w, r)
		return
	}
	protocol := r.PostFormValue("protocol")
	if protocol == "" {
		protocol = "auto"
	}
	opts := check.Options{Target: target, Protocol: protocol, Level: r.PostFormValue("level"), NonDestructive: r.PostFormValue("non_destructive") != "",
		APIKey: strings.TrimSpace(r.PostFormValue("api_key")), Tenant: strings.TrimSpace(r.PostFormValue("tenant")), Timeout: 10 * time.Second}
	// This workspace's BSP services: its own credential unless another is given.
	if creds := u.Sandbox.Snapshot().Config.BSP.Credentials; opts.APIKey == "" && (protocol == "bsp" || protocol == "best") &&
		strings.HasPrefix(target, u.SandboxURL) && len(creds) > 0 {
		opts.APIKey = creds[0].Token
	}
	u.checks.start(target, func(report func(check.Result)) error {
		rep, err := check.Run(context.Background(), opts, report)
		u.checkReport.Store(rep)
		return err
	}, u.notify)
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/ui/check", http.StatusSeeOther)
		return
	}
	u.checkResults(w, r)
}

// checkState is the current run with its report once it ends.
func (u *UI) checkState() checkState {
	st := checkState{runState: u.checks.state()}
	if !st.Running {
		st.Report = u.checkReport.Load()
	}
	return st
}

// firstTarget is the URL the form starts with: the last one checked, else the first provider.
func firstTarget(v checkView) string {
	if v.Run.Label != "" {
		return v.Run.Label
	}
	if len(v.Targets) > 0 {
		return v.Targets[0].URL
	}
	return ""
}

func levelClass(l check.Level, st check.Status) string {
	// The level's colour says what a failure costs; on a passed or skipped check it stays plain,
	// so red on the page always means something failed.
	switch {
	case st != check.Fail:
		return ""
	case l == check.Must:
		return "err"
	case l == check.Should:
		return "warn"
	}
	return "accent"
}

// checkSummary is the line under the results, in words: "2 failed, 1 of them a MUST".
func checkSummary(r *check.Report) string {
	s := plural(r.Passed, "check") + " passed, " + strconv.Itoa(r.Failed) + " failed"
	switch {
	case r.Failed == 0:
	case r.MustFailed == 0:
		s += " (none of them a MUST: still conformant)"
	case r.MustFailed == r.Failed && r.Failed == 1:
		s += " (a MUST: not conformant)"
	case r.MustFailed == r.Failed:
		s += " (all of them MUST: not conformant)"
	default:
		s += " (" + strconv.Itoa(r.MustFailed) + " of them MUST: not conformant)"
	}
	return s + ", " + strconv.Itoa(r.Skipped) + " skipped."
}
