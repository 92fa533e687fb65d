package kernel

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
)

// serveOneWrite serves h as the app does (OneWrite over the listener) and returns its address
// and the write counter underneath.
func serveOneWrite(t *testing.T, h http.HandlerFunc) (string, *agenttest.WriteCounter) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := agenttest.CountWrites(l)
	srv := &http.Server{Handler: h}
	go srv.Serve(OneWrite(srv, counted))
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), counted
}

// wholeBody answers body with a Content-Length, asking for one write when whole is set.
func wholeBody(body []byte, whole bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if whole {
			SendWhole(r)
		}
		w.Write(body)
	}
}

// dial connects to addr; the connection gives up after two seconds (something held back) and
// closes with the test.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(2 * time.Second))
	return c
}

// exchange sends n GET requests on one connection and returns the bodies, failing if an answer
// does not arrive within two seconds (something held back).
func exchange(t *testing.T, addr string, n int, closeLast bool) [][]byte {
	t.Helper()
	c := dial(t, addr)
	br := bufio.NewReader(c)
	var bodies [][]byte
	for i := range n {
		conn := ""
		if closeLast && i == n-1 {
			conn = "Connection: close\r\n"
		}
		fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\n%s\r\n", addr, conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d body: %v", i+1, err)
		}
		bodies = append(bodies, b)
	}
	return bodies
}

func TestSendWholeAnswersInOneWrite(t *testing.T) {
	for _, size := range []int{100, 5645, 12000, 40000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			checkOneWriteEach(t, bytes.Repeat([]byte("a"), size), false)
		})
	}
}

// checkOneWriteEach serves body as a whole answer three times on one connection (the last one
// closing it when closing is set) and checks each arrives intact in one write.
func checkOneWriteEach(t *testing.T, body []byte, closing bool) {
	t.Helper()
	addr, counted := serveOneWrite(t, wholeBody(body, true))
	for _, b := range exchange(t, addr, 3, closing) {
		if !bytes.Equal(b, body) {
			t.Fatalf("got %d bytes, want the %d sent", len(b), len(body))
		}
	}
	if got := counted.Writes(); got != 3 {
		t.Errorf("3 answers of %d bytes (closing: %v) took %d writes, want one each", len(body), closing, got)
	}
}

// Without SendWhole (a stream, an answer that did not ask), writes are net/http's own: a 5.6 KB
// answer takes two. This is what SendWhole saves, and it shows the counter can tell.
func TestAnswersThatDoNotAskAreWrittenAsNetHTTPWrites(t *testing.T) {
	body := bytes.Repeat([]byte("a"), 5645)
	addr, counted := serveOneWrite(t, wholeBody(body, false))
	exchange(t, addr, 1, false)
	if got := counted.Writes(); got != 2 {
		t.Errorf("an answer that did not ask took %d writes, want net/http's 2", got)
	}
}

// An answer whose last write fills net/http's buffer exactly is held at that write; it must
// still leave when the answer ends, on a kept-alive connection and on one that closes.
func TestAnswerEndingOnAFullBufferIsNotHeld(t *testing.T) {
	for _, closing := range []bool{false, true} {
		head := headLength(t, closing) // with a one-digit Content-Length
		for _, total := range []int{2 * fullBuffer, 3 * fullBuffer} {
			size := total - head - (len(strconv.Itoa(total)) - 1) // the length's digits grow
			checkOneWriteEach(t, bytes.Repeat([]byte("b"), size), closing)
		}
	}
}

// headLength is the length of the head wholeBody answers a one-byte body with.
func headLength(t *testing.T, closing bool) int {
	t.Helper()
	addr, _ := serveOneWrite(t, wholeBody([]byte("x"), false))
	c := dial(t, addr)
	conn := ""
	if closing {
		conn = "Connection: close\r\n"
	}
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\n%s\r\n", addr, conn)
	br := bufio.NewReader(c)
	n := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		n += len(line)
		if line == "\r\n" {
			return n
		}
	}
}

// A stream flushes as it goes even if a handler under it asked for one write: NotWhole keeps a
// fault that serves the answer into memory and then trickles it from arming the connection. The
// chunks fill net/http's buffer exactly, so an armed connection would hold the first.
func TestNotWholeLeavesTheConnectionAlone(t *testing.T) {
	// The first chunk and the head fill net/http's buffer exactly: the flush after it is a
	// full-buffer write, which an armed connection would hold until the second.
	second := bytes.Repeat([]byte("d"), 1000)
	first := bytes.Repeat([]byte("c"), fullBuffer-headLength(t, false)-3) // a 4-digit length
	release := make(chan struct{})
	addr, _ := serveOneWrite(t, func(w http.ResponseWriter, r *http.Request) {
		NotWhole(r)
		SendWhole(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(first)+len(second)))
		w.WriteHeader(200)
		w.Write(first)
		http.NewResponseController(w).Flush()
		<-release
		w.Write(second)
	})
	defer close(release)
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(first))
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatalf("the flushed first chunk did not arrive before the second was written: %v", err)
	}
}

// A hijacked connection is the wrapper: a reset fault still finds SetLinger on it.
func TestHijackedConnectionCanReset(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		lc, ok := conn.(interface{ SetLinger(int) error })
		if !ok {
			t.Error("the hijacked connection has no SetLinger")
		} else if err := lc.SetLinger(0); err != nil {
			t.Error(err)
		}
		conn.Close()
	})}
	go srv.Serve(OneWrite(srv, l))
	defer srv.Close()
	addr := l.Addr().String()
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	_, err = io.ReadAll(c)
	if err == nil || !strings.Contains(err.Error(), "reset") {
		t.Errorf("read after a linger-0 close: %v, want connection reset", err)
	}
}

// The hooks OneWrite adds run after the server's own.
func TestOneWriteKeepsTheServersHooks(t *testing.T) {
	var states []http.ConnState
	var mu sync.Mutex
	type key struct{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Context().Value(key{}) != "mine" {
				t.Error("the server's ConnContext did not run")
			}
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, key{}, "mine") },
		ConnState: func(c net.Conn, s http.ConnState) {
			mu.Lock()
			states = append(states, s)
			mu.Unlock()
		},
	}
	go srv.Serve(OneWrite(srv, l))
	defer srv.Close()
	exchange(t, l.Addr().String(), 1, true)
	mu.Lock() // New and Active come before the handler runs, so before its answer
	defer mu.Unlock()
	if len(states) < 2 || states[0] != http.StateNew || states[1] != http.StateActive {
		t.Errorf("the server's ConnState saw %v", states)
	}
}
