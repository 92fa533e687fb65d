// Package mock is the sandbox host: it routes each request to the protocol engine it addresses
// (<slug>.localhost host names, /providers/<slug>/, the default provider at the root, the BSP
// and OAP paths), keeps the served snapshot and reloads it, owns the workspace clock, the
// request log and its redaction, and answers ospbox's own control API. It composes the engines
// of mock/osp, mock/bsp and mock/oap and is the only package that knows all of them; it wires
// OSP's event sink to the BSP streams.
//
// It may import the protocol packages, the kernel, manifests and storage; never frontend.
package mock

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/oap"
	"github.com/ospbox/ospbox/mock/orchestrator"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/mock/scenario"
	"github.com/ospbox/ospbox/storage"
)

// Sandbox is the mock provider host for one workspace.
type Sandbox struct {
	ws       *manifests.Workspace
	db       *storage.DB
	clock    kernel.Clock
	log      *slog.Logger
	started  time.Time
	snap     atomic.Pointer[Snapshot]
	reload   sync.Mutex // one reload at a time; readers never wait for it
	requests *requestLog
	clockCtl *WorkspaceClock // nil when the clock cannot be moved (a test's fixed clock)
	stop     chan struct{}
	stopOnce sync.Once
	ticking  sync.WaitGroup
	// osp is the OSP simulation of every provider of the workspace.
	osp *osp.Engine
	// orch is the orchestrator side (spec/orchestrator.md): the user's OpenID Provider and the
	// payment tokens.
	orch *orchestrator.Engine
	// oap is the OAP simulation (its own lock; kept in the state database).
	oap *oap.Engine
	// bsp is the BSP/BEST simulation (its stream hub in memory, its state in the database).
	bsp *bsp.Engine
	// bridge carries OSP events to the BSP streams.
	bridge ospBridge
	// manifests is the sandbox whose snapshot this one serves (a namespace's is the default
	// sandbox); nil for the default sandbox, which loads the manifests itself.
	manifests *Sandbox
	// namespaces are the other sandboxes of the workspace, under /ns/<id>/ (the default
	// sandbox's only).
	namespaces *Namespaces
	// scenarioRules are this sandbox's scenario rules (spec/control.md §4), kept in its state.
	scenarioRules *scenario.Set
}

// Snapshot is what the sandbox serves at one moment. It is immutable: a reload builds a new one
// and swaps it in atomically, so a request sees one consistent set of manifests.
type Snapshot struct {
	Providers []*osp.ProviderState // sorted by slug
	Config    manifests.Config     // the workspace settings in force
	Default   string               // slug mounted at the root, "" for none
	BSP       kernel.SurfaceState
	OAP       kernel.SurfaceState
	// Scenarios are the workspace's scenario files; a file with errors keeps its last good
	// rules.
	Scenarios []manifests.ScenarioFile
	LoadedAt  time.Time
}

// Provider returns the state of provider slug, or nil.
func (s *Snapshot) Provider(slug string) *osp.ProviderState {
	return osp.FindProvider(s.Providers, slug)
}

// Options configures a Sandbox.
type Options struct {
	Clock  kernel.Clock
	Logger *slog.Logger
	// Manifests, when set, is the sandbox whose served snapshot this one serves too: a
	// namespace shares the workspace's manifests with the default sandbox and keeps its own
	// state (spec/control.md §1).
	Manifests *Sandbox
}

