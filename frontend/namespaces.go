package frontend

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock"
)

// namespacesView is the Namespaces page: every namespace with its clock and counts, the saved
// snapshots, and the outcome of the last action.
type namespacesView struct {
	Available  bool // false when the sandbox has no namespace registry
	Shown      string
	Namespaces []mock.NamespaceSummary
	Snapshots  []mock.SnapshotInfo
	Now        time.Time
	Max        int // namespaces.max, the default namespace included
	Message    string
	Error      string
}

// namespacesView reads the registry of the default sandbox: the page lists the same
// namespaces whichever one the pages show.
func (u *UI) namespacesView(r *http.Request) namespacesView {
	v := namespacesView{Shown: "default", Now: time.Now().UTC()}
	if u.namespace != "" {
		v.Shown = u.namespace
	} else if ns, ok := r.Context().Value(shownNamespaceKey{}).(string); ok {
		v.Shown = ns
	}
	ns := u.root.Sandbox.Namespaces()
	if ns == nil {
		return v
	}
	v.Available, v.Namespaces, v.Snapshots, v.Max = true, ns.Summaries(r.Context()), ns.Snapshots(), ns.Max()
	return v
}

func (u *UI) namespaces(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, namespacesPage(u.meta("Namespaces", "namespaces"), u.namespacesView(r)))
}

func (u *UI) namespacesFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, namespacesLive(u.namespacesView(r)))
}

// namespaceAction creates, resets, snapshots or deletes a namespace through the registry calls
// the control API makes, then shows the list with what happened.
func (u *UI) namespaceAction(w http.ResponseWriter, r *http.Request) {
	ns := u.root.Sandbox.Namespaces()
	if ns == nil {
		http.Error(w, "ospbox UI: this sandbox has no namespaces", http.StatusNotFound)
		return
	}
	ctx := r.Context()
	id := strings.TrimSpace(r.PostFormValue("id"))
	var msg string
	var err error
	switch op := r.PostFormValue("op"); op {
	case "create":
		var ttl time.Duration
		if s := strings.TrimSpace(r.PostFormValue("ttl_seconds")); s != "" {
			secs, perr := strconv.Atoi(s)
			if perr != nil || secs < 1 {
				http.Error(w, "ospbox UI: the TTL is a whole number of seconds, at least 1", http.StatusBadRequest)
				return
			}
			ttl = time.Duration(secs) * time.Second
		}
		var ni mock.NamespaceInfo
		ni, err = ns.Create(ctx, id, r.PostFormValue("from"), ttl, nil)
		msg = "Namespace " + ni.ID + " is made; its API is at " + u.root.SandboxURL + "/ns/" + ni.ID + "."
	case "reset":
		_, err = ns.Reset(ctx, id, r.PostFormValue("to"))
		msg = "Namespace " + id + " is back to " + sourceText(r.PostFormValue("to")) + ", its clock at real time."
	case "snapshot":
		var si mock.SnapshotInfo
		si, err = ns.Snapshot(ctx, id, strings.TrimSpace(r.PostFormValue("name")))
		msg = "Snapshot " + si.ID + " holds namespace " + id + " as it is now."
	case "delete":
		_, err = ns.Delete(id)
		msg = "Namespace " + id + " is deleted."
	default:
		http.Error(w, "ospbox UI: unknown namespace action "+strconv.Quote(op), http.StatusBadRequest)
		return
	}
	v := u.namespacesView(r)
	if err != nil {
		v.Error = namespaceErrorText(err)
	} else {
		v.Message = msg
	}
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/ui/namespaces", http.StatusSeeOther)
		return
	}
	u.render(w, r, namespacesLive(v))
}

// sourceText names where a reset takes a namespace.
func sourceText(to string) string {
	switch {
	case to == "empty":
		return "empty"
	case strings.HasPrefix(to, "snapshot:"):
		return "snapshot " + strings.TrimPrefix(to, "snapshot:")
	}
	return "the seed"
}

// namespaceErrorText is a registry error as a sentence for the page.
func namespaceErrorText(err error) string {
	s := err.Error()
	if bad := (*mock.NamespaceRequestError)(nil); errors.As(err, &bad) {
		s = bad.Message
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
