package frontend

import (
	"net/http"
	"time"
)

// flashFor is how long an action's outcome stays on its page. Actions change state, state
// changes make the page refresh itself live, and without this the refresh would wipe the
// message a moment after it appeared.
const flashFor = 6 * time.Second

// flash is the outcome of the last action on one page.
type flash struct {
	message, err string
	at           time.Time
}

// setFlash records an action's outcome for the page key.
func (u *UI) setFlash(key, message string, err error) {
	f := flash{message: message, at: time.Now()}
	if err != nil {
		f.message, f.err = "", err.Error()
	}
	u.flashes.Store(key, f)
}

// flashOf is the page key's recent outcome, if any: message, error text.
func (u *UI) flashOf(key string) (string, string) {
	v, ok := u.flashes.Load(key)
	if !ok {
		return "", ""
	}
	f := v.(flash)
	if time.Since(f.at) > flashFor {
		u.flashes.Delete(key)
		return "", ""
	}
	return f.message, f.err
}

// recordAction keeps an action's outcome on the page key and, for a plain form post (no htmx),
// answers it itself: the error, or a redirect back to page. It reports whether the caller still
// renders the fragment htmx swaps in.
func (u *UI) recordAction(w http.ResponseWriter, r *http.Request, key, page, message string, err error) bool {
	u.setFlash(key, message, err)
	if r.Header.Get("HX-Request") != "" {
		return true
	}
	if err != nil {
		http.Error(w, "ospbox UI: "+err.Error(), http.StatusBadRequest)
		return false
	}
	http.Redirect(w, r, page, http.StatusSeeOther)
	return false
}
