// Command ospbox is a local sandbox for the agent-provisioning protocols OSP, BSP/BEST and OAP:
// a mock provider driven by the manifests you author, with a desktop or browser UI.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ospbox/ospbox/app"
	"github.com/ospbox/ospbox/lsp"
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

// tuneGC trades some memory for CPU: ospbox allocates fast under load (every request is parsed,
// logged and redacted) while its live heap stays small, so collecting at twice the live heap
// instead of at once its size spends less of the two cores on GC (+10–30% provisioning
// throughput, lower p99; BENCHMARKS.md). A soft limit keeps the heap bounded all the same.
// GOGC and GOMEMLIMIT in the environment still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// startCPUProfile writes a CPU profile of the whole run to the file OSPBOX_CPUPROFILE names, so a
// server under a real load generator can be profiled (BENCHMARKS.md); the returned func ends it.
func startCPUProfile() func() {
	path := os.Getenv("OSPBOX_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ospbox: OSPBOX_CPUPROFILE:", err)
		os.Exit(2)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// writeAllocsProfile writes what the whole run allocated, where, to the file OSPBOX_ALLOCSPROFILE
// names (go tool pprof -sample_index=alloc_space): garbage collection costs in proportion to it.
func writeAllocsProfile() {
	path := os.Getenv("OSPBOX_ALLOCSPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ospbox: OSPBOX_ALLOCSPROFILE:", err)
	}
}

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startCPUProfile()
	err := rootCommand().ExecuteContext(ctx)
	stopProfile()
	writeAllocsProfile()
	if err != nil {
		var code exitError
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "ospbox:", err)
		if usageMistake(err) {
			fmt.Fprintln(os.Stderr, "Run 'ospbox --help' for the commands, or 'ospbox COMMAND --help' for one.")
		}
		// Usage mistakes (unknown flags, bad arguments) exit 2, like validate's own failures.
		os.Exit(2)
	}
}

// usageMistake reports whether err is cobra's answer to a mistyped command line (cobra gives
// these no type of their own, only their wording).
func usageMistake(err error) bool {
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires "} {
		if strings.HasPrefix(err.Error(), prefix) {
			return true
		}
	}
	return false
}

type serveFlags struct {
	workspace string
	addr      string
	open      bool
	page      string
	ephemeral bool
	ready     string
}

// addrListen is what --addr defaults to for the commands that serve on the usual address.
const addrListen = `ospbox.json's "listen", else 127.0.0.1:7410`

// register adds --workspace and --addr; addrDefault says what an empty --addr means here.
func (f *serveFlags) register(cmd *cobra.Command, addrDefault string) {
	cmd.Flags().StringVarP(&f.workspace, "workspace", "w", "", "workspace folder (default: a per-user workspace created from the built-in samples)")
	cmd.Flags().StringVar(&f.addr, "addr", "", "sandbox host address (default: "+addrDefault+")")
}

func (f *serveFlags) config(cmd *cobra.Command) app.Config {
	return app.Config{Workspace: f.workspace, Addr: f.addr, Open: f.open, Page: f.page, Build: buildInfo(), Out: cmd.OutOrStdout(), Logger: logger(cmd),
		Ephemeral: f.ephemeral, Ready: f.ready}
}

// logger writes text logs to stderr at the level named by OSPBOX_LOG_LEVEL (debug, info, warn,
// error; info by default).
func logger(cmd *cobra.Command) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("OSPBOX_LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	l := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	slog.SetDefault(slog.New(app.LibraryLogs(l.Handler()))) // libraries' records, in ospbox's format
	return l
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
	f.register(root, addrListen)
	root.Flags().StringVar(&f.page, "page", "", "the UI page the desktop window opens on, e.g. /ui/spend (default: the Overview)")
	root.AddCommand(serveCommand(), validateCommand(), signCommand(), lspCommand(), demoCommand(), checkCommand(), mcpCommand(), projectsCommand(), versionCommand())
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
	f.register(cmd, addrListen)
	cmd.Flags().BoolVar(&f.open, "open", false, "open the UI in the default browser")
	cmd.Flags().BoolVar(&f.ephemeral, "ephemeral", false, "serve a throwaway copy of the workspace, removed at exit (for test harnesses)")
	cmd.Flags().StringVar(&f.ready, "ready", "", `"json": once serving, print one JSON line with base_url, ui_url, pid and workspace`)
	return cmd
}

