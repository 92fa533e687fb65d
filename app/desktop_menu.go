package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ospbox/ospbox/frontend"
	"github.com/ospbox/ospbox/manifests"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
)

// desktopWindow is what the desktop menu does to the window and asks of the user: the Wails
// runtime in the app (wailsWindow), a recorder in tests. The choosers return "" when the user
// cancels.
type desktopWindow interface {
	ExecJS(js string)
	Reload()
	SetTitle(title string)
	ChooseFolder(title, start string) (string, error)
	ChooseSaveFile(title, start, name string) (string, error)
	ChooseOpenFile(title, start string) (string, error)
	Ask(title, question string) bool
	Tell(title, message string, failed bool)
	// Raise brings the window to the front (shown, not minimised).
	Raise()
	Quit()
}

// desktop is the running desktop app around one App: its menu, the namespace the window shows
// (the menu's Export and Import act on it), and the workspace to open after the window closes.
type desktop struct {
	app    *App
	window desktopWindow
	build  BuildInfo

	mu        sync.Mutex
	namespace string // "" for the default one
	relaunch  string // workspace chosen with Open workspace…; "" to end when the window closes
}

// menu is the window's application menu. Every item does what the UI can do too, so a user who
// never touches the menu misses nothing; the menu adds the native dialogs and shortcuts.
func (d *desktop) menu() *menu.Menu {
	m := menu.NewMenu()
	file := m.AddSubmenu("File")
	file.AddText("Open workspace…", keys.CmdOrCtrl("o"), func(*menu.CallbackData) { d.openWorkspace() })
	file.AddText("Reload manifests", keys.CmdOrCtrl("r"), func(*menu.CallbackData) { d.reloadManifests() })
	file.AddSeparator()
	file.AddText("Export state…", keys.CmdOrCtrl("e"), func(*menu.CallbackData) { d.exportState() })
	file.AddText("Import state…", keys.CmdOrCtrl("i"), func(*menu.CallbackData) { d.importState() })
	file.AddSeparator()
	file.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) { d.window.Quit() })

	pages := m.AddSubmenu("Go")
	for i, p := range frontend.Pages() {
		var shortcut *keys.Accelerator
		if i < 9 {
			shortcut = keys.CmdOrCtrl(strconv.Itoa(i + 1))
		}
		pages.AddText(p.Label, shortcut, func(*menu.CallbackData) { d.show(p.Href) })
	}

	sandbox := m.AddSubmenu("Sandbox")
	sandbox.AddText("Run the demo", keys.CmdOrCtrl("d"), func(*menu.CallbackData) { d.runDemo() })
	sandbox.AddText("Show the default namespace", nil, func(*menu.CallbackData) { d.showNamespace("default") })

	help := m.AddSubmenu("Help")
	help.AddText("Glossary", keys.Key("f1"), func(*menu.CallbackData) { d.show("/ui/glossary") })
	help.AddText("About ospbox", nil, func(*menu.CallbackData) { d.about() })
	return m
}

// handler is the UI for the window, noting the namespace each page the window opens shows, and
// naming it in the title when it is not the default one.
func (d *desktop) handler() http.Handler {
	ui := d.app.DesktopHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPageLoad(r) {
			ns := frontend.RequestNamespace(r)
			d.mu.Lock()
			changed := ns != d.namespace
			d.namespace = ns
			d.mu.Unlock()
			if changed && d.window != nil {
				d.window.SetTitle(d.title())
			}
		}
		ui.ServeHTTP(w, r)
	})
}

// isPageLoad tells a page the window navigates to from its fragments, assets and event stream.
func isPageLoad(r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") != "" {
		return false
	}
	p := r.URL.Path
	return !strings.HasPrefix(p, "/ui/assets/") && p != "/ui/events" && !strings.HasSuffix(p, "/live")
}

// title names the workspace, and the namespace when the window shows another than the default.
func (d *desktop) title() string {
	t := "ospbox — " + d.app.Workspace.Name()
	if ns := d.shownNamespace(); ns != "" {
		t += " · namespace " + ns
	}
	return t
}

func (d *desktop) shownNamespace() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.namespace
}

// show opens a UI page in the window, in the namespace it shows.
func (d *desktop) show(href string) {
	if ns := d.shownNamespace(); ns != "" {
		href += "?ns=" + ns
	}
	d.navigate(href)
}

func (d *desktop) showNamespace(ns string) { d.navigate("/ui/?ns=" + ns) }

func (d *desktop) navigate(href string) {
	js, _ := json.Marshal(href)
	d.window.ExecJS("window.location.assign(" + string(js) + ")")
}

// runDemo presses the Overview's Run the demo button: the same request, so the demo runs in its
// own namespace and the window follows it there.
func (d *desktop) runDemo() {
	d.window.ExecJS(`htmx.ajax("POST", "/ui/demo", {source: document.body, swap: "none"})`)
}

// reloadManifests reads the workspace's files again, as saving one does, and shows the result.
func (d *desktop) reloadManifests() {
	if err := d.app.Sandbox.Reload(context.Background()); err != nil {
		d.window.Tell("Reload manifests", "The manifests could not be reloaded: "+err.Error(), true)
		return
	}
	d.window.Reload()
}

