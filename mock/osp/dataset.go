package osp

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/ospbox/ospbox/storage"
)

// Every resource holds a simulated dataset, so that seeding a sandbox from it (sandbox.seed_from)
// has something to copy and an agent can see what each seed_mode copied: the schema (a few
// tables, chosen from the offering id, so resources of one offering share it) and a row count
// (seeded by the resource id). The status response shows it as `ospbox_dataset`.
type dataset struct {
	Tables     []string `json:"tables"`
	Rows       int64    `json:"rows"`
	SeededFrom string   `json:"seeded_from,omitempty"`
	SeedMode   string   `json:"seed_mode,omitempty"`
}

// sampleRows is how many rows schema_and_sample_data copies at most.
const sampleRows = 100

var datasetTables = []string{"accounts", "events", "invoices", "orders", "products", "sessions", "users", "webhooks"}

// newDataset is the dataset a resource of offering starts with.
func newDataset(offeringID, resourceID string) dataset {
	schema := sha256.Sum256([]byte("schema/" + offeringID))
	var tables []string
	for i, name := range datasetTables {
		if schema[i]%2 == 0 || i == int(schema[8])%len(datasetTables) {
			tables = append(tables, name)
		}
	}
	rows := sha256.Sum256([]byte("rows/" + resourceID))
	return dataset{Tables: tables, Rows: 1000 + int64(binary.BigEndian.Uint32(rows[:4])%99000)}
}

// seededDataset is what a sandbox seeded from source in mode starts with: the schema always,
// then no rows (schema_only), at most sampleRows of them (schema_and_sample_data) or all of
// them (full_clone).
func seededDataset(source dataset, sourceID, mode string) dataset {
	d := dataset{Tables: slices.Clone(source.Tables), SeededFrom: sourceID, SeedMode: mode}
	switch mode {
	case "schema_and_sample_data":
		d.Rows = min(source.Rows, sampleRows)
	case "full_clone":
		d.Rows = source.Rows
	}
	return d
}

// datasetOf is res's dataset (made up from its ids when it predates datasets).
func datasetOf(res storage.Resource) dataset {
	if d := decodeData(res).Dataset; d != nil {
		return *d
	}
	return newDataset(res.OfferingID, res.ID)
}
