package manifests

import (
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzValidate feeds arbitrary bytes through parse, detection and validation for every protocol:
// it must never panic, and every position it reports must lie inside the file.
func FuzzValidate(f *testing.F) {
	for _, p := range []string{"samples/providers/acmedb/osp.json", "samples/bsp/manifest.json", "samples/oap/manifest.json", "testdata/examples-acmedb.json"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(baseA))
	f.Add([]byte(baseB))
	f.Add([]byte("{\r\n\"é\": [1,\r\n2}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1
		for _, b := range data {
			if b == '\n' {
				lines++
			}
		}
		for _, protocol := range []string{"osp", "bsp", "oap", ""} {
			rep := ValidateData("f.json", protocol, data)
			if rep.Valid != (len(rep.Errors) == 0) {
				t.Fatalf("valid=%v with %d errors", rep.Valid, len(rep.Errors))
			}
			for _, d := range append(append([]Diagnostic{}, rep.Errors...), rep.Warnings...) {
				if d.Line < 0 || d.Line > lines || d.EndLine > lines || d.Column < 0 {
					t.Fatalf("%s finding %s at %d:%d-%d:%d outside a %d-line file", protocol, d.Rule, d.Line, d.Column, d.EndLine, d.EndColumn, lines)
				}
				if d.Line > 0 && d.Column < 1 {
					t.Fatalf("column %d", d.Column)
				}
				if !utf8.ValidString(d.Message) {
					t.Fatalf("message is not UTF-8: %q", d.Message)
				}
			}
		}
	})
}
