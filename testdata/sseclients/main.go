// Command sseclients is the subscriber side of the SSE fan-out benchmark in its own process: it
// opens N event streams, prints "ready" once every stream has its headers, reads E events on
// each, and prints the delivery latency percentiles. Each event's data carries "t", the Unix time
// in nanoseconds when its publication began; latency is the read time minus t (one machine, one
// clock).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "stream URL")
	n := flag.Int("n", 1000, "streams")
	events := flag.Int("events", 1000, "events to read on each stream")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "sseclients: -url is required")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *n}}
	lat := make([][]time.Duration, *n)
	var ready, done sync.WaitGroup
	failed := make(chan error, *n)
	for i := range *n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := client.Get(*url)
			ready.Done()
			if err != nil {
				failed <- err
				return
			}
			defer resp.Body.Close()
			r := bufio.NewReaderSize(resp.Body, 16<<10)
			mine := make([]time.Duration, 0, *events)
			for len(mine) < *events {
				line, err := r.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					failed <- err
					return
				}
				if !bytes.HasPrefix(line, []byte("data: ")) {
					continue
				}
				at := time.Now()
				if t, ok := stamp(line); ok {
					mine = append(mine, at.Sub(time.Unix(0, t)))
				}
			}
			lat[i] = mine
		}()
	}
	ready.Wait()
	fmt.Println("ready")
	done.Wait()
	select {
	case err := <-failed:
		fmt.Fprintln(os.Stderr, "sseclients:", err)
		os.Exit(1)
	default:
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	fmt.Printf("deliveries=%d p50_us=%d p99_us=%d\n", len(all), all[len(all)/2].Microseconds(), all[len(all)*99/100].Microseconds())
}

// stamp finds "t":<digits> in a frame's data line.
func stamp(line []byte) (int64, bool) {
	i := bytes.Index(line, []byte(`"t":`))
	if i < 0 {
		return 0, false
	}
	rest := line[i+4:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	t, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return t, err == nil
}
