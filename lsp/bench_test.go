package lsp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/manifesttest"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// BenchmarkKeystrokeToDiagnostics times one keystroke (an incremental change of one character)
// to its published diagnostics over a real pipe, against the baseline of validating the same
// text in-process as `ospbox validate` does, alternated in one loop. Reports p50 and p99 of both.
func BenchmarkKeystrokeToDiagnostics(b *testing.B) {
	for _, tc := range []struct {
		name string
		text func(b *testing.B) []byte
	}{
		{"sample", func(b *testing.B) []byte {
			data, err := os.ReadFile("../manifests/samples/providers/acmedb/osp.json")
			if err != nil {
				b.Fatal(err)
			}
			return data
		}},
		{"1MB-2000-offerings", func(*testing.B) []byte { return manifesttest.Large(2000) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			if err := manifests.WriteSamples(dir); err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(dir, "providers", "acmedb", "osp.json")
			src := tc.text(b)
			os.WriteFile(path, src, 0o644)
			ws, err := manifests.OpenWorkspace(dir)
			if err != nil {
				b.Fatal(err)
			}
			c := startSession(b)
			uri := pathURI(path)
			c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": string(src)}})
			c.diagnosticsFor(uri)
			// The keystroke: the last digit of osp_version, "1.0" ⇄ "1.1".
			t := newText(src)
			at := t.position(indexOf(src, `"1.0"`) + 3)
			edit := protocol.Range{Start: at, End: protocol.Position{Line: at.Line, Character: at.Character + 1}}
			digits := []string{"1", "0"}
			var ours, base []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				src[indexOf(src, `"osp_version"`)+18] = digits[i%2][0] // the same keystroke for the baseline
				t0 := time.Now()
				ws.ValidateText("providers/acmedb/osp.json", src)
				t1 := time.Now()
				c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": i + 2},
					"contentChanges": []any{map[string]any{"range": edit, "text": digits[i%2]}}})
				c.diagnosticsFor(uri)
				t2 := time.Now()
				base, ours = append(base, t1.Sub(t0)), append(ours, t2.Sub(t1))
			}
			b.StopTimer()
			p := func(ds []time.Duration, q float64) float64 {
				slices.Sort(ds)
				return float64(ds[min(len(ds)-1, int(float64(len(ds))*q))].Microseconds()) / 1000
			}
			b.ReportMetric(p(ours, 0.5), "lsp-p50-ms")
			b.ReportMetric(p(ours, 0.99), "lsp-p99-ms")
			b.ReportMetric(p(base, 0.5), "validate-p50-ms")
			b.ReportMetric(p(base, 0.99), "validate-p99-ms")
			b.ReportMetric(p(ours, 0.99)/p(base, 0.99), "p99-ratio")
		})
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}
