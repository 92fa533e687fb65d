package mock

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkWellKnown measures GET /.well-known/osp.json through the whole sandbox handler
// (routing, headers, cached signed body, request log insert into SQLite) against a handler that
// writes the same bytes and nothing else, alternating the two in one loop.
func BenchmarkWellKnown(b *testing.B) {
	f := newFixture(b)
	req := httptest.NewRequest("GET", "http://127.0.0.1:7410/.well-known/osp.json", nil)
	rec := httptest.NewRecorder()
	f.sb.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	baseline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	var ours, base time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		baseline.ServeHTTP(httptest.NewRecorder(), req)
		t1 := time.Now()
		rec := httptest.NewRecorder()
		f.sb.ServeHTTP(rec, req)
		t2 := time.Now()
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		base += t1.Sub(t0)
		ours += t2.Sub(t1)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "ospbox-ns/req")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "baseline-ns/req")
	b.ReportMetric(float64(ours)/float64(base), "ratio")
}
