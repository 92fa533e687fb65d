package mock

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// TestCatalogMatchesTheSpecExample builds the catalog of the spec's demo workspace and compares it
// with spec/catalog.md §5 member by member (last_updated aside, which is the load time).
func TestCatalogMatchesTheSpecExample(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "providers", "acmedb"), 0o755)
	data, _ := os.ReadFile("testdata/examples-acmedb.json")
	os.WriteFile(filepath.Join(dir, "providers", "acmedb", "osp.json"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "ospbox.json"), []byte(`{"name": "demo"}`), 0o644)
	ws, err := manifests.OpenWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(context.Background(), ws.StatePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sb, err := New(context.Background(), ws, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	req := httptest.NewRequest("GET", "http://127.0.0.1:7410/ospbox/v1/catalog", nil)
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got, want map[string]any
	json.Unmarshal(rec.Body.Bytes(), &got)
	wantBytes, _ := os.ReadFile("testdata/catalog-example.json")
	json.Unmarshal(wantBytes, &want)
	got["data"].(map[string]any)["last_updated"] = nil
	want["data"].(map[string]any)["last_updated"] = nil
	// The example's offering has no description in the manifest it was built from.
	for _, k := range []string{"ok", "command", "version", "warnings", "next_steps", "meta"} {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("%s:\n got  %v\n want %v", k, got[k], want[k])
		}
	}
	gd, wd := got["data"].(map[string]any), want["data"].(map[string]any)
	for _, k := range []string{"provider_filter", "category_filter", "source", "providers", "services"} {
		if !reflect.DeepEqual(gd[k], wd[k]) {
			gj, _ := json.MarshalIndent(gd[k], "", " ")
			wj, _ := json.MarshalIndent(wd[k], "", " ")
			t.Errorf("data.%s:\n got  %s\n want %s", k, gj, wj)
		}
	}
}

func TestCatalogFiltersAndWarnings(t *testing.T) {
	f := newFixture(t)
	os.MkdirAll(filepath.Join(f.dir, "providers", "broken"), 0o755)
	os.WriteFile(filepath.Join(f.dir, "providers", "broken", "osp.json"), []byte(`{`), 0o644)
	f.sb.Reload(context.Background())
	_, body := f.do(t, "GET", "/ospbox/v1/catalog", nil, nil)
	var c osp.Catalog
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Data.Providers) != 2 || len(c.Data.Services) != 6 {
		t.Errorf("providers %d services %d", len(c.Data.Providers), len(c.Data.Services))
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "provider broken has no valid manifest") {
		t.Errorf("warnings %v", c.Warnings)
	}
	_, body = f.do(t, "GET", "/ospbox/v1/catalog?provider=skyhost.example&category=storage", nil, nil)
	json.Unmarshal(body, &c)
	if len(c.Data.Services) != 1 || c.Data.Services[0].ID != "skyhost/object-storage" || *c.Data.ProviderFilter != "skyhost.example" {
		t.Errorf("filtered: %+v", c.Data.Services)
	}
	archive := c.Data.Services[0].Tiers[1]
	if archive.MonthlyEquivalent.Amount != "5.00" || archive.Pricing.Freeform != "USD 60.00 / year" {
		t.Errorf("yearly tier: %+v", archive)
	}
	// Standard is USD 5.00 a month, archive USD 60.00 a year: equal monthly prices count as up.
	if archive.AllowedUpdates[0] != (osp.TierUpdate{Direction: "up", TierID: "standard"}) {
		t.Errorf("allowed updates %+v", archive.AllowedUpdates)
	}
	_, body = f.do(t, "GET", "/ospbox/v1/catalog", nil, nil)
	json.Unmarshal(body, &c)
	for _, s := range c.Data.Services {
		if s.ID == "acmedb/search" && (s.Development || s.Pricing.Type != "paid" || s.Tiers[1].TrustTierRequired != 2) {
			t.Errorf("acmedb/search: %+v", s)
		}
	}
}
