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

	// Schema keywords, when the schema location names no rule of its own.
	"format":         "A string does not have the declared format (URI, date-time, …).",
	"max_items":      "An array has more elements than allowed.",
	"min_length":     "A string is shorter than allowed.",
	"max_length":     "A string is longer than allowed.",
	"minimum":        "A number is below the allowed minimum.",
	"maximum":        "A number is above the allowed maximum.",
	"unknown_member": "A member is not allowed in this closed object.",
	"unknown_field":  "A member is not part of ospbox's schema for dialect C; it is kept as written (check the spelling).",
	"any_of":         "A value matches none of the allowed forms.",
	"one_of":         "A value must match exactly one of the allowed forms.",
	"unique_items":   "Array elements must be unique.",
	"property_names": "A member name does not have the allowed form.",
	"min_properties": "An object has fewer members than allowed.",
	"max_properties": "An object has more members than allowed.",
	"not_allowed":    "A member is not allowed here.",
	"schema":         "The value does not match ospbox's schema.",

	// Named schema rules (x-rule in the embedded schemas).
	"offering_id":      "offering_id has the form provider/service: lower-case letters, digits and hyphens, at most 128 characters.",
	"tier_id":          "tier_id is lower-case letters, digits, '-' or '_' (dialect B: no '_'), at most 64 characters.",
	"price_amount":     "Prices are decimal strings: two fraction digits at most in dialects A and C (\"25.00\"), any number in B and for metered unit prices.",
	"currency":         "Currencies are three or four upper-case letters (dialect A: USD, EUR, GBP, USDC or EURC).",
	"interval":         "Price intervals are ISO 8601 durations (P1M, P1Y, PT1H) or null for one-time prices; dialect B uses one_time, hourly, daily, monthly, yearly.",
	"payment_method":   "Payment methods are free, sardis_wallet, stripe_spt, x402, mpp, invoice, external, or a reverse-domain name.",
	"category":         "Offering categories come from the dialect's list.",
	"trust_tier":       "Trust tiers are integers 0–3 (A, C) or none, basic, verified, enterprise (B).",
	"key":              "Ed25519 public keys are 32 bytes of base64url.",
	"signature_format": "Ed25519 signatures are 64 bytes of base64url.",
	"url":              "URLs must be absolute; osp_base_url has no query or fragment; dialect B requires https except for loopback hosts.",
	"endpoint_path":    "Endpoint paths start with \"/\".",
	"no_offerings":     "A manifest needs at least one offering.",

	// OSP semantic rules (spec/osp.md §2.4–§2.7).
	"mixed_dialect":              "The manifest carries members of more than one dialect; those of the other dialects are kept but not used.",
	"offering_prefix_mismatch":   "Offerings disagree on the provider segment of offering_id (a/x and b/y).",
	"category_missing":           "An offering without a category cannot be grouped in catalogs.",
	"credentials_schema_missing": "Without credentials_schema ospbox issues API_URL and API_KEY.",
	"provision_time_clamped":     "estimated_provision_seconds above 300 is simulated as 300.",
	"currency_unusual":           "A currency outside USD, EUR, GBP, USDC, EURC counts against caps only with an fx rate.",
	"trust_tier_string":          "Dialect C expects an integer trust tier; strings are mapped.",
	"base_url_suffix":            "osp_base_url normally ends in /osp/v1.",
	"schema_invalid":             "credentials_schema and configuration_schema must compile as JSON Schema 2020-12.",
	"sunset_too_soon":            "sunset_at should be at least 90 days after deprecated_at.",
	"free_not_accepted":          "A free tier exists but the accepted payment methods do not include free.",
	"paid_tier_free_only":        "A paid tier exists but free is the only accepted payment method.",
	"tier_reference":             "identity.identity_required_for_tiers names a tier no offering has.",
	"schema_unavailable":         "ospbox's own schema could not be loaded (a bug in ospbox).",
}

// RuleDoc returns the documentation line of a rule id.
func RuleDoc(rule string) string {
	if d, ok := ruleDocs[rule]; ok {
		return d
	}
	return rule
}
