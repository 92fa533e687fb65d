package bsp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// BenchmarkBSPCommandsParallel posts distinct valid commands (each validated, recorded durably
// and processed into an event before the 201) from 32 concurrent clients over loopback HTTP,
// then the same load against a bare net/http handler answering 201, and reports the ratio.
func BenchmarkBSPCommandsParallel(b *testing.B) {
	f := bspWorkspace(b, "0.8", `{"type": "none"}`, "", nil)
	var n atomic.Int64
	body := func() string {
		return command(fmt.Sprintf("bench-%d", n.Add(1)), "PlaceOrder", "place-order/1.0", `{"orderId": "o-1", "qty": 2}`)
	}
	agenttest.BenchAgainstBare(b, f.URL+"/bsp/io.bsp.agents/commands", body, `{"id":"bench-1"}`)
}

// BenchmarkBSPStreamFanout connects 1,000 SSE subscribers over loopback HTTP, publishes 1,000
// events, and reports the delivery latency (publish call to a subscriber reading the frame) at
// p50 and p99; the publishers' throughput with the subscribers as a ratio to the same events
// published with none; and, as the baseline for the latency, the same fan-out through a bare
// net/http SSE handler fed straight from memory (no database, no filters, no catch-up), run in
// the same iteration: what these cores can do at all with 1,000 connections. "burst" publishes
// from 8 writers as fast as they can; "500/s" and "100/s" at a steady rate.
func BenchmarkBSPStreamFanout(b *testing.B) {
	b.Run("burst", func(b *testing.B) { benchFanout(b, 0) })
	b.Run("500/s", func(b *testing.B) { benchFanout(b, 2*time.Millisecond) })
	b.Run("100/s", func(b *testing.B) { benchFanout(b, 10*time.Millisecond) })
}

const fanoutSubscribers, fanoutEvents, fanoutWriters = 1000, 1000, 8

// fanoutTarget is an SSE server under measurement: where to subscribe, how many streams are
// open, and how to publish one event (returning its id).
type fanoutTarget struct {
	url     string
	streams func() int
	publish func(t0 time.Time) (string, error) // the event's data carries "t": t0 in Unix nanoseconds
}

func benchFanout(b *testing.B, pace time.Duration) {
	f := bspWorkspace(b, "0.8", `{"type": "none"}`, fanoutLogSize, nil)
	ours := oursFanout(f)
	bare := newBareSSE()
	defer bare.srv.Close()
	for range b.N {
		b.StopTimer()
		_, alone := fanoutPublish(b, ours, pace)
		bareLat, _ := fanoutRun(b, bare.target(), pace)
		lat, with := fanoutRun(b, ours, pace)
		publishP99 := lastPublishP99
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(ms(publishP99), "publish-p99-ms")
		b.ReportMetric(ms(bareLat[len(bareLat)/2]), "baseline-p50-ms")
		b.ReportMetric(ms(bareLat[len(bareLat)*99/100]), "baseline-p99-ms")
		b.ReportMetric(float64(fanoutEvents)/with.Seconds(), "events/s")
		b.ReportMetric(float64(fanoutEvents)/alone.Seconds(), "alone-events/s")
		b.ReportMetric(alone.Seconds()/with.Seconds(), "ratio")
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// oursFanout publishes through ospbox: a durable event, then the streams.
func oursFanout(f *mocktest.Sandbox) fanoutTarget {
	return fanoutTarget{url: f.URL + "/bsp/io.bsp.agents/events/stream", streams: f.BSP().Streams, publish: func(t0 time.Time) (string, error) {
		data := []byte(fmt.Sprintf(`{"orderId":"o-1","itemCount":2,"t":%d}`, t0.UnixNano()))
		ev, err := f.BSP().Emit(context.Background(), "io.bsp.agents", "OrderPlaced", data)
		return ev.ID, err
	}}
}

// fanoutLogSize keeps every published event (no trimming inside a run).
const fanoutLogSize = `"event_log_size": 1073741824`

// fanoutPublish publishes the events (from 8 writers, or one at the pace) and returns each id
// with the time its publication began.
func fanoutPublish(b *testing.B, t fanoutTarget, pace time.Duration) (map[string]time.Time, time.Duration) {
	var mu sync.Mutex
	var calls []time.Duration
	sent := make(map[string]time.Time, fanoutEvents)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	n := fanoutWriters
	if pace > 0 {
		n = 1
	}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= fanoutEvents; i = next.Add(1) {
				if pace > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(i-1) * pace)))
				}
				t0 := time.Now()
				id, err := t.publish(t0)
				if err != nil {
					b.Error(err)
					return
				}
				took := time.Since(t0)
				mu.Lock()
				sent[id] = t0
				calls = append(calls, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
	lastPublishP99 = calls[len(calls)*99/100]
	return sent, time.Since(start)
}

// lastPublishP99 is the p99 of the publishing calls of the last fanoutPublish (commit included).
var lastPublishP99 time.Duration

