package mock

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/storage"
)

// TestTheClockIsState: the clock's offset and frozen instant survive a restart (time never goes
// backwards for stored data), come with an imported state, and return to wall-clock time on a
// reset to the seed (spec/control.md §5).
func TestTheClockIsState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	manifests.SeedIfEmpty(dir)
	ws, _ := manifests.OpenWorkspace(dir)
	db, err := storage.Open(ctx, ws.StatePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	open := func() *Sandbox {
		t.Helper()
		sb, err := New(ctx, ws, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return sb
	}
	sb := open()
	if err := sb.AdvanceClock(ctx, 4*time.Hour); err != nil {
		t.Fatal(err)
	}
	if off := sb.Clock().Offset; off != 4*time.Hour {
		t.Errorf("advanced by 4h, the clock is %v from wall-clock time: it must move by exactly what was asked", off)
	}
	sb.Close()
	sb = open()
	if off := sb.Clock().Offset; off < 4*time.Hour-time.Minute || off > 4*time.Hour+time.Minute {
		t.Errorf("after a restart the clock is %v from wall-clock time, want 4h", off)
	}
	sb.SetClock("freeze")
	frozen := sb.Clock().Now
	sb.Close()
	sb = open()
	if st := sb.Clock(); !st.Frozen || !st.Now.Equal(frozen) {
		t.Errorf("a frozen clock after a restart: %+v, want frozen at %v", st, frozen)
	}
	sb.SetClock("resume")

	snapshot := filepath.Join(t.TempDir(), "state.db")
	if err := sb.ExportState(ctx, snapshot); err != nil {
		t.Fatal(err)
	}
	sb.AdvanceClock(ctx, 2*time.Hour)
	if err := sb.ImportState(ctx, snapshot); err != nil {
		t.Fatal(err)
	}
	if off := sb.Clock().Offset; off < 4*time.Hour-time.Minute || off > 4*time.Hour+time.Minute {
		t.Errorf("after importing a state exported at +4h the clock is %v", off)
	}
	if err := sb.ResetToSeed(ctx); err != nil {
		t.Fatal(err)
	}
	if st := sb.Clock(); st.Offset != 0 || st.Frozen {
		t.Errorf("after a reset the clock is %+v, want wall-clock time, running", st)
	}
	sb.Close()
	if sb = open(); sb.Clock().Offset != 0 {
		t.Errorf("the reset clock after a restart: %v", sb.Clock().Offset)
	}
	sb.Close()
}
