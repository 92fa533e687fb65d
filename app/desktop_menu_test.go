package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/wailsapp/wails/v2/pkg/menu"
)

// fakeWindow records what the desktop menu does to the window; its choosers answer from fields.
type fakeWindow struct {
	mu                       sync.Mutex
	folder, saveAs, openFile string
	answer                   bool
	js, titles, told         []string
	failures, reloads, quits int
	raised                   int
}

func (w *fakeWindow) ExecJS(js string)        { w.mu.Lock(); w.js = append(w.js, js); w.mu.Unlock() }
func (w *fakeWindow) Reload()                 { w.mu.Lock(); w.reloads++; w.mu.Unlock() }
func (w *fakeWindow) SetTitle(t string)       { w.mu.Lock(); w.titles = append(w.titles, t); w.mu.Unlock() }
func (w *fakeWindow) Quit()                   { w.mu.Lock(); w.quits++; w.mu.Unlock() }
func (w *fakeWindow) Raise()                  { w.mu.Lock(); w.raised++; w.mu.Unlock() }
func (w *fakeWindow) Ask(string, string) bool { return w.answer }
func (w *fakeWindow) ChooseFolder(string, string) (string, error) {
	return w.folder, nil
}
func (w *fakeWindow) ChooseSaveFile(string, string, string) (string, error) { return w.saveAs, nil }
func (w *fakeWindow) ChooseOpenFile(string, string) (string, error)         { return w.openFile, nil }
func (w *fakeWindow) Tell(_, message string, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.told = append(w.told, message)
	if failed {
		w.failures++
	}
}

func startTestDesktop(t *testing.T) (*desktop, *fakeWindow) {
	t.Helper()
	a := startTestApp(t)
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	w := &fakeWindow{}
	return &desktop{app: a, window: w, build: BuildInfo{Version: "test"}}, w
}

// click runs the menu item with this label, as GTK does on a click or its shortcut.
func click(t *testing.T, m *menu.Menu, label string) {
	t.Helper()
	for _, top := range m.Items {
		for _, it := range top.SubMenu.Items {
			if it.Label == label {
				it.Click(&menu.CallbackData{MenuItem: it})
				return
			}
		}
	}
	t.Fatalf("no menu item %q", label)
}

func TestDesktopMenuHasTheItemsTheIssueNames(t *testing.T) {
	d, _ := startTestDesktop(t)
	var got []string
	for _, top := range d.menu().Items {
		for _, it := range top.SubMenu.Items {
			if it.Label != "" {
				got = append(got, top.Label+" > "+it.Label)
				if it.Click == nil {
					t.Errorf("%s > %s does nothing", top.Label, it.Label)
				}
			}
		}
	}
	for _, want := range []string{"File > Open workspace…", "File > Reload manifests", "File > Export state…", "File > Import state…",
		"File > Quit", "Go > Overview", "Go > Spend", "Go > Check", "Sandbox > Run the demo", "Help > Glossary"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("menu lacks %q; has %q", want, got)
		}
	}
}