// exitError carries a process exit code out of a command without printing anything more.
type exitError int

func (e exitError) Error() string { return "exit " + strconv.Itoa(int(e)) }

func validateCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate [PATH ...]",
		Short: "Check manifests and print diagnostics with line:column (no server needed)",
		Long: `validate checks OSP, BSP/BEST and OAP manifests the way the running sandbox does and prints every
finding with its position, severity and rule id. A PATH is a manifest file, a workspace folder
(with ospbox.json or providers/), or a folder of .json manifests. With no PATH it checks the
current folder when it is a workspace, else the default workspace.

Exit status: 0 when there are no errors (warnings are fine), 1 when there are errors, 2 when
the command could not run (bad flags, unreadable paths).`,
		Example: `  ospbox validate
  ospbox validate providers/acmedb/osp.json
  ospbox validate --format sarif ./workspace > ospbox.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := app.Validate(app.ValidateOptions{
				Paths: args, Format: format, Colour: isTerminal(cmd.OutOrStdout()), Version: version,
				Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr(),
			})
			if code != 0 {
				return exitError(code)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text, json or sarif")
	return cmd
}

// isTerminal reports whether w is a terminal (for colour), honouring NO_COLOR.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func signCommand() *cobra.Command {
	var workspace string
	cmd := &cobra.Command{
		Use:   "sign PROVIDER|FILE",
		Short: "Sign a provider's osp.json with its workspace key (Ed25519 over canonical JSON)",
		Long: `sign adds provider_public_key, provider_key_id and provider_signature to a provider's authored
manifest, signed with the provider's key in <workspace>/.ospbox/keys/<slug>.jwk (created on first
use). The file is rewritten with two-space indentation, member order kept; the validator then
reports the signature as valid, and any later edit as invalid until you sign again.`,
		Example: `  ospbox sign acmedb
  ospbox sign ./workspace/providers/acmedb/osp.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := app.Sign(workspace, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s with key %s\n", res.File, res.KeyID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&workspace, "workspace", "w", "", "workspace folder (default: the per-user workspace, or the one FILE is in)")
	return cmd
}

func lspCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lsp",
		Short: "Serve ospbox's manifest diagnostics, hover, completion and fixes to an editor (LSP over stdio)",
		Long: `lsp speaks the Language Server Protocol on stdin and stdout, for an editor to start: the same
findings as 'ospbox validate' (rule ids, spans, related places in other files) on every open OSP,
BSP/BEST and OAP manifest and ospbox.json as you type, hover and completion from ospbox's schemas,
and quick fixes (add a missing required member, rename a misspelt one, sign a manifest). The
workspace of a file is the folder of the nearest ospbox.json above it. Editor setups: docs/lsp.md.`,
		Example: `  ospbox lsp      # started by the editor, not by hand`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := lsp.Serve(cmd.Context(), os.Stdin, os.Stdout, lsp.Options{Version: version, Log: os.Stderr})
			if errors.Is(err, lsp.ErrExitWithoutShutdown) {
				return exitError(1)
			}
			return err
		},
	}
}

func demoCommand() *cobra.Command {
	var target, namespace string
	var speed float64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a scripted agent against a running ospbox so every page has something to show",
		Long: `demo plays an ordinary OSP client against a running sandbox (the sample workspace's providers):
it discovers, provisions sandboxes (one with an encrypted bundle it decrypts, one seeded from a paid
database), advances the sandbox clock so usage accrues, hits a soft budget and overrides it, is
stopped by the spending cap, rotates credentials and sees the old token refused, and deprovisions.
It runs in the namespace "demo" of the ospbox, made fresh each time (so it can run any number of
times and never touches your own state); --namespace default runs it in the default namespace.`,
		Example: `  ospbox demo
  ospbox demo --target http://127.0.0.1:7410 --speed 4
  ospbox demo --speed 0          # no pauses`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.RunDemo(cmd.Context(), target, namespace, speed, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&target, "target", "http://"+app.DefaultListen, "the ospbox sandbox host to run against")
	cmd.Flags().StringVar(&namespace, "namespace", "demo", `the namespace to run in, made fresh first ("default": as it is)`)
	cmd.Flags().Float64Var(&speed, "speed", 1, "pace: 1 is easy to watch, higher is faster, 0 does not pause")
	return cmd
}

