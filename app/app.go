// Package app is ospbox's composition root: it opens a workspace, wires storage, the mock and the
// UI together, runs the sandbox host, and decides between the desktop window and browser mode.
//
// It may import every package of ospbox except main.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ospbox/ospbox/frontend"
	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// BuildInfo identifies the binary.
type BuildInfo struct {
	Version string
	Commit  string
}

// Config is what the command line decides.
type Config struct {
	Workspace string // "" for the per-user default workspace
	Addr      string // "" for the workspace's listen setting
	Open      bool   // open the UI in the default browser (browser mode)
	Page      string // the UI page the desktop window opens on ("" for the Overview, /ui/)
	Build     BuildInfo
	Out       io.Writer // where the startup banner goes
	Logger    *slog.Logger
	// Ephemeral serves a throwaway copy of the workspace (the samples when Workspace is ""),
	// in a temporary directory removed at exit (spec/control.md §5).
	Ephemeral bool
	// Ready, when "json", prints one line on Out once the sandbox host answers:
	// {"ready": true, "base_url", "ui_url", "pid", "workspace"}; the banner goes to stderr.
	Ready string
}

// App is a running ospbox: state, mock, UI and the sandbox host's listener.
type App struct {
	Workspace *manifests.Workspace
	DB        *storage.DB
	Sandbox   *mock.Sandbox
	UI        *frontend.UI
	Token     string
	URL       string // sandbox host, e.g. http://127.0.0.1:7410
	Seeded    bool   // the workspace was created from the samples at this start

	watcher  *manifests.Watcher
	server   *http.Server
	cfg      Config
	listener net.Listener
	served   chan error
	log      *slog.Logger
	lock     *workspaceLock // this process serves the workspace alone
}

// Start opens the workspace and state, and starts serving. The caller must call Shutdown.
func Start(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dir, err := workspaceDir(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", dir, err)
	}
	seeded, err := manifests.SeedIfEmpty(dir)
	if err != nil {
		return nil, fmt.Errorf("seed workspace %s: %w", dir, err)
	}
	ws, err := manifests.OpenWorkspace(dir)
	if err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = ws.Config.Listen
	}
	if err := checkLoopback(addr, ws.Config.Listen); err != nil {
		return nil, err
	}
	lock, err := lockWorkspace(ws.Dir)
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(ctx, ws.StatePath())
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("open state: %w", err)
	}
	a := &App{Workspace: ws, DB: db, Seeded: seeded, Token: frontend.NewToken(), served: make(chan error, 1), log: log, cfg: cfg, lock: lock}
	if err := a.listen(ctx, addr); err != nil {
		db.Close()
		lock.release()
		return nil, err
	}
	lock.announce(a.URL)
	a.Sandbox, err = mock.New(ctx, ws, db, mock.Options{Logger: log})
	if err != nil {
		a.listener.Close()
		db.Close()
		lock.release()
		return nil, err
	}
	a.watcher, err = manifests.Watch(ws.Dir, log, func(paths []string) {
		log.Info("workspace changed", "files", paths)
		if err := a.Sandbox.ReloadPaths(context.Background(), paths); err != nil {
			log.Error("reload", "err", err)
		}
	})
	if err != nil {
		a.Sandbox.Close()
		a.listener.Close()
		db.Close()
		lock.release()
		return nil, fmt.Errorf("watch workspace: %w", err)
	}
	a.UI = frontend.New(frontend.Options{Sandbox: a.Sandbox, DB: db, Token: a.Token, SandboxURL: a.URL,
		Version: cfg.Build.Version, Logger: log})
	a.server = &http.Server{
		Handler:           hostGuard(a.Handler(), ws.Config.Listen),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.server.RegisterOnShutdown(a.UI.Close)
	a.server.RegisterOnShutdown(a.Sandbox.Drain) // agents' event streams and scenario hangs end too
	go func() { a.served <- a.server.Serve(kernel.OneWrite(a.server, a.listener)) }()
	log.Info("sandbox host listening", "url", a.URL, "workspace", ws.Dir)
	return a, nil
}

func (a *App) listen(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the address is in use (another ospbox?); pass --addr 127.0.0.1:0 for a free port", addr)
		}
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	a.listener = l
	a.URL = "http://" + l.Addr().String()
	return nil
}

