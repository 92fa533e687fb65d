package mock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// BenchmarkBSPCommandsParallel posts distinct valid commands (each validated, recorded durably
// and processed into an event before the 201) from 32 concurrent clients over loopback HTTP,
// then the same load against a bare net/http handler answering 201, and reports the ratio.
func BenchmarkBSPCommandsParallel(b *testing.B) {
	f := bspWorkspace(b, "0.8", `{"type": "none"}`, "", nil)
	var n atomic.Int64
	url := f.srv.URL + "/bsp/io.bsp.agents/commands"
	body := func() string {
		return command(fmt.Sprintf("bench-%d", n.Add(1)), "PlaceOrder", "place-order/1.0", `{"orderId": "o-1", "qty": 2}`)
	}
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"id":"bench-1"}`)
	}))
	defer base.Close()
	b.ResetTimer()
	ours, ourP99 := loadParallelFn(b, url, body, 201)
	theirs, theirP99 := loadParallelFn(b, base.URL, body, 201)
	b.StopTimer()
	b.ReportMetric(ours, "req/s")
	b.ReportMetric(float64(ourP99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(theirs, "baseline-req/s")
	b.ReportMetric(float64(theirP99.Microseconds())/1000, "baseline-p99-ms")
	if theirs > 0 {
		b.ReportMetric(ours/theirs, "ratio")
	}
}

// BenchmarkBSPStreamFanout connects 1,000 SSE subscribers over loopback HTTP, publishes 1,000
// events, and reports the delivery latency (publish call to a subscriber reading the frame) at
// p50 and p99, and the writers' throughput with the subscribers as a ratio to the same 1,000
// events published with none. "burst" publishes from 8 writers as fast as they can (latency is
// then mostly queueing behind 1,000,000 frame writes on the machine's cores, readers included);
// "500/s" and "100/s" publish at a steady rate, as agent workloads do.
func BenchmarkBSPStreamFanout(b *testing.B) {
	b.Run("burst", func(b *testing.B) { benchFanout(b, 0) })
	b.Run("500/s", func(b *testing.B) { benchFanout(b, 2*time.Millisecond) })
	b.Run("100/s", func(b *testing.B) { benchFanout(b, 10*time.Millisecond) })
}

func benchFanout(b *testing.B, pace time.Duration) {
	const subscribers, events, writers = 1000, 1000, 8
	f := bspWorkspace(b, "0.8", `{"type": "none"}`, "", nil)
	loc := bspLoc{service: "io.bsp.agents", gen: "0.8", base: f.srv.URL + "/bsp/io.bsp.agents", surface: f.sb.Snapshot().BSP.Serving.Surface, logSize: 1 << 30}
	data := mustParse(b, `{"orderId": "o-1", "itemCount": 2}`)
	// publish sends the events and returns each one's id with the time its publication began.
	publish := func() (map[string]time.Time, time.Duration) {
		var mu sync.Mutex
		sent := make(map[string]time.Time, events)
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		n := writers
		if pace > 0 {
			n = 1
		}
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= events; i = next.Add(1) {
					if pace > 0 {
						time.Sleep(time.Until(start.Add(time.Duration(i-1) * pace)))
					}
					t0 := time.Now()
					var id string
					err := f.db.Update(context.Background(), func(tx *storage.Tx) error {
						ev, err := f.sb.publishBSPEvent(context.Background(), tx, loc, "OrderPlaced", data, "")
						id = ev.ID
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					sent[id] = t0
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return sent, time.Since(start)
	}
	for range b.N {
		b.StopTimer()
		_, alone := publish()
		type receipt struct {
			id [36]byte
			at time.Time
		}
		received := make([][]receipt, subscribers)
		var ready, done sync.WaitGroup
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: subscribers}}
		for i := range subscribers {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := client.Get(loc.base + "/events/stream")
				if err != nil {
					b.Error(err)
					ready.Done()
					return
				}
				defer resp.Body.Close()
				r := bufio.NewReaderSize(resp.Body, 16<<10)
				r.ReadString('\n') // retry: 3000
				ready.Done()
				mine := make([]receipt, 0, events)
				for len(mine) < events {
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
		for f.sb.bspHub.streams() < subscribers {
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()
		sent, with := publish()
		done.Wait()
		b.StopTimer()
		var lat []time.Duration
		for _, rs := range received {
			for _, r := range rs {
				lat = append(lat, r.at.Sub(sent[string(r.id[:])]))
			}
		}
		if len(lat) != subscribers*events {
			b.Fatalf("%d deliveries, want %d", len(lat), subscribers*events)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(events)/with.Seconds(), "events/s")
		b.ReportMetric(float64(events)/alone.Seconds(), "baseline-events/s")
		b.ReportMetric(alone.Seconds()/with.Seconds(), "ratio")
		client.CloseIdleConnections()
	}
}
