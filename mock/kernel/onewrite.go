package kernel

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
)

// One write per answer. net/http buffers a connection's output in 4 KiB: an answer longer than
// that (a 5.6 KB manifest) leaves in two write calls, two trips through the kernel's TCP stack
// and, on loopback, two wake-ups of the agent. A handler whose answer is whole and bounded calls
// SendWhole; the connection then holds net/http's full-buffer writes and sends them with the
// rest of the answer in one write. Nothing else changes: streams, faults and answers that never
// ask are written as net/http writes them.

// fullBuffer is the size of net/http's connection buffer: a write of exactly this many bytes is
// net/http emptying a full buffer in the middle of an answer, so more of it follows.
const fullBuffer = 4 << 10

// maxHeld bounds what a connection holds back for one answer; past it, it writes as it goes.
const maxHeld = 64 << 10

// OneWrite makes srv answer on l's connections in one write where a handler asks (SendWhole):
// it wraps l and adds srv's ConnContext and ConnState hooks (after any it has). Serve srv on
// the listener it returns.
func OneWrite(srv *http.Server, l net.Listener) net.Listener {
	nextContext, nextState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if oc, ok := c.(*oneWriteConn); ok {
			ctx = context.WithValue(ctx, oneWriteKey{}, oc)
		}
		if nextContext != nil {
			ctx = nextContext(ctx, c)
		}
		return ctx
	}
	// Once an answer is out (idle) or the connection ends, nothing may stay held: an answer
	// whose last write filled the buffer exactly is sent here. The next answer starts afresh.
	srv.ConnState = func(c net.Conn, state http.ConnState) {
		if oc, ok := c.(*oneWriteConn); ok && state != http.StateActive && state != http.StateNew {
			oc.answered()
		}
		if nextState != nil {
			nextState(c, state)
		}
	}
	return oneWriteListener{l}
}

// SendWhole asks that r's answer leave in one write. Call it only for an answer net/http writes
// whole with no flush in between (a body in memory, a Content-Length): a stream must not.
func SendWhole(r *http.Request) {
	if oc := connOf(r); oc != nil {
		oc.mu.Lock()
		oc.armed = !oc.notWhole
		oc.mu.Unlock()
	}
}

// NotWhole says r's answer does not leave as its handler writes it (a fault serves it into
// memory, then trickles or cuts it): a SendWhole for r does nothing.
func NotWhole(r *http.Request) {
	if oc := connOf(r); oc != nil {
		oc.mu.Lock()
		oc.notWhole, oc.armed = true, false
		oc.mu.Unlock()
	}
}

// connOf is the connection r came on, when it is a OneWrite one.
func connOf(r *http.Request) *oneWriteConn {
	oc, _ := r.Context().Value(oneWriteKey{}).(*oneWriteConn)
	return oc
}

type oneWriteKey struct{}

type oneWriteListener struct{ net.Listener }

func (l oneWriteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &oneWriteConn{Conn: c}, nil
}

// oneWriteConn is a connection that can hold the first parts of an answer.
type oneWriteConn struct {
	net.Conn
	mu       sync.Mutex // the serving goroutine writes; Server.Close and Shutdown close from others
	armed    bool       // the answer being written asked to leave in one write
	notWhole bool       // the answer being written is not sent as written (NotWhole)
	held     []byte
}

func (c *oneWriteConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed {
		return c.Conn.Write(p)
	}
	if len(p) == fullBuffer && len(c.held)+len(p) <= maxHeld {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	c.armed = false
	if len(c.held) == 0 {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	if err := c.releaseLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// releaseLocked sends anything held and disarms; c.mu is held.
func (c *oneWriteConn) releaseLocked() error {
	c.armed = false
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	if cap(c.held) > 2*maxHeld {
		c.held = nil
	} else {
		c.held = c.held[:0]
	}
	return err
}

// release sends anything held and disarms: what follows is not the answer that asked.
func (c *oneWriteConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.releaseLocked()
}

// answered ends an answer: anything held is sent, and the next answer starts afresh.
func (c *oneWriteConn) answered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked()
	c.notWhole = false
}

// Close sends what is held when net/http closes after an answer. A Close from elsewhere
// (Server.Close) while a write is blocked must not wait for it: it closes, which ends the write.
func (c *oneWriteConn) Close() error {
	if c.mu.TryLock() {
		c.releaseLocked()
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// CloseWrite lets net/http half-close the connection after an answer, as it does a TCP one.
func (c *oneWriteConn) CloseWrite() error {
	if err := c.release(); err != nil {
		return err
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the TCP connection's own copy (sendfile, splice) for answers copied from a file.
func (c *oneWriteConn) ReadFrom(r io.Reader) (int64, error) {
	if err := c.release(); err != nil {
		return 0, err
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// SetLinger is the TCP connection's: a reset fault closes with RST.
func (c *oneWriteConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return tc.SetLinger(sec)
	}
	return nil
}
