package jsondoc

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// BenchmarkParse compares the position-keeping strict parser with encoding/json decoding the
// same manifest into interface values, alternating the two in one loop.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../samples/providers/acmedb/osp.json")
	if err != nil {
		b.Fatal(err)
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
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		base += t1.Sub(t0)
		ours += t2.Sub(t1)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "jsondoc-ns/op")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "encoding_json-ns/op")
	b.ReportMetric(float64(ours)/float64(base), "ratio")
}
