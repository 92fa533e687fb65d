package agenttest

import (
	"net"
	"sync"
)

// WriteCounter is a listener whose connections count their write calls: how many times a
// server handed the kernel part of an answer.
type WriteCounter struct {
	net.Listener
	mu     sync.Mutex
	writes int
}

// CountWrites wraps l.
func CountWrites(l net.Listener) *WriteCounter { return &WriteCounter{Listener: l} }

func (l *WriteCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, l: l}, nil
}

// Writes is how many write calls the connections have made so far.
func (l *WriteCounter) Writes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

type countedConn struct {
	net.Conn
	l *WriteCounter
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// SetLinger is the TCP connection's, so a reset fault still resets through the counter.
func (c *countedConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return tc.SetLinger(sec)
	}
	return nil
}
