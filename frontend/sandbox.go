package frontend

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/storage"
)

// maxImportBytes bounds an uploaded state file.
const maxImportBytes = 1 << 30

// stateView is the Sandbox page: the clock, the state's size, the seed, and the outcome of the
// last action.
type stateView struct {
	Clock          mock.ClockState
	Counts         storage.Counts
	Seed           mock.SeedInfo
	Message, Error string
}

func (u *UI) stateViewOf(r *http.Request) stateView {
	message, failure := u.flashOf("state")
	v := stateView{Clock: u.Sandbox.Clock(), Seed: u.Sandbox.Seed(), Message: message, Error: failure}
	var err error
	if v.Counts, err = u.DB.Counts(r.Context()); err != nil {
		v.Error, v.Message = err.Error(), ""
	}
	return v
}

func (u *UI) sandbox(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, sandboxPage(u.meta("Sandbox", "sandbox"), u.stateViewOf(r)))
}

func (u *UI) stateFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, stateLive(u.stateViewOf(r)))
}

// stateAfter answers a state action with the state card (htmx) or a redirect (a plain form).
func (u *UI) stateAfter(w http.ResponseWriter, r *http.Request, message string, err error) {
	if u.recordAction(w, r, "state", "/ui/sandbox", message, err) {
		u.render(w, r, stateLive(u.stateViewOf(r)))
	}
}

func (u *UI) resetState(w http.ResponseWriter, r *http.Request) {
	msg := "The state is empty again."
	if u.Sandbox.Seed().Exists {
		msg = "The state is back to the seed."
	}
	u.stateAfter(w, r, msg, u.Sandbox.ResetToSeed(r.Context()))
}

func (u *UI) saveSeed(w http.ResponseWriter, r *http.Request) {
	u.stateAfter(w, r, "The current state is the seed now.", u.Sandbox.SaveSeed(r.Context()))
}

// exportState downloads the whole state as one SQLite file.
func (u *UI) exportState(w http.ResponseWriter, r *http.Request) {
	dir, err := os.MkdirTemp("", "ospbox-export-")
	if err != nil {
		u.fail(w, err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.db")
	if err := u.Sandbox.ExportState(r.Context(), path); err != nil {
		u.fail(w, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		u.fail(w, err)
		return
	}
	defer f.Close()
	name := "ospbox-" + u.Sandbox.Snapshot().Config.Name + "-" + u.Sandbox.Clock().Now.UTC().Format("20060102-150405") + ".db"
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Disposition", `attachment; filename="`+SafeFileName(name)+`"`)
	http.ServeContent(w, r, name, time.Now(), f)
}

// importState replaces the state with an uploaded export.
func (u *UI) importState(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
	file, _, err := r.FormFile("state")
	if err != nil {
		u.stateAfter(w, r, "", errors.New("choose a state file (an ospbox export, at most 1 GiB) to import"))
		return
	}
	defer file.Close()
	tmp, err := os.CreateTemp("", "ospbox-import-*.db")
	if err != nil {
		u.fail(w, err)
		return
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, file)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = u.Sandbox.ImportState(r.Context(), tmp.Name())
	}
	u.stateAfter(w, r, "Imported: the sandbox runs on the imported state now.", err)
}

// SafeFileName keeps letters, digits, dot, dash and underscore.
func SafeFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
