// Package bsp is the BSP/BEST simulation for every generation (0.6, 0.8, BEST 0.9; spec/bsp.md):
// the service APIs under /bsp/ (commands, events and their SSE stream, queries, subscriptions
// and webhooks, the 0.6 registry), tenant manifests, and the discovery bodies that change with
// state (0.6 live status, the 0.9 legacy alias, tenant discovery).
//
// It may import the kernel, manifests and storage; never the host (mock) or another protocol.
// OSP's events arrive through PublishOSPEvents, which the host's bridge calls.
package bsp

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Engine is the BSP/BEST simulation of one workspace. Its state is in the state database; the
// hub of open event streams is in memory. Every method is safe for concurrent use.
type Engine struct {
	db     *storage.DB
	clock  kernel.Clock
	log    *slog.Logger
	view   func() View
	stop   <-chan struct{}
	bspHub bspHub
	// delayed counts the events of x-ospbox.emit with a delay that are still to be published.
	delayed atomic.Int64
}

// Delayed is how many delayed events are still to come; a namespace with any is not closed
// for being idle, or they would be lost with its state handle.
func (s *Engine) Delayed() int64 { return s.delayed.Load() }

// View is what the engine reads of the host's served snapshot: the BSP manifest being served
// and the workspace settings in force. Both point into an immutable snapshot.
type View struct {
	BSP    *kernel.SurfaceState
	Config *manifests.Config
}

// Deps is what the host gives the engine.
type Deps struct {
	DB    *storage.DB
	Clock kernel.Clock
	Log   *slog.Logger
	// View returns the snapshot being served now; it is called on every request.
	View func() View
	// Stop is closed when the sandbox shuts down: open streams end and queues stop draining.
	Stop <-chan struct{}
}

// New makes the engine. Call Start before serving so streams resume from the stored log.
func New(d Deps) *Engine {
	return &Engine{db: d.DB, clock: d.Clock, log: d.Log, view: d.View, stop: d.Stop}
}

// Start positions the stream hub after the newest stored event, so Last-Event-ID replays and
// live frames meet without a gap.
func (s *Engine) Start(seq int64) { s.bspHub.setPosition(seq) }

// Streams is the number of open event streams.
func (s *Engine) Streams() int { return s.bspHub.streams() }

func (s *Engine) stopped() bool { return kernel.Closed(s.stop) }

// WriteError writes the BSP error body {"error": {"code", "message", "details"?}} (spec/bsp.md
// §13): the one place a BSP failure becomes a response.
func WriteError(w http.ResponseWriter, status int, code, msg string, details map[string]any) {
	e := map[string]any{"code": code, "message": msg}
	if details != nil {
		e["details"] = details
	}
	kernel.WriteJSON(w, status, map[string]any{"error": e})
}
