package frontend

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// benchRows is the large state the page benchmarks compare with 1,000 rows (OSPBOX_BENCH_ROWS,
// default 100,000).
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("OSPBOX_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchUsage is how many usage records each large-state resource gets (OSPBOX_BENCH_USAGE, default 0;
// 10 with 1,000,000 resources is the 10,000,000 usage records).
func benchUsage() int {
	n, _ := strconv.Atoi(os.Getenv("OSPBOX_BENCH_USAGE"))
	return n
}

// fill adds n paid acmedb resources, each with this month's base charge and usage usage records,
// in batches.
func fill(b *testing.B, db *storage.DB, n, usage int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	const batch = 20_000
	for start := 0; start < n; start += batch {
		err := db.Update(ctx, func(tx *storage.Tx) error {
			for i := start; i < min(n, start+batch); i++ {
				id := fmt.Sprintf("res_bench%09d", i)
				at := now.Add(-time.Duration(n-i) * time.Second)
				if err := tx.PutResource(ctx, storage.Resource{ID: id, Provider: "acmedb", OfferingID: "acmedb/postgres", TierID: "pro",
					ProjectID: "proj_p" + strconv.Itoa(i%50), Status: "provisioned", CreatedAt: at, UpdatedAt: at, Data: []byte(`{}`)}); err != nil {
					return err
				}
				if err := tx.PostCharge(ctx, storage.Charge{ResourceID: id, ProjectID: "proj_p" + strconv.Itoa(i%50), Provider: "acmedb",
					Kind: "base", Amount: "25.00", Currency: "USD", At: at}); err != nil {
					return err
				}
				for u := range usage {
					if _, err := tx.ExecContext(ctx, `INSERT INTO usage (resource_id, period, metric, quantity) VALUES (?, ?, ?, ?)`,
						id, now.Format("2006-01"), "metric_"+strconv.Itoa(u), strconv.Itoa(i%1000)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPages renders the Resources first page and the Spend page with 1,000 resources and
// with benchRows() (and benchUsage() usage records each), reporting each page's server time and
// the ratio.
func BenchmarkPages(b *testing.B) {
	small, large := newFixture(b), newFixture(b)
	fill(b, small.db, 1_000, 0)
	fill(b, large.db, benchRows(), benchUsage())
	for _, page := range []string{"/ui/resources", "/ui/spend"} {
		b.Run(page[4:], func(b *testing.B) {
			timePage := func(f *fixture) time.Duration {
				req := httptest.NewRequest("GET", "http://127.0.0.1:7410"+page, nil)
				req.Header.Set(TokenHeader, testToken)
				start := time.Now()
				for range b.N {
					rec := httptest.NewRecorder()
					f.ui.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", page, rec.Code)
					}
				}
				return time.Since(start) / time.Duration(b.N)
			}
			base := timePage(small)
			big := timePage(large)
			b.ReportMetric(float64(base.Microseconds())/1000, "ms/page@1k")
			b.ReportMetric(float64(big.Microseconds())/1000, "ms/page@large")
			b.ReportMetric(float64(big)/float64(base), "ratio")
		})
	}
}
