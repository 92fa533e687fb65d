package bsp_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// FuzzBSPCommandEnvelope posts arbitrary bodies to POST /commands in every generation: the answer
// is 201 or a BSP error body with a 4xx status, never a 500 or a panic.
func FuzzBSPCommandEnvelope(f *testing.F) {
	fixtures := map[string]*mocktest.Sandbox{}
	for _, gen := range []string{"0.6", "0.8", "0.9"} {
		fixtures[gen] = bspWorkspace(f, gen, `{"type": "none"}`, "", nil)
	}
	for _, s := range []string{
		command("a", "PlaceOrder", "place-order/1.0", `{"orderId": "o"}`),
		command("b", "PlaceOrder", "https://x.example/commands/place-order/1.0", `{"orderId": "o", "qty": 2, "when": "2026-01-01"}`),
		command("c", "CancelOrder", "https://x.example/commands/place-order/1.0", `{}`),
		`{"specversion":"1.0","id":"","source":"a b","type":"x","datacontenttype":"text/plain","time":"now","data":[]}`,
		`[]`, `null`, `{"data":{"a":[[[[[]]]]]}}`, ``, `{"id":"x","id":"y"}`,
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(2))
	}
	gens := []string{"0.6", "0.8", "0.9"}
	f.Fuzz(func(t *testing.T, body string, g uint8) {
		gen := gens[int(g)%3]
		req := httptest.NewRequest("POST", "http://127.0.0.1:7410"+bspBase(gen)+"/commands", strings.NewReader(body))
		rec := httptest.NewRecorder()
		fixtures[gen].ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code != 201 && !strings.Contains(rec.Body.String(), `{"error":{"code":"`) {
			t.Fatalf("%s: status %d for %q: %s", gen, rec.Code, body, rec.Body)
		}
	})
}

// FuzzBSPQueryParameters feeds arbitrary query strings to the event filters and a query's
// parameter conversion: they accept or list errors, never panic.
func FuzzBSPQueryParameters(f *testing.F) {
	fx := bspWorkspace(f, "0.8", `{"type": "none"}`, "", nil)
	for _, s := range []string{"limit=3&after=c2VxOjE", "type=OrderPlaced&from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z",
		"orderId=o&limit=3&tags=a&tags=b&full=true", "limit=99999999999999999999", "after=%ff", "full=1&limit=1e3", "=&&="} {
		f.Add(s)
	}
	params := mustParse(f, `{"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}, "limit": {"type": "integer"}, "n": {"type": "number"}, "tags": {"type": "array", "items": {"type": "integer"}}, "full": {"type": "boolean"}}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		bsp.EventQuery(q, "")
		bsp.QueryParameters(params, q, "")
		for _, path := range []string{"/events?", "/queries/order-status?"} {
			req := httptest.NewRequest("GET", "http://127.0.0.1:7410/bsp/io.bsp.agents"+path+url.Values(q).Encode(), nil)
			rec := httptest.NewRecorder()
			fx.ServeHTTP(rec, req)
			if rec.Code != 200 && rec.Code != 400 {
				t.Fatalf("%s%s: status %d: %s", path, raw, rec.Code, rec.Body)
			}
		}
	})
}
