// Command bytesserver is the baseline for the load benchmarks: a bare net/http server answering
// every request with the bytes of a file (and a status), nothing else.
//
// With -headers it also answers with the headers of a response ospbox gave (a file as `curl -D`
// writes it): the same bytes on the wire as ospbox, from a server that does nothing else. That
// is the limit of net/http for the answer the spec requires (spec/osp.md §3.5 and §4.1 name
// discovery's headers), as testdata/sqlitebaseline is the limit of SQLite for provisioning.
//
// With -one-write it also sends each answer in one write, as ospbox sends discovery
// (kernel.OneWrite): the same wire and the same syscalls, so what is left between the two is
// ospbox's own work.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"

	"github.com/ospbox/ospbox/mock/kernel"
)

func main() {
	file := flag.String("file", "", "body to serve")
	status := flag.Int("status", 200, "status to answer")
	headers := flag.String("headers", "", "a response head (as curl -D writes it) whose headers to answer with")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run here (it ends on SIGTERM)")
	oneWrite := flag.Bool("one-write", false, "send each answer in one write, as ospbox sends discovery")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	head := http.Header{"Content-Type": {"application/json"}}
	withRequestID := false
	if *headers != "" {
		if head, withRequestID, err = readHead(*headers); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("  sandbox host  http://%s\n", l.Addr())
	if *cpuProfile != "" {
		profileUntilTerm(*cpuProfile)
	}
	var served atomic.Uint64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		for name, values := range head {
			h[name] = values
		}
		if withRequestID {
			h["X-Request-Id"] = []string{requestID(served.Add(1))}
		}
		w.WriteHeader(*status)
		if *oneWrite {
			kernel.SendWhole(r)
		}
		w.Write(body)
	})}
	if *oneWrite {
		l = kernel.OneWrite(srv, l)
	}
	srv.Serve(l)
}

// profileUntilTerm profiles the process until SIGTERM, then exits: the baseline's side of a
// profile comparison with ospbox (OSPBOX_CPUPROFILE).
func profileUntilTerm(path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(0)
	}()
}

// readHead reads the headers of a response head, but Date (net/http writes its own) and
// X-Request-Id (unique per answer: withRequestID says to make one).
func readHead(path string) (head http.Header, withRequestID bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	r := textproto.NewReader(bufio.NewReader(f))
	if _, err := r.ReadLine(); err != nil { // the status line
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	m, err := r.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	head = http.Header(m)
	_, withRequestID = head["X-Request-Id"]
	delete(head, "Date")
	delete(head, "X-Request-Id")
	return head, withRequestID, nil
}

// requestID is a unique id as long as ospbox's (req_ and 26 characters): a counter's digits.
func requestID(n uint64) string {
	b := [30]byte{'r', 'e', 'q', '_'}
	for i := len(b) - 1; i >= 4; i-- {
		b[i] = '0' + byte(n%10)
		n /= 10
	}
	return string(b[:])
}
