package osp_test

import (
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
)

// BenchmarkProvisionParallel provisions free live resources of a synchronous offering over real
// loopback HTTP from 32 concurrent clients, then runs the same load against a bare net/http
// handler that answers 201 with a provisioning-sized body, and reports both and the ratio. Each
// provision is a durable write with credential generation.
func BenchmarkProvisionParallel(b *testing.B) {
	f := mocktest.New(b)
	body := `{"offering_id":"acmedb/redis","tier_id":"free"}`
	agenttest.BenchAgainstBare(b, f.URL+"/providers/acmedb/osp/v1/provision", func() string { return body }, `{"pad":"`+strings.Repeat("x", 900)+`"}`)
}
