package manifests

import (
	"sort"
	"strings"
)

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
	"enum":                  "A member's value is not one of the allowed values.",
	"pattern":               "A member's value does not have the required form.",
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
	"base_url_not_served":        "osp_base_url points at this machine but not where ospbox serves the provider (production URLs are fine: the served copy is rewritten).",
	"tier_reference":             "identity.identity_required_for_tiers names a tier no offering has.",
	"schema_unavailable":         "ospbox's own schema could not be loaded (a bug in ospbox).",

	// BSP/BEST and OAP rules (spec/bsp.md §2.2–§2.3, spec/oap.md §2.2–§2.3).
	"namespace_mismatch":               "io.bsp.* names belong to generations 0.6/0.8, io.best.* to 0.9.",
	"unknown_reserved_capability":      "A name in the reserved namespace that is not a standard capability of the generation (or of OAP 2025-07-01).",
	"reserved_needs_spec":              "Capabilities in the reserved namespace need spec and schema URIs.",
	"lifecycle_without_registry":       "agents.lifecycle (and OAP agents.memory) need agents.registry, and lifecycle must extend it.",
	"extends_registry":                 "OAP lifecycle and memory capabilities should extend io.oap.agents.registry.",
	"extends_unresolved":               "extends names a capability the manifest does not declare.",
	"service_unresolved":               "A capability's service is not a key of services (or no service key prefixes its name).",
	"http_binding_missing":             "A service that implements a capability needs an http binding.",
	"planned_with_endpoints":           "A planned capability lists endpoints; ospbox answers 422 until it is active.",
	"unknown_route":                    "An endpoint is not a route of that standard capability.",
	"route_missing":                    "An active standard capability's endpoints omit a route clients need; ospbox serves it anyway.",
	"tenant_scoped_capability_in_root": "With tenants declared, commands, events and queries belong in the tenant manifests.",
	"possibly_tenant_scoped":           "A custom capability in a root manifest with tenants may belong in the tenant manifests.",
	"endpoint_not_simulated":           "ospbox simulates the standard capabilities only; endpoints of an active custom capability answer 404.",
	"push_channel":                     "The a2a push channel exists in generation 0.6 only.",
	"a2a_binding":                      "a2a service bindings exist in generation 0.6 (tolerated in 0.7.x).",
	"binding_not_served":               "mcp, a2a and grpc bindings are published as authored but not served by ospbox.",
	"placeholder_in_uri":               "URI templates are only valid in tenants.manifest; URIs elsewhere (and dataschema) must be concrete.",
	"api_key_scheme":                   "apiKey authentication names its header in scheme (default X-Api-Key); in applies to apiKey only.",
	"tenant_template":                  "tenants.manifest must use the variable {tenantId} and no other.",
	"tenant_template_path":             "tenants.manifest normally ends in /.well-known/bsp/{tenantId} (/best/ in 0.9).",
	"empty_catalogue":                  "The commands capability is active but no command schemas exist.",
	"duplicate_agent_id":               "Agent ids must be unique.",
	"type_undefined":                   "An agent accepts a command type no command schema defines, or produces an event type no event schema defines.",
	"type_name":                        "Command and event types are PascalCase.",
	"capability_name":                  "Capability names are dot-separated lower-case segments (OAP: no hyphens).",
	"schema_document_name":             "Schema documents live at <kind>/<kebab-name>/<version>.json.",
	"query_document":                   "Query documents hold response (required), parameters and description, plus x-ospbox-* members.",
	"produces":                         "produces on a command document is an array of PascalCase event types.",
	"type_collision":                   "Two schema names map to the same type; rename one or set x-ospbox-type.",
	"later_revision_feature":           "A member of the later OAP model (which continued as BSP); ospbox serves OAP 2025-07-01 as of v0.1.0.",
	"rules_document":                   "An agent rules file is {\"on\": {\"<EventType>\": {\"produce\": [...], \"data\": {...}}}}.",
	"rules_type_unknown":               "A rules file names an event the agent does not accept or a command it does not produce.",
	"unknown_agent":                    "A side file names an agent the OAP manifest does not declare.",
	"unknown_provider":                 "ospbox.json names a provider the workspace does not have (orchestrator.providers.<slug>, osp.default_provider): the setting applies to nothing.",
	"settings":                         "ospbox.json holds a setting ospbox cannot use (wrong type or unknown value).",
	"unknown_setting":                  "ospbox.json holds a key ospbox does not read (a misspelling, a misplaced setting); the message names the closest key it reads.",
	"scenario_rule":                    "A scenario rule in scenarios/*.json cannot be used (an unknown member, a wrong type, an impossible value, an error code its protocol does not have); the file's last good rules stay loaded.",
	"duplicate_rule_id":                "Two scenario rules share an id; ids are unique across every scenario file.",
}

// RuleDoc returns the documentation line of a rule id.
func RuleDoc(rule string) string {
	if d, ok := ruleDocs[rule]; ok {
		return d
	}
	return rule
}

// RulesMarkdown renders the rule list for docs/validation-rules.md.
func RulesMarkdown() string {
	ids := make([]string, 0, len(ruleDocs))
	for id := range ruleDocs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString("# Validation rules\n\n")
	b.WriteString("Every finding of `ospbox validate`, the Manifests page and `POST /ospbox/v1/validate` carries one of\n")
	b.WriteString("these rule ids, a severity (`error` stops a file from being served; `warning` and `info` never do),\n")
	b.WriteString("the file, a JSON Pointer, and a 1-based line and column counted in characters, with the end of the span.\n")
	b.WriteString("Findings that concern another file list it under `related`. This page is generated from\n")
	b.WriteString("`manifests/rules.go` (`go test ./manifests -run RulesDoc -update`).\n\n")
	b.WriteString("| Rule | Meaning |\n|---|---|\n")
	for _, id := range ids {
		b.WriteString("| `" + id + "` | " + strings.ReplaceAll(ruleDocs[id], "|", "\\|") + " |\n")
	}
	return b.String()
}
