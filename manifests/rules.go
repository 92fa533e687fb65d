package manifests

// ruleDocs is the one-line documentation of every rule id the validator emits. The ids are
// stable: editors, CI filters and SARIF consumers key on them.
var ruleDocs = map[string]string{
	"json_syntax":           "The file is not valid JSON (RFC 8259); the position is where parsing stopped.",
	"duplicate_key":         "A member name appears twice in one object; JSON decoders disagree on which wins.",
	"not_an_object":         "A manifest must be a JSON object.",
	"file_too_large":        "Manifests larger than 1 MiB are not read.",
	"unreadable":            "The file could not be read.",
	"dialect_undetected":    "No OSP dialect signals: C needs osp_base_url/provider_name, A manifest_id plus an endpoints map, B provider, published_at and endpoints.base_url.",
	"required":              "A required member is missing.",
	"type":                  "A member has the wrong JSON type.",
	"empty":                 "A required string is empty.",
	"enum":                  "A member's value is not one of the allowed values.",
	"pattern":               "A member's value does not have the required form.",
	"duration":              "Price intervals are ISO 8601 durations such as P1M, or null for one-time prices.",
	"min_items":             "An array needs at least one element.",
	"empty_offering":        "Every offering needs at least one tier.",
	"duplicate_offering_id": "offering_id must be unique within a manifest.",
	"duplicate_tier_id":     "tier_id must be unique within its offering.",
	"name_missing":          "An offering without a name is shown by its id.",
	"unsigned":              "The manifest carries no signature; ospbox signs the served copy with the workspace key.",
	"signature_incomplete":  "provider_signature and provider_public_key must both be present or both absent.",
	"signature_invalid":     "provider_signature does not verify over the canonical manifest; re-sign it.",
	"root_key":              "BSP/BEST and OAP manifests are objects with exactly one root member.",
	"version_invalid":       "BSP/BEST versions are MAJOR.MINOR.PATCH.",
	"version_unsupported":   "The declared version is not one ospbox serves.",
	"root_key_mismatch":     "BEST manifests (0.9 and later) use the root key best.",
}

// RuleDoc returns the documentation line of a rule id.
func RuleDoc(rule string) string {
	if d, ok := ruleDocs[rule]; ok {
		return d
	}
	return rule
}
