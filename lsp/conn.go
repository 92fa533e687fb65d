// Package lsp is `ospbox lsp`: the manifest validator, ospbox's schemas and its fixes, spoken as
// the Language Server Protocol over a byte stream (stdio), so provider developers get ospbox's
// findings in their own editor.
//
// The protocol's types and method dispatch are github.com/tliron/glsp's (protocol_3_16, whose
// structures 3.17 clients speak unchanged for everything used here). The message framing is
// ospbox's own: glsp frames through sourcegraph/jsonrpc2, whose reader ends the session on the
// first malformed message and trusts any Content-Length; an editor's language server must answer
// a bad message with an error and keep serving.
package lsp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// MaxMessageBytes bounds one message; a larger one is skipped and answered with an error. Editors
// send a whole document on open, so it is far above the 1 MiB the validator reads.
const MaxMessageBytes = 64 << 20

// maxHeaderLine bounds one header line; the header cannot be resynchronised after a longer one.
const maxHeaderLine = 4096

// JSON-RPC 2.0 error codes (and LSP's own) used in answers.
const (
	codeParseError           = -32700
	codeInvalidRequest       = -32600
	codeMethodNotFound       = -32601
	codeInvalidParams        = -32602
	codeInternalError        = -32603
	codeServerNotInitialized = -32002
)

// errFraming is a header the stream cannot recover from: the session ends with it.
var errFraming = errors.New("lsp: malformed message header")

// frame is one message body as read, or why it could not be.
type frame struct {
	body []byte
	// skipped is the size of a body over the limit, read and dropped.
	skipped int
}

// readFrame reads one Content-Length framed message (LSP base protocol).
func readFrame(r *bufio.Reader, max int) (frame, error) {
	length := -1
	for {
		line, err := readHeaderLine(r)
		if err != nil {
			return frame{}, err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return frame{}, fmt.Errorf("%w: %q", errFraming, line)
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return frame{}, fmt.Errorf("%w: Content-Length %q", errFraming, value)
			}
			length = n
		}
	}
	if length < 0 {
		return frame{}, fmt.Errorf("%w: no Content-Length", errFraming)
	}
	if length > max {
		n, err := io.CopyN(io.Discard, r, int64(length))
		if err != nil {
			return frame{}, err
		}
		return frame{skipped: int(n)}, nil
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return frame{}, err
	}
	return frame{body: body}, nil
}

// readHeaderLine reads one header line without its line end; "" is the blank line that ends the
// header. Lines end in \r\n as the protocol says; a bare \n is accepted too.
func readHeaderLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxHeaderLine {
			return "", fmt.Errorf("%w: a header line over %d bytes", errFraming, maxHeaderLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		return strings.TrimRight(string(line), "\r\n"), nil
	}
}

// message is any JSON-RPC message: a request (id and method), a notification (method only) or a
// response to a request of ours (id, no method).
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
}

type responseError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
	Error   *responseError  `json:"error,omitempty"`
}

// responseNoResult is an error answer: JSON-RPC forbids result next to error.
type responseNoResult struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   *responseError  `json:"error"`
}

// request is a request of ospbox's to the client; its answer is not waited for.
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  any             `json:"params"`
}

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

// writer frames messages onto the output, one at a time.
type writer struct {
	mu  sync.Mutex
	out io.Writer
	err error
}

func (w *writer) send(v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body, _ = json.Marshal(responseNoResult{JSONRPC: "2.0", ID: json.RawMessage("null"),
			Error: &responseError{Code: codeInternalError, Message: "ospbox could not encode its answer: " + err.Error()}})
	}
	var b bytes.Buffer
	b.WriteString("Content-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n\r\n")
	b.Write(body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		_, w.err = w.out.Write(b.Bytes())
	}
}

func (w *writer) reply(id json.RawMessage, result any) {
	w.send(response{JSONRPC: "2.0", ID: id, Result: result})
}

func (w *writer) fail(id json.RawMessage, code int, msg string) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	w.send(responseNoResult{JSONRPC: "2.0", ID: id, Error: &responseError{Code: code, Message: msg}})
}

func (w *writer) notify(method string, params any) {
	w.send(notification{JSONRPC: "2.0", Method: method, Params: params})
}