func TestDesktopMenuNavigatesInTheShownNamespace(t *testing.T) {
	d, w := startTestDesktop(t)
	h := d.handler()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ui/requests?ns=demo", nil))
	if d.shownNamespace() != "demo" || len(w.titles) != 1 || !strings.HasSuffix(w.titles[0], "· namespace demo") {
		t.Fatalf("namespace %q, titles %q", d.shownNamespace(), w.titles)
	}
	// Fragments and assets do not change what the window shows.
	req := httptest.NewRequest("GET", "/ui/spend/live?ns=other", nil)
	req.Header.Set("HX-Request", "true")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ui/assets/app.js?ns=other", nil))
	if d.shownNamespace() != "demo" {
		t.Errorf("a fragment moved the namespace to %q", d.shownNamespace())
	}
	m := d.menu()
	click(t, m, "Spend")
	click(t, m, "Show the default namespace")
	click(t, m, "Run the demo")
	want := []string{`window.location.assign("/ui/spend?ns=demo")`, `window.location.assign("/ui/?ns=default")`,
		`htmx.ajax("POST", "/ui/demo", {source: document.body, swap: "none"})`}
	if !reflect.DeepEqual(w.js, want) {
		t.Errorf("scripts %q, want %q", w.js, want)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ui/?ns=default", nil))
	if last := w.titles[len(w.titles)-1]; last != "ospbox — "+d.app.Workspace.Name() {
		t.Errorf("title back in default: %q", last)
	}
}

func TestDesktopExportAndImportState(t *testing.T) {
	d, w := startTestDesktop(t)
	m := d.menu()
	w.saveAs = filepath.Join(t.TempDir(), "state.db")
	click(t, m, "Export state…")
	b, err := os.ReadFile(w.saveAs)
	if err != nil || !bytes.HasPrefix(b, []byte("SQLite format 3\x00")) || w.failures != 0 {
		t.Fatalf("export: %v, %d bytes, told %q", err, len(b), w.told)
	}
	// Not an ospbox state: refused, said so, nothing replaced.
	w.openFile = filepath.Join(t.TempDir(), "notes.db")
	os.WriteFile(w.openFile, []byte("not a database"), 0o644)
	click(t, m, "Import state…")
	if w.failures != 1 || w.reloads != 0 {
		t.Errorf("a bad file: failures %d reloads %d, told %q", w.failures, w.reloads, w.told)
	}
	w.openFile = w.saveAs
	click(t, m, "Import state…")
	if w.failures != 1 || w.reloads != 1 {
		t.Errorf("importing the export: failures %d reloads %d, told %q", w.failures, w.reloads, w.told)
	}
	// Cancelling a dialog does nothing and says nothing.
	w.saveAs, w.openFile = "", ""
	told := len(w.told)
	click(t, m, "Export state…")
	click(t, m, "Import state…")
	if len(w.told) != told {
		t.Errorf("cancel said %q", w.told[told:])
	}
}

func TestDesktopOpenWorkspaceRelaunchesOnTheChosenFolder(t *testing.T) {
	d, w := startTestDesktop(t)
	m := d.menu()
	w.folder = d.app.Workspace.Dir
	click(t, m, "Open workspace…")
	if w.quits != 0 || d.relaunchWorkspace() != "" {
		t.Fatal("reopening the open workspace must do nothing")
	}
	// A folder that is not a workspace: asked first; No leaves everything as it is.
	w.folder = t.TempDir()
	os.WriteFile(filepath.Join(w.folder, "notes.txt"), []byte("x"), 0o644)
	click(t, m, "Open workspace…")
	if w.quits != 0 || d.relaunchWorkspace() != "" {
		t.Fatal("a declined folder was opened")
	}
	// Another ospbox serves it: refused before the window closes.
	busy := startTestApp(t)
	defer busy.Shutdown(context.Background())
	w.folder = busy.Workspace.Dir
	click(t, m, "Open workspace…")
	if w.quits != 0 || w.failures != 1 || !strings.Contains(w.told[len(w.told)-1], "in use") {
		t.Fatalf("a busy workspace: quits %d, told %q", w.quits, w.told)
	}
	w.folder, w.answer = t.TempDir(), true
	click(t, m, "Open workspace…")
	if w.quits != 1 || d.relaunchWorkspace() != w.folder {
		t.Errorf("quits %d, relaunch %q", w.quits, d.relaunchWorkspace())
	}
}

func TestRelaunchArgsReplaceTheWorkspace(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"ospbox"}, []string{"ospbox", "--workspace", "/new"}},
		{[]string{"ospbox", "--workspace", "/old", "--page", "/ui/spend"}, []string{"ospbox", "--page", "/ui/spend", "--workspace", "/new"}},
		{[]string{"ospbox", "-w", "/old", "--addr=127.0.0.1:0"}, []string{"ospbox", "--addr=127.0.0.1:0", "--workspace", "/new"}},
		{[]string{"ospbox", "--workspace=/old"}, []string{"ospbox", "--workspace", "/new"}},
	} {
		if got := relaunchArgs(tt.in, "/new"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("relaunchArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWindowGeometryIsRemembered(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if g := loadGeometry(); g.Width != defaultWindowWidth || g.Height != defaultWindowHeight || g.Placed {
		t.Errorf("nothing saved: %+v", g)
	}
	saved := windowGeometry{Width: 1100, Height: 700, X: 40, Y: 30, Placed: true}
	if err := saveGeometry(saved); err != nil {
		t.Fatal(err)
	}
	if g := loadGeometry(); g != saved {
		t.Errorf("loaded %+v, saved %+v", g, saved)
	}
	saveGeometry(windowGeometry{Width: 300, Height: 200})
	if g := loadGeometry(); g.Width != minWindowWidth || g.Height != minWindowHeight {
		t.Errorf("too small is raised to the minimum: %+v", g)
	}
	path, _ := geometryFile()
	os.WriteFile(path, []byte("{not json"), 0o644)
	if g := loadGeometry(); g.Width != defaultWindowWidth {
		t.Errorf("a broken file gives the default: %+v", g)
	}
}

// TestDesktopPromptsForConsent: a consent waiting for the user (projects add at a provider that
// asks for it) brings the window forward on the Orchestrator page, once per consent.
func TestDesktopPromptsForConsent(t *testing.T) {
	d, w := startTestDesktop(t)
	prompted := map[string]bool{}
	d.promptConsents(t.Context(), prompted)
	if w.raised != 0 {
		t.Fatal("raised with no consent waiting")
	}
	post := func(path, token, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest("POST", d.app.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %v %v", path, err, resp)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
	}
	var p struct{ ID, Token string }
	post("/orchestrator/v1/projects", "", `{"name":"desk"}`, &p)
	var c struct {
		ID string `json:"consent_id"`
	}
	post("/orchestrator/v1/projects/"+p.ID+"/consents", p.Token,
		`{"provider_id":"skyhost.example","resource_metadata":"`+d.app.URL+`/providers/skyhost/.well-known/oauth-protected-resource"}`, &c)
	d.promptConsents(t.Context(), prompted)
	d.promptConsents(t.Context(), prompted)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.raised != 1 || len(w.js) != 1 || !strings.Contains(w.js[0], `"/ui/orchestrator"`) || !prompted[c.ID] {
		t.Errorf("raised %d, js %v, prompted %v", w.raised, w.js, prompted)
	}
}
