// Package oap is the OAP 2025-07-01 simulation (spec/oap.md): the agent registry with its
// lifecycle, each agent's memory, and the event, command and trace logs, behind the routes
// under /oap/ and the live discovery document.
//
// It may import the kernel, manifests and storage; never the host (mock) or another protocol.
// The host routes requests here, already logged and with their bodies bounded.
package oap

import (
	"net/http"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Engine is the OAP simulation of one workspace. Its state is kept in the state database and
// guarded by its own lock; every method is safe for concurrent use.
type Engine struct {
	db      *storage.DB
	clock   kernel.Clock
	dir     string                     // the workspace directory (agents' memory and rules files)
	surface func() kernel.SurfaceState // the OAP manifest being served now
	logSize func() int                 // oap.log_size in force
	reg     registry
}

// Deps is what the host gives the engine.
type Deps struct {
	DB    *storage.DB
	Clock kernel.Clock
	// Dir is the workspace directory: oap/agents/<id>/memory.json and rules.json live there.
	Dir string
	// Surface returns the OAP manifest being served now (read on every call, never cached).
	Surface func() kernel.SurfaceState
	// LogSize returns how many entries each log keeps (oap.log_size); nil means 1000.
	LogSize func() int
}

// New makes the engine; nothing is read until the first call.
func New(d Deps) *Engine {
	e := &Engine{db: d.DB, clock: d.Clock, dir: d.Dir, surface: d.Surface, logSize: d.LogSize}
	if e.logSize == nil {
		e.logSize = func() int { return 1000 }
	}
	e.reg.db = d.DB
	return e
}

// WriteError writes the OAP error body {"error": {"code", "message"}} (spec/oap.md §9): the one
// place an OAP failure becomes a response.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	kernel.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