func checkCommand() *cobra.Command {
	var opts app.CheckOptions
	var format string
	cmd := &cobra.Command{
		Use:   "check URL",
		Short: "Check a live server's conformance (OSP, BSP/BEST, OAP)",
		Long: `check discovers what the server at URL speaks and runs conformance checks against every protocol it
finds (or the one --protocol names), reporting each; --api-key goes to the protocol whose key
form it has (osp_ak_… to OSP, anything else to BSP/BEST). OSP: the
manifest's fetch rules, schema and signature, the provision endpoint's error behaviour, required
headers, and (unless --non-destructive) a sandbox round trip with a throwaway agent key. OAP: the
manifest, and the registry, events, commands, memory, traces and lifecycle routes of each declared
capability. BSP/BEST: the public manifest and its schema, tenant rules, the routes of each active
capability, authentication as declared (--api-key is presented the way the manifest says), the
command catalogue and schema documents, rejected commands, the event list and its cursor, the
SSE stream and webhook target rules; --tenant checks a tenant's services. Each check has an id,
a level (MUST, SHOULD, MAY), the request it made and, when it fails, the evidence.
--protocol orchestrator checks an OSP provider's side of the orchestrator profile against this
ospbox's orchestrator (or --orchestrator): accounts from attestations, replay and audience
refusals, OAuth metadata when it wants consent, and a payment token redeemed once (see
docs/orchestrator.md). Exit status: 0 when no MUST check fails, 1 when one does, 2 when URL cannot
be reached.`,
		Example: `  ospbox check http://127.0.0.1:7410
  ospbox check https://api.example.com --non-destructive --level must
  ospbox check http://127.0.0.1:7410 --format junit > ospbox-check.xml
  ospbox check http://127.0.0.1:7410 --protocol bsp --api-key bsp_sk_…
  ospbox check http://127.0.0.1:9000 --protocol orchestrator --orchestrator http://127.0.0.1:7410`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = args[0]
			code, err := app.RunCheck(cmd.Context(), opts, format, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError(code)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Protocol, "protocol", "auto", "osp, bsp, best, oap, orchestrator or auto")
	cmd.Flags().StringVar(&opts.Orchestrator, "orchestrator", "", "--protocol orchestrator: the orchestrator (default: the target's ospbox)")
	cmd.Flags().StringVar(&opts.Level, "level", "all", "the checks to run: must, should (MUST and SHOULD) or all")
	cmd.Flags().BoolVar(&opts.NonDestructive, "non-destructive", false, "skip the checks that create or change resources")
	cmd.Flags().BoolVar(&opts.InPlace, "in-place", false, "check an ospbox's default namespace itself, not a throwaway namespace")
	cmd.Flags().StringVar(&opts.APIKey, "api-key", "", "API key for servers that require one (BSP: sent as the manifest declares)")
	cmd.Flags().StringVar(&opts.Tenant, "tenant", "", "tenant id (BSP)")
	cmd.Flags().StringVar(&format, "format", "text", "text, json or junit")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Second, "timeout of each request")
	return cmd
}

