package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/check"
	"github.com/ospbox/ospbox/mock/demo"
	"github.com/ospbox/ospbox/mock/mcptools"
)

// DefaultListen is the sandbox host's default address.
const DefaultListen = manifests.DefaultListen

// CheckOptions configures RunCheck (see check.Options).
type CheckOptions = check.Options

// RunDemo plays the scripted agent (package demo) against target, writing each step to out.
// RunDemo plays the scripted agent against target; with a namespace ("" or "default" for the
// target itself) it runs in that namespace of the ospbox, made fresh first, so it can run any
// number of times without touching the user's state.
func RunDemo(ctx context.Context, target, namespace string, speed float64, out io.Writer) error {
	host := strings.TrimRight(target, "/")
	if namespace != "" && namespace != "default" {
		base, err := demo.PrepareNamespace(ctx, nil, host, namespace)
		if err != nil {
			return err
		}
		if base != "" {
			fmt.Fprintln(out, "ospbox demo: in the namespace", namespace, "(fresh):", base)
			target = base
		}
	}
	rep, err := demo.Run(ctx, demo.Options{Target: target, Speed: speed, Log: func(s string) { fmt.Fprintln(out, "✓", s) }})
	if err != nil {
		return fmt.Errorf("demo stopped after %d steps: %w", len(rep.Steps), err)
	}
	if target != host {
		fmt.Fprintln(out, "ospbox demo: see it in the UI with the namespace", namespace, "chosen:", host+"/ui/?ns="+namespace)
	}
	return nil
}

// RunCheck runs the conformance checks (package check) and writes the report in format (text,
// json or junit). It returns the exit status: 0 when no MUST check failed, 1 when one did, 2 when
// the target could not be reached.
func RunCheck(ctx context.Context, opts check.Options, format string, out, errOut io.Writer) (int, error) {
	var progress func(check.Result)
	if format == "text" {
		progress = check.Progress(out)
	}
	rep, err := check.Run(ctx, opts, progress)
	if errors.Is(err, check.ErrUnreachable) {
		fmt.Fprintln(errOut, "ospbox:", err)
		return 2, nil
	}
	if err != nil {
		return 2, err
	}
	switch format {
	case "json":
		err = check.WriteJSON(out, rep)
	case "junit":
		err = check.WriteJUnit(out, rep)
	default:
		check.WriteSummary(out, rep)
	}
	if err != nil {
		return 2, err
	}
	if rep.MustFailed > 0 {
		return 1, nil
	}
	return 0, nil
}

// RunMCP starts the workspace's sandbox (host and UI on cfg.Addr, a free loopback port when
// empty) and serves the provider's tools over MCP on stdin/stdout until the client goes away.
// When another ospbox already serves the workspace, the tools talk to that server over HTTP
// instead (spec/control.md §5): one process keeps the state and the clock.
func RunMCP(ctx context.Context, cfg Config, provider string) error {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	a, err := Start(ctx, cfg)
	if errors.Is(err, ErrWorkspaceInUse) {
		return attachMCP(ctx, cfg, provider)
	}
	if err != nil {
		return err
	}
	defer a.Shutdown(context.WithoutCancel(ctx))
	srv, err := mcptools.New(a.Sandbox, provider, cfg.Build.Version)
	if err != nil {
		return err
	}
	mcptools.AddProjectTools(srv, ProjectsClient(a.URL, "", time.Minute, nil))
	if cfg.Out != nil {
		fmt.Fprintln(cfg.Out, "ospbox mcp: sandbox host", a.URL, "— MCP on stdio")
	}
	return srv.Run(ctx, mcptools.Stdio(os.Stdin, os.Stdout))
}

// attachMCP serves the MCP tools against the server that holds the workspace.
func attachMCP(ctx context.Context, cfg Config, provider string) error {
	dir, err := workspaceDir(cfg)
	if err != nil {
		return err
	}
	url := holderURL(dir)
	if url == "" {
		return fmt.Errorf("%w: %s is held by another ospbox that has not said where it listens; stop it or use another --workspace", ErrWorkspaceInUse, dir)
	}
	ws, err := manifests.OpenWorkspace(dir)
	if err != nil {
		return err
	}
	srv, err := mcptools.New(mcptools.Remote(url, mock.DiskSnapshot(ws)), provider, cfg.Build.Version)
	if err != nil {
		return err
	}
	mcptools.AddProjectTools(srv, ProjectsClient(url, "", time.Minute, nil))
	if cfg.Out != nil {
		fmt.Fprintln(cfg.Out, "ospbox mcp: the workspace is served by the ospbox at", url, "— its tools go there; MCP on stdio")
	}
	return srv.Run(ctx, mcptools.Stdio(os.Stdin, os.Stdout))
}
