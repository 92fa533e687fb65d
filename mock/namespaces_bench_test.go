package mock

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
)

// BenchmarkNamespaces creates 1,000 namespaces from the seed, then times creating, resetting
// and deleting one more with those live, each against the baseline of copying the same state
// file (the least that making a namespace can cost), in the same run; and reports the heap in
// use with the 1,000 idle (closed) namespaces. spec/control.md §1: p99 under 20 ms each.
func BenchmarkNamespaces(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	// Room for the 1,000 and the one more (namespaces.max is 1,000 by default).
	os.WriteFile(filepath.Join(f.dir, "ospbox.json"), []byte(`{"name": "bench", "osp": {"default_provider": "acmedb"}, "namespaces": {"max": 2000}}`), 0o644)
	f.sb.ReloadPaths(ctx, []string{"ospbox.json"})
	if err := f.sb.SaveSeed(ctx); err != nil {
		b.Fatal(err)
	}
	n := f.sb.namespaces
	for i := range 1000 {
		if _, err := n.create(ctx, fmt.Sprintf("live-%04d", i), "seed", 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	n.mu.Lock()
	open := len(n.open)
	n.mu.Unlock()
	p99 := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)*99/100].Microseconds()) / 1000
	}
	var create, reset, del, base []time.Duration
	seed := f.sb.Seed().Path
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		t0 := time.Now()
		if _, err := n.create(ctx, id, "seed", 0, nil); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := n.reset(ctx, id, "seed"); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := n.remove(id); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		dst := filepath.Join(b.TempDir(), "copy.db")
		if err := copyFile(seed, dst); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		os.Remove(dst)
		create, reset, del, base = append(create, t1.Sub(t0)), append(reset, t2.Sub(t1)), append(del, t3.Sub(t2)), append(base, t4.Sub(t3))
	}
	b.ReportMetric(p99(create), "create-p99-ms")
	b.ReportMetric(p99(reset), "reset-p99-ms")
	b.ReportMetric(p99(del), "delete-p99-ms")
	b.ReportMetric(p99(base), "baseline-copy-p99-ms")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB-1000-idle")
	b.ReportMetric(float64(open), "open-of-1000")
}

// BenchmarkProvisionAcrossNamespaces provisions over loopback from 32 concurrent clients spread
// over 8 namespaces, and the same load into one namespace, in the same run: separate state
// files are separate writers (spec/control.md; issue 14 asks for the ratio).
func BenchmarkProvisionAcrossNamespaces(b *testing.B) {
	f := newFixture(b)
	ctl := agent{T: b, Base: f.srv.URL + "/ospbox/v1/namespaces"}
	var eight []string
	for i := range 9 {
		_, _, v := ctl.Call("POST", "", "", map[string]any{"id": fmt.Sprintf("load-%d", i), "from": "empty"})
		if i < 8 {
			eight = append(eight, v["base_url"].(string)+"/providers/acmedb/osp/v1/provision")
		}
	}
	one := []string{f.srv.URL + "/ns/load-8/providers/acmedb/osp/v1/provision"}
	body := func() string { return `{"offering_id":"acmedb/redis","tier_id":"free"}` }
	b.ResetTimer()
	spread, spreadP99 := agenttest.LoadParallel(b, eight, body, 201)
	single, singleP99 := agenttest.LoadParallel(b, one, body, 201)
	b.StopTimer()
	b.ReportMetric(spread, "8ns-req/s")
	b.ReportMetric(float64(spreadP99.Microseconds())/1000, "8ns-p99-ms")
	b.ReportMetric(single, "1ns-req/s")
	b.ReportMetric(float64(singleP99.Microseconds())/1000, "1ns-p99-ms")
	b.ReportMetric(spread/single, "ratio")
}