func mcpCommand() *cobra.Command {
	var f serveFlags
	var provider string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve a workspace provider's capabilities as MCP tools over stdio",
		Long: `mcp starts the workspace's sandbox and speaks the Model Context Protocol on stdin/stdout: its
tools are the provider's capabilities (OSP discover, provision, status, usage, rotate, deprovision,
cost; BSP/BEST commands, send command, events when the workspace has BSP; OAP agents, send event,
traces when it has OAP). The provision tool's input schema is ospbox's provision request schema
narrowed to the manifest's offerings and tiers, and the send-command tool's each command type's
data schema. The sandbox host and UI also listen (on a free loopback port unless --addr), and
logs go to stderr.`,
		Example: `  ospbox mcp --workspace ./my-provider
  ospbox mcp --provider skyhost
  # in an MCP client's configuration: {"command": "ospbox", "args": ["mcp", "--workspace", "/path"]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := f.config(cmd)
			cfg.Out = cmd.ErrOrStderr() // stdout carries MCP
			return app.RunMCP(cmd.Context(), cfg, provider)
		},
	}
	f.register(cmd, "a free loopback port, 127.0.0.1:0")
	cmd.Flags().StringVar(&provider, "provider", "", "the provider whose tools to serve (default: the workspace's default provider)")
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

// projectsCommand is `ospbox projects`: the orchestrator's flow from zero to a running service
// (spec/orchestrator.md §2), over HTTP against a running ospbox.
func projectsCommand() *cobra.Command {
	var target, workspace string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "projects",
		Short: "The orchestrator's flow: a project, services added with attestation and payment, a vault",
		Long: `projects plays the agent's side of the orchestrator (Stripe Projects' init / catalog / add / env)