// Handler is the sandbox host: the UI under /ui/, the mock everywhere else. A clean path
// outside /ui goes straight to the mock (agents' requests are the hot path: the mux's lookup
// costs more than this test); the mux answers the rest, redirecting unclean paths as it does.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ui/", a.UI)
	mux.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	mux.Handle("/", a.Sandbox)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; r.Method != http.MethodConnect && !strings.HasPrefix(p, "/ui") && isCleanPath(p) {
			a.Sandbox.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// isCleanPath reports whether http.ServeMux would serve p as it is rather than redirect it: p is
// rooted and path.Clean leaves it alone (but for a trailing slash, which the mux keeps).
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || p[len(p)-1] == '/' && len(c)+1 == len(p) && p[:len(c)] == c
}

// UIURL is the browser link that carries the launch token.
func (a *App) UIURL() string { return a.URL + "/ui/?token=" + a.Token }

// Shutdown stops accepting requests, drains the ones in flight, and closes the database so the
// WAL is checkpointed.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.server.Shutdown(ctx)
	if serr := <-a.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	a.watcher.Close()
	a.Sandbox.Close()
	if cerr := a.DB.Close(); cerr != nil && err == nil {
		err = cerr
	}
	a.lock.release()
	return err
}

// Done is closed when the server stops on its own (for example, the listener failed).
func (a *App) Done() <-chan error { return a.served }

// Banner is what ospbox prints at start in browser mode.
func (a *App) Banner(build BuildInfo) string {
	snap := a.Sandbox.Snapshot()
	var providers []string
	for _, p := range snap.Providers {
		s := p.Slug
		if p.Slug == snap.Default {
			s += " (default, also at the root)"
		}
		if p.Serving == nil {
			s += fmt.Sprintf(" [not served: %d errors]", len(p.Report.Errors))
		}
		providers = append(providers, s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ospbox %s — workspace %s (%s)\n", build.Version, a.Workspace.Name(), a.Workspace.Dir)
	if a.Seeded {
		fmt.Fprintf(&b, "  created the workspace from the built-in samples\n")
	}
	fmt.Fprintf(&b, "  sandbox host  %s\n", a.URL)
	fmt.Fprintf(&b, "  manifest      %s/.well-known/osp.json\n", a.URL)
	fmt.Fprintf(&b, "  providers     %s\n", strings.Join(providers, ", "))
	fmt.Fprintf(&b, "  UI            %s\n", a.UIURL())
	fmt.Fprintf(&b, "Press Ctrl+C to stop.\n")
	return b.String()
}

// RunBrowser serves until ctx is cancelled (SIGINT/SIGTERM), then shuts down cleanly.
func RunBrowser(ctx context.Context, cfg Config) error {
	if cfg.Ready != "" && cfg.Ready != "json" {
		return fmt.Errorf("--ready takes json, not %q", cfg.Ready)
	}
	if cfg.Ephemeral {
		dir, err := os.MkdirTemp("", "ospbox-ephemeral-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if cfg.Workspace != "" {
			if err := copyWorkspace(cfg.Workspace, dir); err != nil {
				return fmt.Errorf("copy the workspace %s: %w", cfg.Workspace, err)
			}
		}
		cfg.Workspace = dir
	}
	a, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return a.serveUntilDone(ctx, cfg)
}

// copyWorkspace copies a workspace's files, not its state (.ospbox/), into dst.
func copyWorkspace(src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && d.Name() == ".ospbox" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// announceReady prints the --ready json line once the sandbox host answers a request.
func (a *App) announceReady(out io.Writer) error {
	for i := 0; ; i++ {
		resp, err := http.Get(a.URL + "/ospbox/v1/clock")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			return fmt.Errorf("the sandbox host at %s does not answer: %w", a.URL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	line, _ := json.Marshal(map[string]any{"ready": true, "base_url": a.URL, "ui_url": a.UIURL(), "pid": os.Getpid(), "workspace": a.Workspace.Dir})
	_, err := fmt.Fprintf(out, "%s\n", line)
	return err
}

func (a *App) serveUntilDone(ctx context.Context, cfg Config) error {
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	if cfg.Ready == "json" {
		fmt.Fprint(os.Stderr, a.Banner(cfg.Build)) // stdout carries the ready line alone
		if err := a.announceReady(out); err != nil {
			a.Shutdown(context.WithoutCancel(ctx))
			return err
		}
	} else {
		fmt.Fprint(out, a.Banner(cfg.Build))
	}
	if cfg.Open {
		if err := openBrowser(a.UIURL()); err != nil {
			a.log.Warn("could not open a browser; open the UI link yourself", "err", err)
		}
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-a.served:
		a.served <- serveErr
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil && serveErr == nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}
