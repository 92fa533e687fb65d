package projects_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/projects"
)

// roomyCaps lets every token of a benchmark through: the figure is the issue path, not refusals.
const roomyCaps = `{"name": "bench", "orchestrator": {"caps": {"per_provider": {"amount": "100000000.00", "currency": "USD"}, "user": {"amount": "300000000.00", "currency": "USD"}}}}`

// BenchmarkOrchestrator measures, in one run and against one sandbox over loopback with 32
// concurrent clients: provisioning a free resource alone (the baseline), issuing a payment token
// (spread over three providers), and the whole `projects add` of a free service (catalog,
// attestation, account, provisioning, vault), each as throughput and p99, and each as a ratio to
// the baseline.
func BenchmarkOrchestrator(b *testing.B) {
	f := mocktest.NewWith(b, map[string]string{"ospbox.json": roomyCaps})
	provision, provisionP99 := agenttest.LoadParallel(b, []string{f.URL + "/providers/acmedb/osp/v1/provision"},
		func() string { return `{"offering_id":"acmedb/redis","tier_id":"free"}` }, 201)
	providers := []string{"acmedb.example", "skyhost.example", "third.example"}
	var n int
	var mu sync.Mutex
	issue, issueP99 := agenttest.LoadParallel(b, []string{f.URL + "/orchestrator/v1/payment_tokens"}, func() string {
		mu.Lock()
		n++
		p := providers[n%3]
		mu.Unlock()
		return `{"provider_id":"` + p + `","max_amount":{"amount":"1.00","currency":"USD"}}`
	}, 201)

	c := &projects.Client{Target: f.URL, StateFile: filepath.Join(b.TempDir(), "projects.json"), Wait: time.Minute}
	if _, err := c.Init(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	add, addP99 := agenttest.LoadParallelFunc(b, func() func() error {
		return func() error {
			_, err := c.Add(context.Background(), "acmedb/redis")
			return err
		}
	})
	if add == 0 {
		b.Fatal("no add finished")
	}
	b.ReportMetric(provision, "provision-req/s")
	b.ReportMetric(ms(provisionP99), "provision-p99-ms")
	b.ReportMetric(issue, "token-req/s")
	b.ReportMetric(ms(issueP99), "token-p99-ms")
	b.ReportMetric(issue/provision, "token/provision")
	b.ReportMetric(add, "add-per-s")
	b.ReportMetric(ms(addP99), "add-p99-ms")
	b.ReportMetric(add/provision, "add/provision")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
