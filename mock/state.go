package mock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// SeedFile is the workspace's seed state: what "reset to seed" restores. Without it the seed is
// the empty state.
const SeedFile = "seed.db"

// SeedInfo says whether the workspace has a seed state file and when it was saved.
type SeedInfo struct {
	Path    string
	Exists  bool
	SavedAt time.Time
	Size    int64
}

// Seed describes the workspace's seed state file.
func (s *Sandbox) Seed() SeedInfo {
	info := SeedInfo{Path: filepath.Join(s.ws.Dir, SeedFile)}
	if st, err := os.Stat(info.Path); err == nil && st.Mode().IsRegular() {
		info.Exists, info.SavedAt, info.Size = true, st.ModTime(), st.Size()
	}
	return info
}

// ExportState writes the whole state to path as one file (see storage.DB.ExportTo).
func (s *Sandbox) ExportState(ctx context.Context, path string) error {
	s.requests.Flush()
	return s.db.ExportTo(ctx, path)
}

// ImportState replaces the whole state with the state file at path; its clock comes with it.
func (s *Sandbox) ImportState(ctx context.Context, path string) error {
	return s.replaceState(ctx, func(ctx context.Context) error { return s.db.ImportFrom(ctx, path) }, false)
}

// ResetToSeed restores the workspace's seed state, or empties the state when it has none; the
// clock returns to wall-clock time, running (spec/control.md §5).
func (s *Sandbox) ResetToSeed(ctx context.Context) error {
	replace := s.db.Reset
	if seed := s.Seed(); seed.Exists {
		replace = func(ctx context.Context) error { return s.db.ImportFrom(ctx, seed.Path) }
	}
	return s.replaceState(ctx, replace, true)
}

// SaveSeed makes the current state the workspace's seed, replacing any earlier one.
func (s *Sandbox) SaveSeed(ctx context.Context) error {
	seed := s.Seed()
	tmp := seed.Path + ".saving"
	os.Remove(tmp)
	if err := s.ExportState(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, seed.Path)
}

// replaceState runs replace and brings the engine's memory in line with the new state: the
// request log is flushed first (so nothing of the old state lands in the new one), timers settle
// afresh, the manifests are installed again (their versions live in the state), and the clock
// comes from the new state — or, with realTime (a reset), returns to wall-clock time.
func (s *Sandbox) replaceState(ctx context.Context, replace func(context.Context) error, realTime bool) error {
	s.requests.Flush()
	if err := replace(ctx); err != nil {
		return err
	}
	if realTime && s.clockCtl != nil {
		s.clockCtl.Reset()
		if err := saveClock(ctx, s.clockCtl, s.db); err != nil {
			return err
		}
	} else if err := loadClock(ctx, s.clockCtl, s.db); err != nil {
		return err
	}
	// The OAP simulation's state and the scenario rules came with the replaced state.
	s.oap.Reload()
	if err := s.scenarioRules.Reread(ctx); err != nil {
		return err
	}
	if err := s.osp.ResetTimers(ctx); err != nil {
		return err
	}
	return errors.Join(s.Reload(ctx), s.Tick(ctx))
}
