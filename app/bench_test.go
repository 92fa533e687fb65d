package app

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkSaveToDiagnostics measures, over 200 saves of a provider manifest (alternately broken
// and fixed, so every save changes the verdict), the time from the write to the new diagnostics
// reaching a change-feed subscriber — watcher, debounce, validation and snapshot swap included.
// The baseline, measured in the same run, is the raw fsnotify event for the same kind of write.
// Run with -benchtime=1x (each iteration is 200 saves).
func BenchmarkSaveToDiagnostics(b *testing.B) {
	const saves = 200
	for i := 0; i < b.N; i++ {
		a, err := Start(context.Background(), Config{Workspace: b.TempDir(), Addr: "127.0.0.1:0", Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(a.Workspace.Dir, "providers", "skyhost", "osp.json")
		good, _ := os.ReadFile(path)
		bad := []byte(strings.Replace(string(good), `"20.00"`, `"20,00"`, 1))
		changes, cancel := a.DB.Feed.Subscribe()
		var ours []time.Duration
		for s := 0; s < saves; s++ {
			content, wantValid := bad, false
			if s%2 == 1 {
				content, wantValid = good, true
			}
			start := time.Now()
			if err := os.WriteFile(path, content, 0o644); err != nil {
				b.Fatal(err)
			}
			for a.Sandbox.Snapshot().Provider("skyhost").Report.Valid != wantValid {
				select {
				case <-changes:
				case <-time.After(5 * time.Second):
					b.Fatalf("save %d: no diagnostics within 5 s", s)
				}
			}
			ours = append(ours, time.Since(start))
		}
		cancel()
		a.Shutdown(context.Background())

		// Baseline: the bare file-system notification for the same write.
		dir := b.TempDir()
		w, err := fsnotify.NewWatcher()
		if err != nil {
			b.Fatal(err)
		}
		w.Add(dir)
		file := filepath.Join(dir, "osp.json")
		var base []time.Duration
		for s := 0; s < saves; s++ {
			start := time.Now()
			os.WriteFile(file, good, 0o644)
			select {
			case <-w.Events:
			case <-time.After(5 * time.Second):
				b.Fatal("no fsnotify event")
			}
			base = append(base, time.Since(start))
			// Drain the rest of this write's events before the next one.
			for drained := false; !drained; {
				select {
				case <-w.Events:
				case <-time.After(5 * time.Millisecond):
					drained = true
				}
			}
		}
		w.Close()
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(percentile(ours, 0.5)), "p50-ms")
		b.ReportMetric(ms(percentile(ours, 0.99)), "p99-ms")
		b.ReportMetric(ms(percentile(base, 0.5)), "fsnotify-p50-ms")
		b.ReportMetric(ms(percentile(base, 0.99)), "fsnotify-p99-ms")
		b.ReportMetric(float64(percentile(ours, 0.99))/float64(percentile(base, 0.99)), "p99-ratio")
	}
}
