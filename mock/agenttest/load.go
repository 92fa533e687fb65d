package agenttest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadParallel posts a fresh body to url from 32 concurrent clients (16 × GOMAXPROCS 2) for b.N
// requests and returns the throughput and the p99 latency.
func loadParallel(b *testing.B, url string, body func() string, want int) (float64, time.Duration) {
	return LoadParallel(b, []string{url}, body, want)
}

// LoadParallel is loadParallel spread over urls: each client posts to its own one of them, in
// turn (client i to urls[i mod len(urls)]).
func LoadParallel(b *testing.B, urls []string, body func() string, want int) (float64, time.Duration) {
	return LoadParallelMethod(b, http.MethodPost, urls, body, want)
}

// LoadParallelMethod is LoadParallel with another method (GET sends no body; body may be nil).
func LoadParallelMethod(b *testing.B, method string, urls []string, body func() string, want int) (float64, time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	return LoadParallelFunc(b, func() func() error {
		url := urls[int(next.Add(1)-1)%len(urls)]
		return func() error {
			var rd io.Reader
			if body != nil {
				rd = strings.NewReader(body())
			}
			req, _ := http.NewRequest(method, url, rd)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	})
}

// LoadParallelFunc runs b.N operations from 32 concurrent clients (16 × GOMAXPROCS 2) and returns
// the throughput and the p99 latency. client is called once per client for its operation; an
// operation's error fails the benchmark and ends that client.
func LoadParallelFunc(b *testing.B, client func() func() error) (float64, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		op := client()
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return 0, 0
	}
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)*99/100]
}

// BenchAgainstBare posts bodies to url from 32 concurrent clients, then runs the same load
// against a bare net/http handler answering 201 with canned, and reports both and the ratio.
func BenchAgainstBare(b *testing.B, url string, body func() string, canned string) {
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, canned)
	}))
	defer base.Close()
	b.ResetTimer()
	ours, ourP99 := loadParallel(b, url, body, 201)
	theirs, theirP99 := loadParallel(b, base.URL, body, 201)
	b.StopTimer()
	b.ReportMetric(ours, "req/s")
	b.ReportMetric(float64(ourP99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(theirs, "baseline-req/s")
	b.ReportMetric(float64(theirP99.Microseconds())/1000, "baseline-p99-ms")
	if theirs > 0 {
		b.ReportMetric(ours/theirs, "ratio")
	}
}