// exportState saves the shown namespace's whole state to a file the user names.
func (d *desktop) exportState() {
	ns := d.shownNamespace()
	name := frontend.SafeFileName("ospbox-" + d.app.Workspace.Name() + "-" + orDefault(ns) + "-" + time.Now().Format("20060102-150405") + ".db")
	path, err := d.window.ChooseSaveFile("Export the state of namespace "+orDefault(ns), homeDir(), name)
	if err != nil || path == "" {
		d.failed("Export state", err)
		return
	}
	err = d.withNamespace(ns, func(ctx context.Context, sc sandboxState) error { return sc.ExportState(ctx, path) })
	if err != nil {
		d.failed("Export state", err)
		return
	}
	d.window.Tell("Export state", "Saved the state of namespace "+orDefault(ns)+" to "+path+".", false)
}

// importState replaces the shown namespace's state with a file the user picks; a file that is
// not an ospbox state is refused and nothing is replaced.
func (d *desktop) importState() {
	ns := d.shownNamespace()
	path, err := d.window.ChooseOpenFile("Import a state into namespace "+orDefault(ns), homeDir())
	if err != nil || path == "" {
		d.failed("Import state", err)
		return
	}
	err = d.withNamespace(ns, func(ctx context.Context, sc sandboxState) error { return sc.ImportState(ctx, path) })
	if err != nil {
		d.failed("Import state", err)
		return
	}
	d.window.Reload()
}

// sandboxState is the part of a namespace's sandbox that Export and Import use.
type sandboxState interface {
	ExportState(ctx context.Context, path string) error
	ImportState(ctx context.Context, path string) error
}

func (d *desktop) withNamespace(ns string, do func(context.Context, sandboxState) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, err := d.app.Sandbox.Namespaces().Open(ctx, ns)
	if err != nil {
		return err
	}
	defer sc.Release()
	return do(ctx, sc.Sandbox)
}

// openWorkspace asks for a folder and opens ospbox on it in place of this workspace: the window
// closes, the state is closed cleanly, and the process starts again on the new folder. A folder
// another ospbox serves is refused here, before anything closes.
func (d *desktop) openWorkspace() {
	dir, err := d.window.ChooseFolder("Open a workspace", filepath.Dir(d.app.Workspace.Dir))
	if err != nil || dir == "" {
		d.failed("Open workspace", err)
		return
	}
	dir = filepath.Clean(dir)
	if dir == filepath.Clean(d.app.Workspace.Dir) {
		d.window.Tell("Open workspace", dir+" is the workspace open now.", false)
		return
	}
	if !manifests.IsWorkspaceDir(dir) && !d.window.Ask("Open workspace", dir+" has no ospbox.json. Make it a workspace, with the sample manifests?") {
		return
	}
	if lock, err := lockWorkspace(dir); err != nil {
		d.failed("Open workspace", err)
		return
	} else {
		lock.release()
	}
	d.mu.Lock()
	d.relaunch = dir
	d.mu.Unlock()
	d.window.Quit()
}

// relaunchWorkspace is the workspace Open workspace… chose, or "".
func (d *desktop) relaunchWorkspace() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.relaunch
}

func (d *desktop) about() {
	d.window.Tell("About ospbox", fmt.Sprintf("ospbox %s\nA local sandbox for OSP, BSP/BEST and OAP.\n\nWorkspace: %s\nSandbox host: %s",
		d.build.Version, d.app.Workspace.Dir, d.app.URL), false)
}

// failed tells the user why an action did not happen; a cancelled dialog (no error) says nothing.
func (d *desktop) failed(action string, err error) {
	if err == nil {
		return
	}
	d.app.log.Warn("desktop: "+strings.ToLower(action)+" failed", "err", err)
	d.window.Tell(action, err.Error(), true)
}

// relaunchArgs is this process's command line opening dir instead of its workspace: any
// --workspace/-w is dropped and --workspace dir added.
func relaunchArgs(args []string, dir string) []string {
	out := []string{args[0]}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--workspace" || a == "-w":
			i++ // and its value
		case strings.HasPrefix(a, "--workspace=") || strings.HasPrefix(a, "-w="):
		default:
			out = append(out, a)
		}
	}
	return append(out, "--workspace", dir)
}

func orDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func homeDir() string {
	h, _ := os.UserHomeDir()
	return h
}

// windowGeometry is the window's size and place, remembered between launches.
type windowGeometry struct {
	Width     int  `json:"width"`
	Height    int  `json:"height"`
	X         int  `json:"x"`
	Y         int  `json:"y"`
	Placed    bool `json:"placed"` // X and Y are known
	Maximised bool `json:"maximised"`
}

// The window's size when nothing is remembered, and the smallest it may be.
const (
	defaultWindowWidth, defaultWindowHeight = 1280, 820
	minWindowWidth, minWindowHeight         = 900, 600
)

// geometryFile is where the window's geometry is kept: the user's config folder, since it
// belongs to the person's screen, not to a workspace.
func geometryFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "ospbox", "window.json"), nil
}

// loadGeometry is the remembered geometry, or the default one when none is remembered or the
// file is not usable; sizes below the minimum are raised to it.
func loadGeometry() windowGeometry {
	g := windowGeometry{Width: defaultWindowWidth, Height: defaultWindowHeight}
	path, err := geometryFile()
	if err != nil {
		return g
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return g
	}
	var saved windowGeometry
	if json.Unmarshal(b, &saved) != nil || saved.Width <= 0 || saved.Height <= 0 {
		return g
	}
	saved.Width, saved.Height = max(saved.Width, minWindowWidth), max(saved.Height, minWindowHeight)
	return saved
}

// saveGeometry remembers the geometry for the next launch.
func saveGeometry(g windowGeometry) error {
	path, err := geometryFile()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(g, "", "  ")
	tmp := path + ".saving"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
