package mock

import (
	"bytes"
	"net/http"
)

// Do serves req in process, as if it had arrived over the network, and returns the status and
// body of the answer: the UI's actions and the MCP tools call the API through it.
func (s *Sandbox) Do(req *http.Request) (int, []byte) {
	rec := &memoryResponse{header: http.Header{}}
	s.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes()
}

// memoryResponse collects a response in memory.
type memoryResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (m *memoryResponse) Header() http.Header { return m.header }

func (m *memoryResponse) WriteHeader(code int) {
	if m.status == 0 {
		m.status = code
	}
}

func (m *memoryResponse) Write(p []byte) (int, error) {
	if m.status == 0 {
		m.status = http.StatusOK
	}
	return m.body.Write(p)
}
