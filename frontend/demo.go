package frontend

import (
	"context"
	"net/http"
	"sync"

	"github.com/ospbox/ospbox/demo"
	"github.com/ospbox/ospbox/storage"
)

// demoRun is the Overview's demo: at most one at a time, its steps kept for the page.
type demoRun struct {
	mu      sync.Mutex
	running bool
	steps   []string
	err     string
}

// demoState is a copy of the demo's progress for rendering.
type demoState struct {
	Running bool
	Steps   []string
	Err     string
}

func (d *demoRun) state() demoState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return demoState{Running: d.running, Steps: append([]string(nil), d.steps...), Err: d.err}
}

// startDemo runs the scripted agent (package demo) against this sandbox host in the background;
// the Overview follows it live.
func (u *UI) startDemo(w http.ResponseWriter, r *http.Request) {
	d := &u.demo
	d.mu.Lock()
	if !d.running {
		d.running, d.steps, d.err = true, nil, ""
		go func() {
			_, err := demo.Run(context.Background(), demo.Options{Target: u.SandboxURL, Speed: 1, Log: func(s string) {
				d.mu.Lock()
				d.steps = append(d.steps, s)
				d.mu.Unlock()
				u.notify()
			}})
			d.mu.Lock()
			d.running = false
			if err != nil {
				d.err = err.Error()
			}
			d.mu.Unlock()
			u.notify()
		}()
	}
	d.mu.Unlock()
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
