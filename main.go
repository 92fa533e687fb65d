// Command ospbox is a local sandbox for the agent-provisioning protocols OSP, BSP/BEST and OAP:
// a mock provider driven by the manifests you author, with a desktop or browser UI.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/ospbox/ospbox/app"
	"github.com/ospbox/ospbox/storage"
	"github.com/spf13/cobra"
)

// Set by the linker: -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

func buildInfo() app.BuildInfo {
	c := commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return app.BuildInfo{Version: version, Commit: c}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ospbox:", err)
		os.Exit(1)
	}
}

type serveFlags struct {
	workspace string
	addr      string
	open      bool
}

func (f *serveFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.workspace, "workspace", "w", "", "workspace folder (default: a per-user workspace created from the built-in samples)")
	cmd.Flags().StringVar(&f.addr, "addr", "", "address of the sandbox host (default: \"listen\" in ospbox.json, else 127.0.0.1:7410; use 127.0.0.1:0 for a free port)")
}

func (f *serveFlags) config(cmd *cobra.Command) app.Config {
	return app.Config{Workspace: f.workspace, Addr: f.addr, Open: f.open, Build: buildInfo(), Out: cmd.OutOrStdout(), Logger: logger(cmd)}
}

// logger writes text logs to stderr at the level named by OSPBOX_LOG_LEVEL (debug, info, warn,
// error; info by default).
func logger(cmd *cobra.Command) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("OSPBOX_LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
}

func rootCommand() *cobra.Command {
	var f serveFlags
	root := &cobra.Command{
		Use:   "ospbox",
		Short: "A local sandbox for the agent-provisioning protocols OSP, BSP/BEST and OAP",
		Long: `ospbox runs a mock provider on your machine, driven by the manifests you write, so that
agents can discover services, provision resources and hit budget limits without a real provider.

Run with no command, ospbox opens its desktop window (when built with the desktop tags and a display
is available) and otherwise serves the same UI in your browser, like 'ospbox serve'.

Agents talk to the sandbox host, by default http://127.0.0.1:7410:
  /.well-known/osp.json                  the default provider's OSP manifest
  /providers/<slug>/.well-known/osp.json  any provider of the workspace
  http://<slug>.localhost:7410/           the same provider by host name
  /ui/                                    the UI (needs the link with the launch token)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := f.config(cmd)
			err := app.RunDesktop(cmd.Context(), cfg)
			if !errors.Is(err, app.ErrNoDesktop) {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "ospbox: no desktop window (%v); serving the UI in the browser instead\n", errors.Unwrap(err))
			return app.RunBrowser(cmd.Context(), cfg)
		},
	}
	f.register(root)
	root.AddCommand(serveCommand(), versionCommand())
	return root
}

func serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the sandbox host and the UI for a browser (no window)",
		Long: `serve starts the sandbox host (mock providers for OSP, BSP/BEST and OAP) and serves the UI at
/ui/ on the same address. It prints the UI link with this launch's token; open it in a browser.
Stop with Ctrl+C: requests in flight finish and the state database is closed cleanly.`,
		Example: `  ospbox serve
  ospbox serve --workspace ./my-provider --open
  ospbox serve --addr 127.0.0.1:0     # any free port`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.RunBrowser(cmd.Context(), f.config(cmd))
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.open, "open", false, "open the UI in the default browser")
	return cmd
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go and SQLite versions",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			b := buildInfo()
			desktop := "browser only"
			if app.DesktopBuild() {
				desktop = "desktop window"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ospbox %s\ncommit  %s\ngo      %s %s/%s\nsqlite  %s\nbuild   %s\n",
				b.Version, b.Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, storage.SQLiteVersion(), desktop)
		},
	}
}
