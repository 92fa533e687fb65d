package manifests

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// batches collects what a Watcher reports.
type batches struct {
	mu  sync.Mutex
	all [][]string
	ch  chan []string
}

func watchTest(t *testing.T, dir string) (*Watcher, *batches) {
	t.Helper()
	b := &batches{ch: make(chan []string, 100)}
	w, err := Watch(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), func(p []string) {
		b.mu.Lock()
		b.all = append(b.all, p)
		b.mu.Unlock()
		b.ch <- p
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, b
}

// await waits for a batch that contains want.
func (b *batches) await(t *testing.T, want string) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-b.ch:
			if slices.Contains(p, want) {
				return p
			}
		case <-deadline:
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Fatalf("no change reported for %s; got %v", want, b.all)
			return nil
		}
	}
}

func TestWatcherSeesEditorsWaysOfSaving(t *testing.T) {
	dir := t.TempDir()
	WriteSamples(dir)
	_, b := watchTest(t, dir)
	manifest := filepath.Join(dir, "providers", "acmedb", "osp.json")

	// Plain write.
	os.WriteFile(manifest, []byte(`{"a":1}`), 0o644)
	b.await(t, "providers/acmedb/osp.json")

	// Atomic save: write a temporary file, rename it over the original.
	tmp := filepath.Join(dir, "providers", "acmedb", ".osp.json.swp")
	os.WriteFile(tmp, []byte(`{"a":2}`), 0o644)
	os.Rename(tmp, manifest)
	b.await(t, "providers/acmedb/osp.json")

	// Delete, then re-create.
	os.Remove(manifest)
	b.await(t, "providers/acmedb/osp.json")
	os.WriteFile(manifest, []byte(`{"a":3}`), 0o644)
	b.await(t, "providers/acmedb/osp.json")

	// A provider folder created later, with its file already inside when it appears.
	newDir := filepath.Join(dir, "providers", "newco")
	staging := filepath.Join(dir, "staging")
	os.MkdirAll(staging, 0o755)
	os.WriteFile(filepath.Join(staging, "osp.json"), []byte(`{}`), 0o644)
	os.Rename(staging, newDir)
	b.await(t, "providers/newco/osp.json")
	// And a file written into it afterwards.
	os.WriteFile(filepath.Join(newDir, "osp.json"), []byte(`{"b":1}`), 0o644)
	b.await(t, "providers/newco/osp.json")

	// Schemas beside the BSP manifest, in a folder created now.
	os.MkdirAll(filepath.Join(dir, "bsp", "commands", "ship-order"), 0o755)
	os.WriteFile(filepath.Join(dir, "bsp", "commands", "ship-order", "1.0.json"), []byte(`{}`), 0o644)
	b.await(t, "bsp/commands/ship-order/1.0.json")
}

func TestWatcherCoalescesABurstAndKeepsTheLastContent(t *testing.T) {
	dir := t.TempDir()
	WriteSamples(dir)
	_, b := watchTest(t, dir)
	manifest := filepath.Join(dir, "providers", "skyhost", "osp.json")
	for i := 0; i < 100; i++ {
		os.WriteFile(manifest, []byte(`{"n":`+strconv.Itoa(i)+`}`), 0o644)
	}
	b.await(t, "providers/skyhost/osp.json")
	// Let any trailing batch arrive, then count.
	time.Sleep(WatchMaxWait + WatchQuiet)
	b.mu.Lock()
	n := len(b.all)
	b.mu.Unlock()
	if n > 10 {
		t.Errorf("100 writes produced %d batches; the debounce should coalesce them", n)
	}
	data, _ := os.ReadFile(manifest)
	if string(data) != `{"n":99}` {
		t.Errorf("last content %s", data)
	}
}

func TestWatcherIgnoresStateAndStopsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	WriteSamples(dir)
	w, b := watchTest(t, dir)
	os.MkdirAll(filepath.Join(dir, StateDir), 0o700)
	os.WriteFile(filepath.Join(dir, StateDir, "state.db"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "oap", "manifest.json"), []byte(`{}`), 0o644)
	got := b.await(t, "oap/manifest.json")
	for _, p := range got {
		if filepath.Dir(p) == StateDir {
			t.Errorf("state file reported: %v", got)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after Close", before, after)
	}
}
