package mcptools

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock"
)

// Remote is the sandbox another ospbox process serves at base: `ospbox mcp` on a workspace a
// running server holds sends its tools' requests there over HTTP instead of opening the state
// (spec/control.md §5). snap is what the workspace's files declare, for the tools' schemas.
func Remote(base string, snap *mock.Snapshot) Sandbox {
	return &remote{base: strings.TrimRight(base, "/"), snap: snap, client: &http.Client{Timeout: 60 * time.Second}}
}

type remote struct {
	base   string
	snap   *mock.Snapshot
	client *http.Client
}

func (r *remote) Snapshot() *mock.Snapshot { return r.snap }

// Do sends req (whose URL's path and query address the sandbox) to the running server.
func (r *remote) Do(req *http.Request) (int, []byte) {
	var body io.Reader
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		body = bytes.NewReader(raw)
	}
	out, err := http.NewRequestWithContext(req.Context(), req.Method, r.base+req.URL.RequestURI(), body)
	if err != nil {
		return http.StatusBadRequest, []byte(`{"error":{"code":"invalid_request","message":"` + err.Error() + `"}}`)
	}
	out.Header = req.Header.Clone()
	resp, err := r.client.Do(out)
	if err != nil {
		return http.StatusBadGateway, []byte(`{"error":{"code":"provider_unavailable","message":"the running ospbox at ` + r.base + ` did not answer: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}}`)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, raw
}
