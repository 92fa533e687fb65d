package frontend

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ospbox/ospbox/mock/demo"
	"github.com/ospbox/ospbox/storage"
)

// demoState is the demo's progress for rendering: its steps so far.
type demoState = runState[string]

// demoNamespace is where the Run the demo button plays the demo: made fresh for each run, so the
// demo can run any number of times and never touches the user's own state.
const demoNamespace = "demo"

// startDemo makes the namespace demo fresh, runs the scripted agent (package demo) there in the
// background, and shows that namespace, whose Overview follows the run live.
func (u *UI) startDemo(w http.ResponseWriter, r *http.Request) {
	root := u.root
	st, _ := root.states.LoadOrStore(demoNamespace, &uiState{})
	run := &st.(*uiState).demo
	if !run.state().Running {
		base, err := demo.PrepareNamespace(r.Context(), nil, root.SandboxURL, demoNamespace)
		if err != nil || base == "" {
			u.demo.start("", func(func(string)) error {
				return fmt.Errorf("the namespace %s could not be made: %v", demoNamespace, err)
			}, u.notify)
			u.render(w, r, demoCard(u.demo.state()))
			return
		}
		notify := func() {
			if sc, err := root.Sandbox.Namespaces().Open(context.Background(), demoNamespace); err == nil {
				sc.DB.Feed.Publish(storage.Change{Table: "demo", Kind: "update"})
				sc.Release()
			}
		}
		run.start("", func(report func(string)) error {
			_, err := demo.Run(context.Background(), demo.Options{Target: base, Speed: 1, Log: report})
			return err
		}, notify)
	}
	to := "/ui/?ns=" + demoNamespace
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (u *UI) demoFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, demoCard(u.demo.state()))
}

// notify tells every open page that something changed, as a commit does.
func (u *UI) notify() { u.DB.Feed.Publish(storage.Change{Table: "demo", Kind: "update"}) }
