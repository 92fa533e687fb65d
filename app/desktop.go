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
	a.log.Info("desktop: opening window", "ui", a.URL+a.startPage())
	werr := wails.Run(&options.App{
		Title:            "ospbox — " + a.Workspace.Name(),
		Width:            1280,
		Height:           820,
		MinWidth:         900,
		MinHeight:        600,
		BackgroundColour: &options.RGBA{R: 246, G: 247, B: 249, A: 255},
		AssetServer:      &assetserver.Options{Handler: a.DesktopHandler()},
		Linux:            &linux.Options{Icon: build.AppIcon, ProgramName: "ospbox"},
		OnDomReady: func(context.Context) {
			a.log.Info("desktop: window DOM ready")
		},
		OnStartup: func(wctx context.Context) {
			// SIGINT/SIGTERM close the window like the close button does.
			go func() {
				<-ctx.Done()
				quitWindow(wctx)
			}()
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
	return serr
}
