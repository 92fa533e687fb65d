// Package osp is the OSP provider simulation (spec/osp.md): provisioning, resources,
// credentials and bundles, sandboxes and TTLs, usage and accrual, money, cost, budgets and caps,
// identity (TAP, OIDC), webhooks, the event log, rate limits, injected faults and the catalog,
// behind the provider routes the host mounts for each provider.
//
// It may import the kernel, manifests and storage; never the host (mock) or another protocol.
// Its events leave through a kernel.EventSink the host wires (to the BSP streams).
//
// Two types carry the behaviour: Engine (the provider API and the resources' lifecycle) and
// Ledger (what resources cost: cost reports, budgets, caps, the spend view). They share one
// set of dependencies.
package osp

import (
	"log/slog"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/authserver"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// core is what Engine and Ledger both read: the state, the clock, the snapshot being served and
// where events go.
type core struct {
	db    *storage.DB
	clock kernel.Clock
	log   *slog.Logger
	ws    *manifests.Workspace
	view  func() View
	sink  kernel.EventSink
	// payments redeems orchestrator payment tokens (nil: none).
	payments kernel.Payments
	// auth is the providers' OAuth authorization servers (nil: none).
	auth *authserver.Server
}

// Engine is the OSP simulation of one workspace: every provider's API and the lifecycle of
// their resources. Every method is safe for concurrent use.
type Engine struct {
	*core
	ledger  *Ledger
	limits  *rateLimiter
	started time.Time
	// lastSettle is when accrued usage was last settled, and rolledMonth the month (YYYY-MM)
	// the last monthly roll-over ran in; only Tick touches them, inside the database's single
	// writer, so they need no lock.
	lastSettle  time.Time
	rolledMonth string
}

// Ledger answers what resources cost: cost summaries, budgets, caps and the spend view. Every
// method is safe for concurrent use.
type Ledger struct {
	*core
}

// View is what OSP reads of the host's served snapshot: the providers (sorted by slug) and the
// workspace settings in force, which point into an immutable snapshot.
type View struct {
	Providers []*ProviderState
	Config    *manifests.Config
}

// Provider returns the state of provider slug, or nil.
func (v View) Provider(slug string) *ProviderState { return FindProvider(v.Providers, slug) }

// FindProvider returns the provider with this slug among ps, or nil.
func FindProvider(ps []*ProviderState, slug string) *ProviderState {
	for _, p := range ps {
		if p.Slug == slug {
			return p
		}
	}
	return nil
}

// Deps is what the host gives the engine.
type Deps struct {
	DB        *storage.DB
	Clock     kernel.Clock
	Log       *slog.Logger
	Workspace *manifests.Workspace
	// View returns the snapshot being served now; it is called on every request.
	View func() View
	// Events receives every OSP event after its commit (nil: nowhere).
	Events kernel.EventSink
	// Payments redeems the orchestrator's payment tokens (payment_method orchestrator_token);
	// nil refuses that method.
	Payments kernel.Payments
	// AuthServer is the providers' OAuth authorization servers, for those that take consent
	// (nil: none do).
	AuthServer *authserver.Server
}

// New makes the engine and its ledger.
func New(d Deps) *Engine {
	c := &core{db: d.DB, clock: d.Clock, log: d.Log, ws: d.Workspace, view: d.View, sink: d.Events, payments: d.Payments, auth: d.AuthServer}
	return &Engine{core: c, ledger: &Ledger{core: c}, limits: newRateLimiter(), started: time.Now()}
}

// Ledger is the engine's cost side, for the UI and the host's control API.
func (s *Engine) Ledger() *Ledger { return s.ledger }
