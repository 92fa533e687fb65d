package mcptools

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Stdio is the MCP transport over a process's stdin and stdout that answers everything it was
// asked: when stdin ends it waits, up to drainWait, until every request read so far has its
// response written, and only then reports the end. A client that writes its requests and
// closes stdin (printf '…' | ospbox mcp) gets every answer; the SDK's own stdio transport
// ends the session at EOF with the answers still being made.
func Stdio(in io.Reader, out io.Writer) mcp.Transport {
	c := &drainCounter{}
	c.cond = sync.NewCond(&c.mu)
	return &mcp.IOTransport{Reader: &drainingReader{r: in, c: c}, Writer: &countingWriter{w: out, c: c}}
}

// drainWait bounds how long the end of stdin waits for answers still being made.
const drainWait = 30 * time.Second

// drainCounter counts the requests read and the responses written.
type drainCounter struct {
	mu                  sync.Mutex
	cond                *sync.Cond
	requests, responses int
}

// frame is what the counters need of a JSON-RPC message.
type frame struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// lines calls fn with every complete line added to buf by p, keeping the incomplete rest.
func lines(buf *bytes.Buffer, p []byte, fn func([]byte)) {
	buf.Write(p)
	for {
		i := bytes.IndexByte(buf.Bytes(), '\n')
		if i < 0 {
			return
		}
		fn(buf.Next(i + 1))
	}
}

func isID(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

type drainingReader struct {
	r       io.Reader
	c       *drainCounter
	partial bytes.Buffer
}

func (d *drainingReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	lines(&d.partial, p[:n], func(line []byte) {
		var f frame
		if json.Unmarshal(line, &f) == nil && isID(f.ID) && f.Method != "" {
			d.c.mu.Lock()
			d.c.requests++
			d.c.mu.Unlock()
		}
	})
	if err == io.EOF {
		d.c.waitAnswered(drainWait)
	}
	return n, err
}

func (d *drainingReader) Close() error {
	if c, ok := d.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// waitAnswered blocks until every request read has a response, or for at most limit.
func (c *drainCounter) waitAnswered(limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.responses < c.requests && ctx.Err() == nil {
		c.cond.Wait()
	}
}

type countingWriter struct {
	w       io.Writer
	c       *drainCounter
	partial bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	lines(&w.partial, p[:n], func(line []byte) {
		var f frame
		if json.Unmarshal(line, &f) == nil && isID(f.ID) && f.Method == "" {
			w.c.mu.Lock()
			w.c.responses++
			w.c.cond.Broadcast()
			w.c.mu.Unlock()
		}
	})
	return n, err
}

// Close leaves stdout open: the process ends it.
func (w *countingWriter) Close() error { return nil }