// fanoutRun connects the subscribers, publishes, and returns every delivery's latency, sorted,
// and how long publishing took.
func fanoutRun(b *testing.B, t fanoutTarget, pace time.Duration) ([]time.Duration, time.Duration) {
	type receipt struct {
		id [36]byte
		at time.Time
	}
	received := make([][]receipt, fanoutSubscribers)
	var ready, done sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: fanoutSubscribers}}
	defer client.CloseIdleConnections()
	for i := range fanoutSubscribers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := client.Get(t.url)
			if err != nil {
				b.Error(err)
				ready.Done()
				return
			}
			defer resp.Body.Close()
			r := bufio.NewReaderSize(resp.Body, 16<<10)
			r.ReadString('\n') // retry: 3000
			ready.Done()
			mine := make([]receipt, 0, fanoutEvents)
			for len(mine) < fanoutEvents {
				line, err := r.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					b.Error(err)
					return
				}
				if len(line) >= 40 && string(line[:4]) == "id: " {
					var rc receipt
					copy(rc.id[:], line[4:40])
					rc.at = time.Now()
					mine = append(mine, rc)
				}
			}
			received[i] = mine
		}()
	}
	ready.Wait()
	for t.streams() < fanoutSubscribers {
		time.Sleep(time.Millisecond)
	}
	b.StartTimer()
	sent, took := fanoutPublish(b, t, pace)
	done.Wait()
	b.StopTimer()
	var lat []time.Duration
	for _, rs := range received {
		for _, r := range rs {
			lat = append(lat, r.at.Sub(sent[string(r.id[:])]))
		}
	}
	if len(lat) != fanoutSubscribers*fanoutEvents {
		b.Fatalf("%d deliveries, want %d", len(lat), fanoutSubscribers*fanoutEvents)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	for t.streams() > 0 { // the next run starts with no stream open
		time.Sleep(time.Millisecond)
	}
	return lat, took
}

// bareSSE is the baseline: a net/http handler that writes each published frame to every open
// stream from memory.
type bareSSE struct {
	srv  *httptest.Server
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func newBareSSE() *bareSSE {
	s := &bareSSE{subs: map[chan []byte]struct{}{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan []byte, bsp.StreamBuffer)
		s.mu.Lock()
		s.subs[ch] = struct{}{}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.subs, ch)
			s.mu.Unlock()
		}()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		io.WriteString(w, "retry: 3000\n\n")
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case frame := <-ch:
				w.Write(frame)
				for more := true; more; {
					select {
					case frame := <-ch:
						w.Write(frame)
					default:
						more = false
					}
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	return s
}

func (s *bareSSE) target() fanoutTarget {
	return fanoutTarget{url: s.srv.URL, streams: func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.subs)
	}, publish: func(t0 time.Time) (string, error) {
		id := uuid.NewString()
		frame := []byte(fmt.Sprintf("id: %s\ndata: {\"specversion\":\"1.0\",\"id\":%q,\"type\":\"OrderPlaced\",\"data\":{\"orderId\":\"o-1\",\"itemCount\":2,\"t\":%d}}\n\n", id, id, t0.UnixNano()))
		s.mu.Lock()
		defer s.mu.Unlock()
		for ch := range s.subs {
			ch <- frame // the simplest fan-out: a slow stream holds the publisher up
		}
		return id, nil
	}}
}

// BenchmarkBSPStreamFanoutExternal is the steady-rate fan-out with the 1,000 subscribers in their
// own process (testdata/sseclients), as agents are, and the same bare net/http baseline first in
// each iteration. Latency: publication start (carried in the event's data) to the read.
func BenchmarkBSPStreamFanoutExternal(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "sseclients")
	if out, err := exec.Command("go", "build", "-o", bin, "../../testdata/sseclients").CombinedOutput(); err != nil {
		b.Fatalf("building sseclients: %v\n%s", err, out)
	}
	b.Run("500/s", func(b *testing.B) { benchFanoutExternal(b, bin, 2*time.Millisecond) })
	b.Run("100/s", func(b *testing.B) { benchFanoutExternal(b, bin, 10*time.Millisecond) })
}

func benchFanoutExternal(b *testing.B, bin string, pace time.Duration) {
	f := bspWorkspace(b, "0.8", `{"type": "none"}`, fanoutLogSize, nil)
	bare := newBareSSE()
	defer bare.srv.Close()
	for range b.N {
		b.StopTimer()
		baseP50, baseP99 := externalRun(b, bin, bare.target(), pace)
		p50, p99 := externalRun(b, bin, oursFanout(f), pace)
		b.ReportMetric(p50, "p50-ms")
		b.ReportMetric(p99, "p99-ms")
		b.ReportMetric(baseP50, "baseline-p50-ms")
		b.ReportMetric(baseP99, "baseline-p99-ms")
	}
}

// externalRun starts the subscriber process, publishes once it is connected, and returns its
// latency percentiles in milliseconds.
func externalRun(b *testing.B, bin string, t fanoutTarget, pace time.Duration) (p50, p99 float64) {
	cmd := exec.Command(bin, "-url", t.url, "-n", strconv.Itoa(fanoutSubscribers), "-events", strconv.Itoa(fanoutEvents))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("sseclients: %q", lines.Text())
	}
	for t.streams() < fanoutSubscribers {
		time.Sleep(time.Millisecond)
	}
	b.StartTimer()
	fanoutPublish(b, t, pace)
	lines.Scan()
	b.StopTimer()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("sseclients: %v", err)
	}
	var n int
	var us50, us99 int64
	if _, err := fmt.Sscanf(lines.Text(), "deliveries=%d p50_us=%d p99_us=%d", &n, &us50, &us99); err != nil || n != fanoutSubscribers*fanoutEvents {
		b.Fatalf("sseclients said %q", lines.Text())
	}
	for t.streams() > 0 {
		time.Sleep(time.Millisecond)
	}
	return float64(us50) / 1000, float64(us99) / 1000
}