against a running ospbox: it makes a project, adds services from the aggregated catalog — an account
created at the provider from the user's attested identity, or linked by the user's OAuth consent
(answered on the Orchestrator page, or --approve), a payment token capped at the tier's price when
it costs money, provisioning with it — and keeps their credentials in the project's
vault, handed out by env (redacted unless --reveal). The project's token is kept in
~/.config/ospbox/projects.json, one per target.`,
		Example: `  ospbox projects init my-app
  ospbox projects catalog
  ospbox projects add acmedb/redis            # the default tier
  ospbox projects add acmedb/postgres:pro     # a paid tier: a payment token pays it
  ospbox projects add skyhost/functions --approve   # a provider that asks for consent, answered for you
  ospbox projects env --format dotenv > .env --reveal
  ospbox projects revoke`,
	}
	cmd.PersistentFlags().StringVar(&target, "target", "", "the ospbox to use (default: the one serving --workspace, else "+app.DefaultListen+")")
	cmd.PersistentFlags().StringVarP(&workspace, "workspace", "w", "", "find the running ospbox of this workspace (default: the per-user one)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON, for agents")
	client := func(c *cobra.Command, wait time.Duration) *app.Projects {
		return app.ProjectsClient(target, workspace, wait, c.ErrOrStderr())
	}
	printJSON := func(c *cobra.Command, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(c.OutOrStdout(), string(b))
		return nil
	}
	init := &cobra.Command{Use: "init [NAME]", Short: "Make a project and make it the current one", Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := "default"
			if len(args) == 1 {
				name = args[0]
			}
			p, err := client(c, 0).Init(c.Context(), name)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, p)
			}
			fmt.Fprintf(c.OutOrStdout(), "project %s (%s)\ntoken   %s (kept for this target; the vault needs it)\n", p.ID, p.Name, p.Token)
			return nil
		}}
	catalog := &cobra.Command{Use: "catalog", Short: "The aggregated catalog, with what the orchestrator's caps leave per provider", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl := client(c, 0)
			cat, raw, err := cl.Catalog(c.Context())
			if err != nil {
				return err
			}
			spend, err := cl.Spend(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, map[string]json.RawMessage{"catalog": raw, "orchestrator_spend": spend})
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tPROVIDER\tTIERS")
			for _, s := range cat.Services {
				var tiers []string
				for _, t := range s.Tiers {
					price := "free"
					if strings.Trim(t.Price.Amount, "0.") != "" {
						price = t.Price.Currency + " " + t.Price.Amount
					}
					tiers = append(tiers, t.TierID+" ("+price+")")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.OfferingID, s.ProviderID, strings.Join(tiers, ", "))
			}
			tw.Flush()
			var standing struct {
				User app.CapSpend `json:"user"`
			}
			json.Unmarshal(spend, &standing)
			fmt.Fprintf(c.OutOrStdout(), "\nthe user's cap leaves %s %s this month (ospbox projects spend)\n", standing.User.Remaining.Currency, standing.User.Remaining.Amount)
			return nil
		}}
	var wait, consentWait time.Duration
	var approve bool
	add := &cobra.Command{Use: "add PROVIDER/SERVICE[:TIER]", Short: "Add a service to the project: account, payment, provisioning, credentials into the vault", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl := client(c, wait)
			cl.Approve, cl.ConsentWait = approve, consentWait
			added, err := cl.Add(c.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, added)
			}
			fmt.Fprintf(c.OutOrStdout(), "added %s (%s) to %s: resource %s, %s\ncredentials in the vault: %s (ospbox projects env)\n",
				added.OfferingID, added.TierID, added.ProjectID, added.ResourceID, added.Status, strings.Join(added.Stored, ", "))
			return nil
		}}
	add.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for an asynchronous resource's credentials")
	add.Flags().BoolVar(&approve, "approve", false, "answer a provider's OAuth consent for the user (scripts); otherwise add waits for it on the Orchestrator page")
	add.Flags().DurationVar(&consentWait, "consent-wait", 5*time.Minute, "how long to wait for the user to answer a consent")
	var reveal bool
	var format string
	env := &cobra.Command{Use: "env", Short: "The project's credentials as environment variables (redacted unless --reveal)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if asJSON {
				format = "json"
			}
			if format != "dotenv" && format != "json" {
				return fmt.Errorf("--format is dotenv or json, not %q", format)
			}
			vars, err := client(c, 0).Env(c.Context(), reveal)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(c, vars)
			}
			for _, v := range vars {
				fmt.Fprintf(c.OutOrStdout(), "%s=%s\n", v.Name, v.Value)
			}
			if !reveal && len(vars) > 0 {
				fmt.Fprintln(c.ErrOrStderr(), "ospbox projects: values are redacted; --reveal prints them")
			}
			return nil
		}}
	env.Flags().BoolVar(&reveal, "reveal", false, "print the secrets themselves (the read is recorded)")
	env.Flags().StringVar(&format, "format", "dotenv", "dotenv or json")
	list := &cobra.Command{Use: "list", Short: "The project's resources", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, resources, err := client(c, 0).List(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, map[string]any{"project_id": p.ID, "name": p.Name, "resources": resources})
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "project %s (%s)\nRESOURCE\tSERVICE\tTIER\tPROVIDER\tACCOUNT\n", p.ID, p.Name)
			for _, r := range resources {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ResourceID, r.OfferingID, r.TierID, r.ProviderID, r.AccountID)
			}
			return tw.Flush()
		}}
	remove := &cobra.Command{Use: "remove RESOURCE", Short: "Deprovision one of the project's resources and forget its credentials", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := client(c, 0).Remove(c.Context(), args[0]); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, map[string]string{"removed": args[0]})
			}
			fmt.Fprintln(c.OutOrStdout(), "removed", args[0])
			return nil
		}}
	spend := &cobra.Command{Use: "spend", Short: "Payment tokens against the orchestrator's caps this month", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			raw, err := client(c, 0).Spend(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, raw)
			}
			var s struct {
				User      app.CapSpend   `json:"user"`
				Providers []app.CapSpend `json:"providers"`
			}
			json.Unmarshal(raw, &s)
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CAP\tLIMIT\tRESERVED\tREDEEMED\tREMAINING")
			s.User.ProviderID = "user (all providers)"
			for _, p := range append([]app.CapSpend{s.User}, s.Providers...) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ProviderID, p.Cap.Amount, p.Reserved.Amount, p.Redeemed.Amount, p.Remaining.Amount)
			}
			return tw.Flush()
		}}
	revoke := &cobra.Command{Use: "revoke", Short: "Revoke every credential of the project at every provider and deprovision its resources", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			raw, err := client(c, 0).Revoke(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, raw)
			}
			var out struct {
				Revoked []struct {
					ResourceID string `json:"resource_id"`
					Rotated    bool   `json:"rotated"`
					Removed    bool   `json:"deprovisioned"`
					Error      string `json:"error"`
				} `json:"revoked"`
			}
			json.Unmarshal(raw, &out)
			for _, r := range out.Revoked {
				fmt.Fprintf(c.OutOrStdout(), "%s: rotated %v, deprovisioned %v %s\n", r.ResourceID, r.Rotated, r.Removed, r.Error)
			}
			fmt.Fprintln(c.OutOrStdout(), "the project is revoked")
			return nil
		}}
	cmd.AddCommand(init, catalog, add, env, list, remove, spend, revoke)
	return cmd
}
