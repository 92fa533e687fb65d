package storage

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestListResourcesPagesNewestFirstWithFilters(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx *Tx) error {
		for i := 0; i < 7; i++ {
			r := Resource{ID: fmt.Sprintf("res_%d", i), Provider: "acmedb", OfferingID: "acmedb/redis", TierID: "free",
				ProjectID: "proj_default", Status: "provisioned", Sandbox: i%2 == 0, CreatedAt: base.Add(time.Duration(i/2) * time.Minute), UpdatedAt: base, Data: []byte("{}")}
			if i == 6 {
				r.Provider, r.Status = "skyhost", "deprovisioned"
			}
			if i == 5 {
				r.OfferingID, r.TierID, r.ProjectID = "acmedb/postgres", "pro", "proj_shop"
			}
			if err := tx.PutResource(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := db.ListResources(ctx, ResourceFilter{}, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Resources {
			seen = append(seen, r.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	// Same created_at for res_4 and res_5 (and 2/3, 0/1): the id breaks the tie, none repeats or goes missing.
	if got := fmt.Sprint(seen); got != "[res_6 res_5 res_4 res_3 res_2 res_1 res_0]" {
		t.Errorf("pages: %s", got)
	}
	// Oldest first pages the other way, with the same tie-breaking.
	seen, cursor = nil, ""
	for {
		p, _ := db.ListResources(ctx, ResourceFilter{Oldest: true}, cursor, 2)
		for _, r := range p.Resources {
			seen = append(seen, r.ID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if got := fmt.Sprint(seen); got != "[res_0 res_1 res_2 res_3 res_4 res_5 res_6]" {
		t.Errorf("oldest first: %s", got)
	}
	for f, want := range map[ResourceFilter]int{
		{Provider: "skyhost"}: 1, {Status: "provisioned"}: 6, {Sandbox: "yes"}: 4, {Sandbox: "no", Provider: "acmedb"}: 3,
		{Project: "proj_shop"}: 1, {Offering: "acmedb/postgres"}: 1, {Tier: "free"}: 6, {Tier: "pro", Offering: "acmedb/redis"}: 0,
	} {
		if p, _ := db.ListResources(ctx, f, "", 50); len(p.Resources) != want {
			t.Errorf("%+v: %d resources, want %d", f, len(p.Resources), want)
		}
	}
	if r, err := db.ResourceByID(ctx, "res_6"); err != nil || r.Provider != "skyhost" {
		t.Errorf("ResourceByID: %+v %v", r, err)
	}
	if _, err := db.ResourceByID(ctx, "res_x"); err != ErrNotFound {
		t.Errorf("missing: %v", err)
	}
}
