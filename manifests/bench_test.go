package manifests

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests/manifesttest"
)

// benchmarkValidate alternates ospbox's validation of data with the baseline of decoding the
// same bytes with encoding/json, and reports both and the ratio.
func benchmarkValidate(b *testing.B, data []byte) {
	b.Helper()
	if rep := ValidateData("providers/x/osp.json", "osp", data); !rep.Valid {
		b.Fatalf("benchmark input is invalid: %+v", rep.Errors[:min(3, len(rep.Errors))])
	}
	var ours, base time.Duration
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ValidateData("providers/x/osp.json", "osp", data)
		t2 := time.Now()
		base += t1.Sub(t0)
		ours += t2.Sub(t1)
	}
	b.ReportMetric(float64(ours.Microseconds())/float64(b.N)/1000, "validate-ms")
	b.ReportMetric(float64(base.Microseconds())/float64(b.N)/1000, "unmarshal-ms")
	b.ReportMetric(float64(ours)/float64(base), "ratio")
}

// BenchmarkValidateTypical is the sample provider manifest (target: under 2 ms).
func BenchmarkValidateTypical(b *testing.B) {
	data, err := os.ReadFile("samples/providers/acmedb/osp.json")
	if err != nil {
		b.Fatal(err)
	}
	benchmarkValidate(b, data)
}

// BenchmarkValidateLarge is a 1 MB manifest with 2,000 offerings (target: under 50 ms).
func BenchmarkValidateLarge(b *testing.B) {
	data := manifesttest.Large(2000)
	if len(data) < 900_000 || len(data) > MaxManifestBytes {
		b.Fatalf("generated manifest is %d bytes, want about 1 MB", len(data))
	}
	benchmarkValidate(b, data)
}
