package osp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestProvisionResponseKeysSorted holds provisionResponse to the bytes of the map it replaced:
// encoding/json writes a struct's fields in their order and a map's keys sorted, so the fields
// must stay sorted by name, and a full response must encode as its own map would.
func TestProvisionResponseKeysSorted(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[provisionResponse](), reflect.TypeFor[costEstimate](), reflect.TypeFor[ospEvent]()} {
		var names []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			names = append(names, name)
		}
		if !slices.IsSorted(names) {
			t.Errorf("%s's fields are not in the order of their JSON names: %v", typ.Name(), names)
		}
	}
	ttl, ready := 3600, 20
	for _, r := range []provisionResponse{
		{ResourceID: "res_1", Status: "provisioned", ExpiresAt: nil, Metadata: map[string]string{"b": "2", "a": "1"},
			CredentialsBundle: map[string]any{"format": "plaintext"}, DashboardURL: "http://x/ui", CostEstimate: &costEstimate{Breakdown: []any{}, Currency: "USD", MonthlyEstimate: "0.00"}},
		{ResourceID: "res_2", Status: "provisioning", ExpiresAt: "2026-12-02T00:00:00Z", TTLSeconds: &ttl, Credentials: jsonNull,
			EstimatedReadySeconds: &ready, PollURL: "p", StatusURL: "s", NextSteps: []string{"GET"}, IdempotencyKey: "k",
			Warnings: []map[string]any{{"code": "budget_exceeded"}}},
	} {
		got, _ := json.Marshal(r)
		if r.Status == "provisioning" && !bytes.Contains(got, []byte(`"credentials":null,`)) {
			t.Errorf("a 202 must say credentials is null: %s", got)
		}
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(m)
		if !bytes.Equal(got, want) {
			t.Errorf("the struct encodes as\n%s\nits map as\n%s", got, want)
		}
	}
}
