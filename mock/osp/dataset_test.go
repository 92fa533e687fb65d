package osp_test

import (
	"testing"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/osp"
)

func TestSandboxSeedCopiesDataByMode(t *testing.T) {
	f := mocktest.New(t)
	a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
	st, _, src := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	if st != 201 {
		t.Fatalf("source: %d %v", st, src)
	}
	srcID := src["resource_id"].(string)
	srcToken := src["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
	_, _, srcStatus := a.Call("GET", "/resources/"+srcID, srcToken, nil)
	source, _ := srcStatus["ospbox_dataset"].(map[string]any)
	srcRows, _ := source["rows"].(float64)
	tables, _ := source["tables"].([]any)
	if srcRows < 1000 || len(tables) == 0 {
		t.Fatalf("source dataset %v", source)
	}
	for mode, wantRows := range map[string]float64{"": 0, "schema_only": 0, "schema_and_sample_data": osp.SampleRows, "full_clone": srcRows} {
		st, _, sb := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free",
			"sandbox": map[string]any{"enabled": true, "ttl_hours": 1, "seed_from": srcID, "seed_mode": mode}})
		if st != 201 {
			t.Fatalf("seeded %q: %d %v", mode, st, sb)
		}
		wantMode := mode
		if wantMode == "" {
			wantMode = "schema_only"
		}
		meta := sb["metadata"].(map[string]any)
		if meta["osp_seed_from"] != srcID || meta["osp_seed_mode"] != wantMode {
			t.Errorf("%q: lineage %v", mode, meta)
		}
		token := sb["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
		_, _, status := a.Call("GET", "/resources/"+sb["resource_id"].(string), token, nil)
		d := status["ospbox_dataset"].(map[string]any)
		if d["rows"] != wantRows || len(d["tables"].([]any)) != len(tables) || d["seeded_from"] != srcID || d["seed_mode"] != wantMode {
			t.Errorf("%q: dataset %v, want %v rows of the source's %d tables", mode, d, wantRows, len(tables))
		}
	}
	if st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free",
		"sandbox": map[string]any{"enabled": true, "seed_from": srcID, "seed_mode": "everything"}}); st != 400 || agenttest.ErrCode(b) != "invalid_request" {
		t.Errorf("unknown seed mode: %d %v", st, b)
	}
	// A sandbox must be seeded from a live resource of the same offering.
	for name, seed := range map[string]string{"unknown": "res_nope", "other offering": "", "deprovisioned": srcID} {
		if name == "other offering" {
			_, _, other := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/postgres", "tier_id": "free"})
			seed = other["resource_id"].(string)
		}
		if name == "deprovisioned" {
			a.Call("DELETE", "/resources/"+srcID, srcToken, nil)
		}
		st, _, b := a.Call("POST", "/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free",
			"sandbox": map[string]any{"enabled": true, "seed_from": seed}})
		if st != 400 || agenttest.ErrCode(b) != "invalid_request" {
			t.Errorf("seed from %s resource: %d %v", name, st, b)
		}
	}
}
