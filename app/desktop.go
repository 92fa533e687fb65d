package app

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ospbox/ospbox/build"
	"github.com/ospbox/ospbox/frontend"
	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	wailsruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

// ErrNoDesktop says the desktop window cannot open here; the caller falls back to browser mode.
var ErrNoDesktop = errors.New("desktop window unavailable")

// HasDisplay reports whether a graphical session exists; GTK panics without one.
func HasDisplay() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }

// DesktopBuild reports whether this binary was built with the Wails desktop tags.
func DesktopBuild() bool { return desktopBuild }

// DesktopHandler is the UI as the window sees it: the same handler as browser mode, with the
// launch token supplied by the process itself (the webview is ours, so it needs no link). The
// start page is the Overview itself: the webview does not follow redirects from the AssetServer.
func (a *App) DesktopHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.Clone(r.Context())
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			r.URL.Path = a.startPage()
		}
		if !strings.HasPrefix(r.URL.Path, "/ui/") {
			http.NotFound(w, r)
			return
		}
		r.Header.Set(frontend.TokenHeader, a.Token)
		r.Header.Set(frontend.WindowHeader, "1")
		r.Header.Del("Origin") // the webview's own scheme; the request never left the process
		a.log.Debug("desktop: request", "method", r.Method, "path", r.URL.Path)
		a.UI.ServeHTTP(w, r)
	})
}

// startPage is the UI page the window opens on.
func (a *App) startPage() string {
	if strings.HasPrefix(a.cfg.Page, "/ui/") {
		return a.cfg.Page
	}
	return "/ui/"
}

// RunDesktop opens the window over a running sandbox host. It returns ErrNoDesktop (wrapped)
// when this binary or this session cannot show a window, before anything is started, so the
// caller can run browser mode instead.
func RunDesktop(ctx context.Context, cfg Config) error {
	if !desktopBuild {
		return errors.Join(ErrNoDesktop, errors.New("this binary was built without the desktop tags (make build-desktop)"))
	}
	if !HasDisplay() {
		return errors.Join(ErrNoDesktop, errors.New("no DISPLAY or WAYLAND_DISPLAY"))
	}
	a, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	d := &desktop{app: a, build: cfg.Build}
	geometry := loadGeometry()
	a.log.Info("desktop: opening window", "ui", a.URL+a.startPage(), "width", geometry.Width, "height", geometry.Height)
	werr := wails.Run(&options.App{
		Title:            d.title(),
		Width:            geometry.Width,
		Height:           geometry.Height,
		MinWidth:         minWindowWidth,
		MinHeight:        minWindowHeight,
		WindowStartState: map[bool]options.WindowStartState{true: options.Maximised, false: options.Normal}[geometry.Maximised],
		BackgroundColour: &options.RGBA{R: 246, G: 247, B: 249, A: 255},
		Menu:             d.menu(),
		AssetServer:      &assetserver.Options{Handler: d.handler()},
		Linux:            &linux.Options{Icon: build.AppIcon, ProgramName: "ospbox"},
		OnDomReady: func(context.Context) {
			a.log.Info("desktop: window DOM ready")
		},
		OnStartup: func(wctx context.Context) {
			d.window = wailsWindow{wctx}
			if geometry.Placed && !geometry.Maximised {
				wailsruntime.WindowSetPosition(wctx, geometry.X, geometry.Y)
			}
			go d.watchConsents(ctx)
			// SIGINT/SIGTERM close the window like the close button does.
			go func() {
				<-ctx.Done()
				wailsruntime.Quit(wctx)
			}()
		},
		// The window's size and place are remembered when it closes, however it closes (the
		// close button, Quit, a signal: all of them pass here).
		OnBeforeClose: func(wctx context.Context) bool {
			g := windowGeometry{Maximised: wailsruntime.WindowIsMaximised(wctx), Width: geometry.Width, Height: geometry.Height, X: geometry.X, Y: geometry.Y, Placed: geometry.Placed}
			if !g.Maximised {
				g.Width, g.Height = wailsruntime.WindowGetSize(wctx)
				g.X, g.Y = wailsruntime.WindowGetPosition(wctx)
				g.Placed = true
			}
			if err := saveGeometry(g); err != nil {
				a.log.Warn("desktop: the window's size could not be remembered", "err", err)
			} else {
				a.log.Info("desktop: window geometry saved", "width", g.Width, "height", g.Height, "x", g.X, "y", g.Y, "maximised", g.Maximised)
			}
			return false
		},
	})
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	serr := a.Shutdown(sctx)
	if werr != nil {
		if strings.Contains(werr.Error(), "correct build tags") {
			return errors.Join(ErrNoDesktop, werr)
		}
		return werr
	}
	if serr != nil {
		return serr
	}
	if dir := d.relaunchWorkspace(); dir != "" {
		a.log.Info("desktop: opening another workspace", "workspace", dir)
		return relaunch(relaunchArgs(os.Args, dir))
	}
	return nil
}

// wailsWindow is the desktop window through the Wails runtime.
type wailsWindow struct{ ctx context.Context }

func (w wailsWindow) ExecJS(js string) { wailsruntime.WindowExecJS(w.ctx, js) }
func (w wailsWindow) Reload()          { wailsruntime.WindowReload(w.ctx) }
func (w wailsWindow) Raise() {
	wailsruntime.WindowShow(w.ctx)
	wailsruntime.WindowUnminimise(w.ctx)
}
func (w wailsWindow) SetTitle(title string) { wailsruntime.WindowSetTitle(w.ctx, title) }
func (w wailsWindow) Quit()                 { wailsruntime.Quit(w.ctx) }

func (w wailsWindow) ChooseFolder(title, start string) (string, error) {
	return wailsruntime.OpenDirectoryDialog(w.ctx, wailsruntime.OpenDialogOptions{Title: title, DefaultDirectory: existingDir(start), CanCreateDirectories: true})
}

func (w wailsWindow) ChooseSaveFile(title, start, name string) (string, error) {
	return wailsruntime.SaveFileDialog(w.ctx, wailsruntime.SaveDialogOptions{Title: title, DefaultDirectory: existingDir(start), DefaultFilename: name,
		Filters: []wailsruntime.FileFilter{{DisplayName: "ospbox state (*.db)", Pattern: "*.db"}}})
}

func (w wailsWindow) ChooseOpenFile(title, start string) (string, error) {
	return wailsruntime.OpenFileDialog(w.ctx, wailsruntime.OpenDialogOptions{Title: title, DefaultDirectory: existingDir(start),
		Filters: []wailsruntime.FileFilter{{DisplayName: "ospbox state (*.db)", Pattern: "*.db"}, {DisplayName: "All files", Pattern: "*"}}})
}

func (w wailsWindow) Ask(title, question string) bool {
	answer, err := wailsruntime.MessageDialog(w.ctx, wailsruntime.MessageDialogOptions{Type: wailsruntime.QuestionDialog, Title: title, Message: question})
	return err == nil && answer == "Yes"
}

func (w wailsWindow) Tell(title, message string, failed bool) {
	kind := wailsruntime.InfoDialog
	if failed {
		kind = wailsruntime.ErrorDialog
	}
	wailsruntime.MessageDialog(w.ctx, wailsruntime.MessageDialogOptions{Type: kind, Title: title, Message: message})
}

// existingDir is dir when it exists, else "": the dialogs refuse a start folder that is not there.
func existingDir(dir string) string {
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir
	}
	return ""
}
