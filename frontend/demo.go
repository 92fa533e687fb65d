package frontend

import (
	"context"
	"net/http"

	"github.com/ospbox/ospbox/mock/demo"
	"github.com/ospbox/ospbox/storage"
)

// demoState is the demo's progress for rendering: its steps so far.
type demoState = runState[string]

// startDemo runs the scripted agent (package demo) against this sandbox host in the background;
// the Overview follows it live.
func (u *UI) startDemo(w http.ResponseWriter, r *http.Request) {
	u.demo.start("", func(report func(string)) error {
		_, err := demo.Run(context.Background(), demo.Options{Target: u.SandboxURL, Speed: 1, Log: report})
		return err
	}, u.notify)
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	u.render(w, r, demoCard(u.demo.state()))
}

func (u *UI) demoFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, demoCard(u.demo.state()))
}

// notify tells every open page that something changed, as a commit does.
func (u *UI) notify() { u.DB.Feed.Publish(storage.Change{Table: "demo", Kind: "update"}) }
