// Command loadgen is the load generator for BENCHMARKS.md: it sends one kind of request from N
// concurrent connections for a fixed time and prints throughput and latency percentiles. It runs
// as its own process, so the server under test keeps its CPU to itself.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "target URL")
	method := flag.String("method", "GET", "GET or POST")
	body := flag.String("body", "", "request body for POST")
	conc := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "how long to send")
	want := flag.Int("status", 200, "expected status")
	limit := flag.Int64("n", 0, "stop after this many requests (0: run for -d)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc}}
	deadline := time.Now().Add(*dur)
	var mu sync.Mutex
	var lat []time.Duration
	bad := 0
	var wg sync.WaitGroup
	var sent atomic.Int64
	start := time.Now()
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			wrong := 0
			for time.Now().Before(deadline) && (*limit == 0 || sent.Add(1) <= *limit) {
				var rd io.Reader
				if *body != "" {
					rd = strings.NewReader(*body)
				}
				req, _ := http.NewRequest(*method, *url, rd)
				if *body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					wrong++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != *want {
					wrong++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			bad += wrong
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		fmt.Println("no successful requests")
		os.Exit(1)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("requests=%d errors=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n", len(lat), bad, float64(len(lat))/elapsed.Seconds(), ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
}
