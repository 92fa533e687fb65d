package frontend

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ospbox/ospbox/check"
)

// checkRun is the Check page's run: at most one at a time, its results kept for the page.
type checkRun struct {
	mu      sync.Mutex
	running bool
	target  string
	results []check.Result
	report  *check.Report
	err     string
}

// checkState is a copy of a run for rendering.
type checkState struct {
	Running bool
	Target  string
	Results []check.Result
	Report  *check.Report
	Err     string
}

func (c *checkRun) state() checkState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return checkState{Running: c.running, Target: c.target, Results: append([]check.Result(nil), c.results...), Report: c.report, Err: c.err}
}

// checkView is the Check page.
type checkView struct {
	Targets []checkTarget // the workspace's providers
	Run     checkState
}

// checkTarget is a provider of the workspace to check.
type checkTarget struct{ Label, URL string }

func (u *UI) checkViewOf() checkView {
	v := checkView{Run: u.checks.state()}
	for _, slug := range u.providerSlugs() {
		v.Targets = append(v.Targets, checkTarget{Label: slug + " (this workspace)", URL: u.SandboxURL + "/providers/" + slug})
	}
	return v
}

func (u *UI) checkPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, checkPageView(u.meta("Check", "check"), u.checkViewOf()))
}

func (u *UI) checkResults(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, checkResultsCard(u.checks.state()))
}

// startCheck runs ospbox check against the URL given (any provider, not only this workspace's)
// in the background; the page follows the results live.
func (u *UI) startCheck(w http.ResponseWriter, r *http.Request) {
	target := strings.TrimSpace(r.PostFormValue("url"))
	if p, err := url.Parse(target); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		c := &u.checks
		c.mu.Lock()
		if !c.running {
			c.target, c.results, c.report, c.err = target, nil, nil, "enter the provider's base URL, such as "+u.SandboxURL+"/providers/acmedb"
		}
		c.mu.Unlock()
		u.checkResults(w, r)
		return
	}
	opts := check.Options{Target: target, Protocol: "auto", Level: r.PostFormValue("level"), NonDestructive: r.PostFormValue("non_destructive") != "",
		Timeout: 10 * time.Second}
	c := &u.checks
	c.mu.Lock()
	if !c.running {
		c.running, c.target, c.results, c.report, c.err = true, target, nil, nil, ""
		go func() {
			rep, err := check.Run(context.Background(), opts, func(res check.Result) {
				c.mu.Lock()
				c.results = append(c.results, res)
				c.mu.Unlock()
				u.notify()
			})
			c.mu.Lock()
			c.running, c.report = false, rep
			if err != nil {
				c.err = err.Error()
			}
			c.mu.Unlock()
			u.notify()
		}()
	}
	c.mu.Unlock()
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/ui/check", http.StatusSeeOther)
		return
	}
	u.checkResults(w, r)
}

// firstTarget is the URL the form starts with: the last one checked, else the first provider.
func firstTarget(v checkView) string {
	if v.Run.Target != "" {
		return v.Run.Target
	}
	if len(v.Targets) > 0 {
		return v.Targets[0].URL
	}
	return ""
}

func levelClass(l check.Level) string {
	switch l {
	case check.Must:
		return "err"
	case check.Should:
		return "warn"
	}
	return "accent"
}
