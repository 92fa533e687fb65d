package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// MaxCachedBodies bounds a served version's cache of rendered documents: the mount comes from
// the Host header, and a client inventing host names must not grow memory without limit.
const MaxCachedBodies = 32

// Document is a rendered document served many times (a manifest, a discovery body): its bytes,
// its ETag and its redacted request-log form, each made once.
type Document struct {
	Body []byte
	ETag string
	// Logged is the body as the request log stores it (redacted once), under the key LogRef.
	Logged, LogRef string
	// ETagHeader and LengthHeader are the ETag and Content-Length header values, made once.
	ETagHeader, LengthHeader []string
}

// NewDocument wraps a document about to be served with its ETag and its request-log form.
func NewDocument(body []byte, etag string) *Document {
	logged := RedactJSON(body)
	sum := sha256.Sum256([]byte(logged))
	return &Document{Body: body, ETag: etag, Logged: logged, LogRef: hex.EncodeToString(sum[:]),
		ETagHeader: []string{etag}, LengthHeader: []string{strconv.Itoa(len(body))}}
}

// DocumentOf wraps body with an ETag made from its content.
func DocumentOf(body []byte) *Document {
	sum := sha256.Sum256(body)
	return NewDocument(body, `"`+hex.EncodeToString(sum[:])[:16]+`"`)
}

// Header values WriteDocument sets, shared between answers: net/http never modifies a header's
// values.
var (
	noCache         = []string{"no-cache"}
	jsonContentType = []string{"application/json"}
)

// WriteDocument answers a GET or HEAD with d: its ETag and no-cache, a 304 when the client has
// it, else its length and bytes, in one write (SendWhole), the request log keeping d by
// reference.
func WriteDocument(w http.ResponseWriter, r *http.Request, d *Document) {
	h := w.Header()
	h["Etag"] = d.ETagHeader
	h["Cache-Control"] = noCache
	if match := HeaderValue(r.Header, "If-None-Match"); match != "" && ETagMatches(match, d.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = d.LengthHeader
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		SetLogBody(w, d)
		SendWhole(r)
		w.Write(d.Body)
	}
}

// ETagMatches reports whether an If-None-Match header names etag (or is "*").
func ETagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// LogHints is what the host's request-log recorder accepts from a handler about the response
// it is writing.
type LogHints interface {
	// LogDocument stores d's redacted form, by reference, as the response body.
	LogDocument(d *Document)
	// LogStreaming counts the response's bytes instead of keeping them (an event stream).
	LogStreaming()
}

// SetLogBody tells the request log to store d's redacted form, by reference, as the response.
func SetLogBody(w http.ResponseWriter, d *Document) {
	if h, ok := w.(LogHints); ok {
		h.LogDocument(d)
	}
}

// StreamingLog tells the request log that the response is a stream: its bytes are counted, not
// kept.
func StreamingLog(w http.ResponseWriter) {
	if h, ok := w.(LogHints); ok {
		h.LogStreaming()
	}
}
