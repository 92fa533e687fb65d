package app

import (
	"context"
	"time"
)

// The desktop window's consent prompt (spec/orchestrator.md §3): when a provider asks the user
// for consent (ospbox projects add waits on it), the window comes to the front on the
// Orchestrator page, where the waiting consent has Approve and Deny. The window cannot follow
// the provider's redirects itself, so those buttons have the orchestrator walk the flow.

// watchConsents prompts for each new pending consent of the namespace the window shows, until
// ctx ends.
func (d *desktop) watchConsents(ctx context.Context) {
	prompted := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.promptConsents(ctx, prompted)
		}
	}
}

// promptConsents raises the window on the Orchestrator page when a consent is waiting that it
// has not prompted for yet; prompted remembers them.
func (d *desktop) promptConsents(ctx context.Context, prompted map[string]bool) {
	sc, err := d.app.Sandbox.Namespaces().Open(ctx, d.shownNamespace())
	if err != nil {
		return
	}
	list, _ := sc.DB.Consents(ctx, "", "pending")
	now := sc.Sandbox.Clock().Now
	sc.Release()
	fresh := false
	for _, c := range list {
		if !prompted[c.ID] && now.Before(c.ExpiresAt) {
			prompted[c.ID], fresh = true, true
		}
	}
	if fresh && d.window != nil {
		d.window.Raise()
		d.show("/ui/orchestrator")
	}
}