// New creates the sandbox and loads the workspace's manifests.
func New(ctx context.Context, ws *manifests.Workspace, db *storage.DB, o Options) (*Sandbox, error) {
	var ctl *WorkspaceClock
	if o.Clock == nil {
		ctl = NewWorkspaceClock()
		o.Clock = ctl
	} else if wc, ok := o.Clock.(*WorkspaceClock); ok {
		ctl = wc
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Sandbox{ws: ws, db: db, clock: o.Clock, log: o.Logger, started: time.Now(), clockCtl: ctl, stop: make(chan struct{}), manifests: o.Manifests}
	s.oap = oap.New(oap.Deps{DB: db, Clock: o.Clock, Dir: ws.Dir, Surface: func() kernel.SurfaceState { return s.Snapshot().OAP },
		LogSize: func() int { return s.Snapshot().Config.OAP.LogSize() }})
	s.bridge.wake = make(chan struct{}, 1)
	s.bridge.served = func() bool { return s.Snapshot().BSP.Serving != nil }
	s.bsp = bsp.New(bsp.Deps{DB: db, Clock: o.Clock, Log: o.Logger, Stop: s.stop, View: func() bsp.View {
		snap := s.Snapshot()
		return bsp.View{BSP: &snap.BSP, Config: &snap.Config}
	}})
	s.orch = orchestrator.New(orchestrator.Deps{DB: db, Clock: o.Clock, KeysDir: ws.KeysDir(),
		Config: func() manifests.OrchestratorConfig { return s.Snapshot().Config.Orchestrator }})
	s.osp = osp.New(osp.Deps{DB: db, Clock: o.Clock, Log: o.Logger, Workspace: ws, Events: &s.bridge, Payments: s.orch,
		AuthServer: authserver.New(authserver.Deps{DB: db, Clock: o.Clock, KeysDir: ws.KeysDir()}), View: func() osp.View {
			snap := s.Snapshot()
			return osp.View{Providers: snap.Providers, Config: &snap.Config}
		}})
	s.requests = newRequestLog(db, o.Logger)
	rules, err := scenario.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	s.scenarioRules = rules
	if o.Manifests != nil {
		// A namespace made fresh takes the workspace's scenario files when it first opens.
		if loaded, err := db.ScenarioFilesLoaded(ctx); err == nil && !loaded {
			if err := rules.LoadFiles(ctx, fileRules(o.Manifests.Snapshot())); err != nil {
				return nil, err
			}
		}
	}
	s.snap.Store(&Snapshot{Config: ws.Config})
	if seq, err := db.BSPEventsNewest(ctx); err == nil {
		s.bsp.Start(seq)
	}
	// The clock is state: it carries on from where the last run left it.
	if err := loadClock(ctx, s.clockCtl, s.db); err != nil {
		s.requests.Close()
		return nil, err
	}
	if s.manifests == nil {
		if err := s.Reload(ctx); err != nil {
			s.requests.Close()
			return nil, err
		}
	} else {
		// A namespace opened again takes the commands that queued for a handler which has run
		// since (a reload while it was closed).
		s.bsp.DrainQueues(ctx)
	}
	// Resources that expired or finished provisioning while ospbox was not running are settled
	// now, then once a second.
	if err := s.Tick(ctx); err != nil {
		s.log.Error("settling timers at start", "err", err)
	}
	if s.manifests == nil {
		ns, err := newNamespaces(s)
		if err != nil {
			s.requests.Close()
			return nil, err
		}
		s.namespaces = ns
		s.ticking.Add(1)
		go s.every(5*time.Second, ns.sweep)
	}
	s.ticking.Add(3)
	go s.runOSPBridge()
	// Timers follow the workspace clock, checked each second; webhook deliveries run on wall-clock
	// time (they talk to real receivers).
	go s.every(time.Second, func() {
		if err := s.Tick(context.Background()); err != nil {
			s.log.Error("timers", "err", err)
		}
	})
	go s.every(200*time.Millisecond, func() { s.deliverDue(context.Background()) })
	return s, nil
}

// every runs fn at each interval until the sandbox closes.
func (s *Sandbox) every(interval time.Duration, fn func()) {
	defer s.ticking.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// FlushRequestLog waits until every request answered so far is in the request log.
func (s *Sandbox) FlushRequestLog() { s.requests.Flush() }

// Close writes the queued request log entries and stops background work. Call it after the HTTP
// server has drained and before the database closes.
func (s *Sandbox) Close() {
	s.Drain()
	s.ticking.Wait()
	s.namespaces.closeAll()
	s.requests.Close()
}

// Drain ends what holds a request open for long — event streams, a scenario rule's hang or
// delay — in this sandbox and its namespaces, so a server shutdown does not wait on them.
// Requests in flight finish; the timers stop. Close drains first.
func (s *Sandbox) Drain() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.namespaces.each(func(ns *Sandbox) { ns.Drain() })
}

// Snapshot returns what is being served now.
func (s *Sandbox) Snapshot() *Snapshot {
	if s.manifests != nil {
		return s.manifests.Snapshot()
	}
	return s.snap.Load()
}

// Workspace is the workspace the sandbox serves.
func (s *Sandbox) Workspace() *manifests.Workspace { return s.ws }

// Reload re-reads every manifest. A provider whose file now has errors keeps serving its last
// good version; the new report records the errors.
func (s *Sandbox) Reload(ctx context.Context) error { return s.ReloadPaths(ctx, nil) }

// ReloadPaths re-reads what the changed workspace-relative paths affect: one provider for a file
// under providers/<slug>/, the BSP or OAP surface for a file under bsp/ or oap/, the settings
// for ospbox.json. Everything else carries over from the current snapshot untouched. A nil
// list re-reads everything. The new snapshot is swapped in atomically and announced on the feed.
func (s *Sandbox) ReloadPaths(ctx context.Context, paths []string) error {
	if s.manifests != nil {
		// A namespace serves the default sandbox's manifests: its queued commands may run now.
		s.bsp.DrainQueues(ctx)
		return nil
	}
	s.reload.Lock()
	defer s.reload.Unlock()
	prev := s.snap.Load()
	all := paths == nil
	slugsChanged, bspChanged, oapChanged, configChanged, scenariosChanged := map[string]bool{}, all, all, all, all
	for _, p := range paths {
		switch {
		case strings.HasPrefix(p, manifests.ScenariosDir+"/") || p == manifests.ScenariosDir:
			scenariosChanged = true
		case p == manifests.ConfigFile:
			configChanged = true
		case strings.HasPrefix(p, manifests.ProvidersDir+"/"):
			slug, _, _ := strings.Cut(strings.TrimPrefix(p, manifests.ProvidersDir+"/"), "/")
			slugsChanged[slug] = true
		case strings.HasPrefix(p, "bsp/"):
			bspChanged = true
		case strings.HasPrefix(p, "oap/"):
			oapChanged = true
		}
	}
	if !all && len(slugsChanged) == 0 && !bspChanged && !oapChanged && !configChanged && !scenariosChanged {
		return nil
	}
	next := &Snapshot{LoadedAt: s.clock.Now(), Config: prev.Config, BSP: prev.BSP, OAP: prev.OAP, Scenarios: prev.Scenarios}
	if scenariosChanged {
		next.Scenarios = lastGoodScenarios(s.ws.LoadScenarios(), prev.Scenarios)
	}
	if configChanged {
		cfg, err := manifests.LoadConfig(filepath.Join(s.ws.Dir, manifests.ConfigFile))
		if err != nil {
			s.log.Warn("settings not reloaded; keeping the previous ones", "err", err)
		} else {
			next.Config = cfg
		}
	}
	slugs, err := s.ws.ProviderSlugs()
	if err != nil {
		return err
	}
	for _, slug := range slugs {
		old := prev.Provider(slug)
		if old != nil && !all && !slugsChanged[slug] {
			next.Providers = append(next.Providers, old)
			continue
		}
		m, rep := s.ws.LoadOSP(slug)
		ps := &osp.ProviderState{Slug: slug, Report: rep}
		if old != nil {
			ps.Serving = old.Serving
		}
		if m != nil {
			served, err := s.osp.Install(ctx, m, ps.Serving)
			if err != nil {
				return err
			}
			ps.Serving = served
		} else {
			s.log.Warn("manifest has errors", "provider", slug, "errors", len(rep.Errors), "serving_last_good", ps.Serving != nil)
		}
		next.Providers = append(next.Providers, ps)
	}
	next.Default = defaultProvider(next.Config.OSP.DefaultProvider, next.Providers)
	if bspChanged {
		next.BSP = kernel.NextSurface(s.ws.LoadBSP(), prev.BSP)
	}
	if oapChanged {
		next.OAP = kernel.NextSurface(s.ws.LoadOAP(), prev.OAP)
	}
	s.snap.Store(next)
	s.db.Feed.Publish(storage.Change{Table: "manifests", Kind: "reload"})
	if scenariosChanged {
		// The default namespace follows the files as they are edited; the others take them
		// when they are made or reset.
		if err := s.scenarioRules.LoadFiles(ctx, fileRules(next)); err != nil {
			s.log.Error("scenario rules not loaded", "err", err)
		}
	}
	if bspChanged || configChanged {
		// A handler that runs now (an edited status) takes its queued commands, in every
		// namespace.
		s.bsp.DrainQueues(ctx)
		s.namespaces.each(func(ns *Sandbox) { ns.bsp.DrainQueues(ctx) })
	}
	return nil
}

// defaultProvider is the configured default when it exists, else the only provider, else none.
func defaultProvider(configured string, ps []*osp.ProviderState) string {
	if configured != "" {
		for _, p := range ps {
			if p.Slug == configured {
				return configured
			}
		}
		return ""
	}
	if len(ps) == 1 {
		return ps[0].Slug
	}
	return ""
}

// OAP is the workspace's OAP simulation, for the UI and the MCP binding.
func (s *Sandbox) OAP() *oap.Engine { return s.oap }

// BSP is the workspace's BSP/BEST simulation, for the UI and the MCP binding.
func (s *Sandbox) BSP() *bsp.Engine { return s.bsp }

// OSP is the workspace's OSP simulation, for the UI, the demo and the MCP binding.
func (s *Sandbox) OSP() *osp.Engine { return s.osp }

// Orchestrator is the namespace's orchestrator (spec/orchestrator.md), for the UI.
func (s *Sandbox) Orchestrator() *orchestrator.Engine { return s.orch }

// Tick applies every timer due on the workspace clock: OSP's (asynchronous provisioning, TTLs,
// accrual, the monthly roll-over), then the 0.6 BSP services' heartbeat windows. It runs once a
// second and whenever the clock moves; it returns the first engine's error.
func (s *Sandbox) Tick(ctx context.Context) error {
	now := s.clock.Now()
	if err := s.osp.Tick(ctx, now); err != nil {
		return err
	}
	return s.bsp.TimeOutServices(ctx, now)
}

// DiskSnapshot is what the workspace's files declare, read without the state: every manifest
// that validates is in it as served, with version 0. A client of a server another process runs
// (ospbox mcp attaching to it) learns the offerings and catalogues from it.
func DiskSnapshot(ws *manifests.Workspace) *Snapshot {
	snap := &Snapshot{Config: ws.Config, LoadedAt: time.Now().UTC()}
	slugs, _ := ws.ProviderSlugs()
	for _, slug := range slugs {
		m, rep := ws.LoadOSP(slug)
		ps := &osp.ProviderState{Slug: slug, Report: rep}
		if m != nil {
			ps.Serving = &osp.Served{Manifest: m}
		}
		snap.Providers = append(snap.Providers, ps)
	}
	snap.Default = defaultProvider(ws.Config.OSP.DefaultProvider, snap.Providers)
	snap.BSP = kernel.NextSurface(ws.LoadBSP(), kernel.SurfaceState{})
	snap.OAP = kernel.NextSurface(ws.LoadOAP(), kernel.SurfaceState{})
	return snap
}

// Namespaces is the registry of the workspace's namespaces (nil inside a namespace).
func (s *Sandbox) Namespaces() *Namespaces { return s.namespaces }

// lastGoodScenarios is the files as read, a file with errors keeping the rules it had.
func lastGoodScenarios(read, prev []manifests.ScenarioFile) []manifests.ScenarioFile {
	for i, f := range read {
		if f.Report.Valid {
			continue
		}
		for _, p := range prev {
			if p.Report.File == f.Report.File {
				read[i].Rules = p.Rules
			}
		}
	}
	return read
}

// fileRules are the rules of every scenario file, in file order.
func fileRules(snap *Snapshot) []scenario.Rule {
	var out []scenario.Rule
	for _, f := range snap.Scenarios {
		out = append(out, f.Rules...)
	}
	return out
}
