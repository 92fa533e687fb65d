package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const baseC = `{
  "osp_version": "1.0",
  "provider_id": "acme.example",
  "provider_name": "Acme",
  "osp_base_url": "https://api.acme.example/osp/v1",
  "accepted_payment_methods": ["free", "stripe_spt"],
  "offerings": [
    {
      "offering_id": "acme/db",
      "name": "DB",
      "category": "database",
      "credentials_schema": {"type": "object"},
      "tiers": [
        {"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD"}},
        {"tier_id": "pro", "name": "Pro", "price": {"amount": "25.00", "currency": "USD", "interval": "P1M"}}
      ]
    }
  ]
}`

const baseA = `{
  "manifest_id": "mf_acme",
  "manifest_version": 1,
  "provider_id": "acme",
  "display_name": "Acme",
  "endpoints": {"provision": "/osp/v1/provision", "deprovision": "/osp/v1/resources/{resource_id}", "credentials": "/osp/v1/resources/{resource_id}/credentials", "status": "/osp/v1/resources/{resource_id}/status", "health": "/osp/v1/health"},
  "offerings": [{"offering_id": "acme/db", "name": "DB", "category": "database", "credentials_schema": {"type": "object"},
    "tiers": [{"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD"}}]}]
}`

const baseB = `{
  "osp_version": "1.0",
  "manifest_id": "6f1c2a4e-8d3b-4c5e-9f7a-1b2c3d4e5f60",
  "manifest_version": 1,
  "published_at": "2026-01-01T00:00:00Z",
  "provider": {"provider_id": "com.acme", "display_name": "Acme", "homepage_url": "https://acme.example"},
  "accepted_payment_methods": ["free"],
  "endpoints": {"base_url": "https://api.acme.example"},
  "offerings": [{"offering_id": "acme/db", "name": "DB", "description": "A database", "category": "database", "credentials_schema": {"type": "object"},
    "tiers": [{"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD", "interval": "monthly"}}]}]
}`

const baseBSP = `{
  "bsp": {
    "version": "0.8.1",
    "authentication": {"type": "apiKey", "scheme": "X-Api-Key", "in": "header"},
    "services": {"io.bsp.agents": {"version": "0.8.1", "description": "Agents", "http": {"endpoint": "https://agents.example/"}}},
    "capabilities": [
      {"name": "io.bsp.agents.commands", "version": "0.8.1", "description": "Commands", "spec": "https://bsp.example/spec", "schema": "https://bsp.example/schema.json",
       "endpoints": [{"method": "GET", "path": "/commands"}, {"method": "POST", "path": "/commands"}]}
    ],
    "agents": [{"id": "shop", "name": "Shop", "accepts": ["PlaceOrder"], "produces": ["OrderPlaced"], "status": "running"}]
  }
}`

const baseOAP = `{
  "oap": {
    "version": "2025-07-01",
    "services": {"io.oap.agents": {"version": "2025-07-01", "description": "Agents", "rest": {"schema": "https://oap.example/openapi.json", "endpoint": "https://agents.example/"}}},
    "capabilities": [
      {"name": "io.oap.agents.registry", "version": "2025-07-01", "description": "Registry", "spec": "https://oap.example/spec", "schema": "https://oap.example/registry.json"},
      {"name": "io.oap.agents.lifecycle", "version": "2025-07-01", "description": "Lifecycle", "spec": "https://oap.example/spec", "schema": "https://oap.example/lifecycle.json", "extends": "io.oap.agents.registry"}
    ],
    "agents": [{"id": "triage", "name": "Triage", "accepts": ["TicketOpened"], "produces": ["LabelTicket"], "status": "running"}]
  }
}`

// ruleCase is one rule with a document that breaks it and one that does not.
type ruleCase struct {
	rule     string
	base     string
	fail     [2]string // replace fail[0] by fail[1] in base to break the rule
	pass     [2]string // replace pass[0] by pass[1] to get a close document that keeps it (empty: base)
	severity Severity
}

func TestEveryRuleHasAFailingAndAPassingCase(t *testing.T) {
	cases := []ruleCase{
		{"json_syntax", baseC, [2]string{`"acme/db",`, `"acme/db",,`}, [2]string{}, SeverityError},
		{"duplicate_key", baseC, [2]string{`"name": "DB",`, `"name": "DB", "name": "DB2",`}, [2]string{}, SeverityError},
		{"not_an_object", baseC, [2]string{baseC, `[1, 2]`}, [2]string{}, SeverityError},
		{"dialect_undetected", baseC, [2]string{`"provider_name": "Acme",
  "osp_base_url": "https://api.acme.example/osp/v1",`, ``}, [2]string{}, SeverityError},
		{"required", baseC, [2]string{`"provider_id": "acme.example",`, ``}, [2]string{}, SeverityError},
		{"type", baseC, [2]string{`"name": "DB"`, `"name": 7`}, [2]string{}, SeverityError},
		{"enum", baseC, [2]string{`"osp_version": "1.0"`, `"osp_version": "2.0"`}, [2]string{`"osp_version": "1.0"`, `"osp_version": "1.1"`}, SeverityError},
		{"offering_id", baseC, [2]string{`"acme/db"`, `"Acme DB"`}, [2]string{`"acme/db"`, `"acme/db-2"`}, SeverityError},
		{"tier_id", baseC, [2]string{`"tier_id": "pro"`, `"tier_id": "Pro Plan"`}, [2]string{`"tier_id": "pro"`, `"tier_id": "pro_plan"`}, SeverityError},
		{"price_amount", baseC, [2]string{`"25.00"`, `"25,00"`}, [2]string{`"25.00"`, `"25"`}, SeverityError},
		{"currency", baseC, [2]string{`"currency": "USD", "interval"`, `"currency": "usd", "interval"`}, [2]string{}, SeverityError},
		{"currency_unusual", baseC, [2]string{`"currency": "USD", "interval"`, `"currency": "JPY", "interval"`}, [2]string{`"currency": "USD", "interval"`, `"currency": "EUR", "interval"`}, SeverityWarning},
		{"interval", baseC, [2]string{`"P1M"`, `"monthly"`}, [2]string{`"P1M"`, `"P1Y"`}, SeverityError},
		{"payment_method", baseC, [2]string{`"stripe_spt"]`, `"cash"]`}, [2]string{`"stripe_spt"]`, `"com.example.pay"]`}, SeverityError},
		{"category", baseC, [2]string{`"database"`, `"databases"`}, [2]string{`"database"`, `"ml"`}, SeverityError},
		{"url", baseC, [2]string{`"https://api.acme.example/osp/v1"`, `"api.acme.example/osp/v1"`}, [2]string{}, SeverityError},
		{"no_offerings", baseC, [2]string{`"offerings": [`, `"offerings": [], "x": [`}, [2]string{}, SeverityError},
		{"empty_offering", baseC, [2]string{`"tiers": [`, `"tiers": [], "t": [`}, [2]string{}, SeverityError},
		{"duplicate_tier_id", baseC, [2]string{`"tier_id": "pro"`, `"tier_id": "free"`}, [2]string{}, SeverityError},
		{"duplicate_offering_id", baseC, [2]string{`]
    }
  ]`, `]
    },
    {"offering_id": "acme/db", "name": "X", "category": "database", "credentials_schema": {"type": "object"}, "tiers": [{"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD"}}]}
  ]`}, [2]string{`]
    }
  ]`, `]
    },
    {"offering_id": "acme/cache", "name": "X", "category": "database", "credentials_schema": {"type": "object"}, "tiers": [{"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD"}}]}
  ]`}, SeverityError},
		{"offering_prefix_mismatch", baseC, [2]string{`]
    }
  ]`, `]
    },
    {"offering_id": "other/cache", "name": "X", "category": "database", "credentials_schema": {"type": "object"}, "tiers": [{"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD"}}]}
  ]`}, [2]string{}, SeverityWarning},
		{"unknown_field", baseC, [2]string{`"name": "DB",`, `"name": "DB", "nmae": "x",`}, [2]string{}, SeverityWarning},
		{"name_missing", baseC, [2]string{`"name": "DB",`, ``}, [2]string{}, SeverityWarning},
		{"category_missing", baseC, [2]string{`"category": "database",`, ``}, [2]string{}, SeverityWarning},
		{"credentials_schema_missing", baseC, [2]string{`"credentials_schema": {"type": "object"},`, ``}, [2]string{}, SeverityWarning},
		{"schema_invalid", baseC, [2]string{`{"type": "object"}`, `{"type": "objekt"}`}, [2]string{`{"type": "object"}`, `{"type": "object", "required": ["k"]}`}, SeverityError},
		{"provision_time_clamped", baseC, [2]string{`"name": "DB",`, `"name": "DB", "estimated_provision_seconds": 900,`}, [2]string{`"name": "DB",`, `"name": "DB", "estimated_provision_seconds": 300,`}, SeverityWarning},
		{"sunset_too_soon", baseC, [2]string{`"name": "DB",`, `"name": "DB", "deprecated_at": "2026-01-01T00:00:00Z", "sunset_at": "2026-02-01T00:00:00Z",`}, [2]string{`"name": "DB",`, `"name": "DB", "deprecated_at": "2026-01-01T00:00:00Z", "sunset_at": "2026-06-01T00:00:00Z",`}, SeverityWarning},
		{"free_not_accepted", baseC, [2]string{`["free", "stripe_spt"]`, `["stripe_spt"]`}, [2]string{}, SeverityWarning},
		{"paid_tier_free_only", baseC, [2]string{`["free", "stripe_spt"]`, `["free"]`}, [2]string{}, SeverityWarning},
		{"trust_tier_string", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "trust_tier_required": "basic",`}, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "trust_tier_required": 1,`}, SeverityWarning},
		{"base_url_suffix", baseC, [2]string{`/osp/v1"`, `/api"`}, [2]string{}, SeverityWarning},
		{"tier_reference", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "identity": {"identity_required_for_tiers": ["enterprise"]},`}, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "identity": {"identity_required_for_tiers": ["pro"]},`}, SeverityWarning},
		{"mixed_dialect", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "display_name": "Acme",`}, [2]string{}, SeverityWarning},
		{"signature_incomplete", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "provider_public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",`}, [2]string{}, SeverityError},
		{"signature_invalid", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "provider_public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "provider_signature": "` + strings.Repeat("A", 86) + `",`}, [2]string{}, SeverityError},
		{"unknown_member", baseA, [2]string{`"display_name": "Acme",`, `"display_name": "Acme", "colour": "red",`}, [2]string{}, SeverityError},
		{"pattern", baseA, [2]string{`"mf_acme"`, `"MF-1"`}, [2]string{`"mf_acme"`, `"mf_acme_2"`}, SeverityError},
		{"endpoint_path", baseA, [2]string{`"/osp/v1/health"`, `"osp/v1/health"`}, [2]string{}, SeverityError},
		{"currency", baseA, [2]string{`"currency": "USD"`, `"currency": "JPY"`}, [2]string{}, SeverityError},
		{"interval", baseB, [2]string{`"monthly"`, `"P1M"`}, [2]string{`"monthly"`, `"yearly"`}, SeverityError},
		{"url", baseB, [2]string{`"https://api.acme.example"`, `"http://api.acme.example"`}, [2]string{`"https://api.acme.example"`, `"http://127.0.0.1:7410"`}, SeverityError},
		{"trust_tier", baseB, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "trust_tier_required": 2,`}, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "trust_tier_required": "verified",`}, SeverityError},

		{"root_key", baseBSP, [2]string{`"bsp": {`, `"bsp": {}, "x": {`}, [2]string{}, SeverityError},
		{"version_invalid", baseBSP, [2]string{`"version": "0.8.1",
    "authentication"`, `"version": "{{BSP_VERSION}}",
    "authentication"`}, [2]string{}, SeverityError},
		{"root_key_mismatch", baseBSP, [2]string{`"version": "0.8.1",
    "authentication"`, `"version": "0.9.0",
    "authentication"`}, [2]string{}, SeverityError},
		{"namespace_mismatch", baseBSP, [2]string{`"name": "io.bsp.agents.commands"`, `"name": "io.best.agents.commands"`}, [2]string{}, SeverityError},
		{"unknown_reserved_capability", baseBSP, [2]string{`"name": "io.bsp.agents.commands"`, `"name": "io.bsp.agents.registry"`}, [2]string{}, SeverityError},
		{"reserved_needs_spec", baseBSP, [2]string{`"spec": "https://bsp.example/spec", `, ``}, [2]string{}, SeverityError},
		{"service_unresolved", baseBSP, [2]string{`"description": "Commands",`, `"description": "Commands", "service": "io.bsp.other",`}, [2]string{`"description": "Commands",`, `"description": "Commands", "service": "io.bsp.agents",`}, SeverityError},
		{"http_binding_missing", baseBSP, [2]string{`, "http": {"endpoint": "https://agents.example/"}`, ``}, [2]string{}, SeverityError},
		{"placeholder_in_uri", baseBSP, [2]string{`"https://agents.example/"`, `"https://{region}.agents.example/"`}, [2]string{}, SeverityError},
		{"unknown_route", baseBSP, [2]string{`{"method": "POST", "path": "/commands"}`, `{"method": "POST", "path": "/commands"}, {"method": "GET", "path": "/orders"}`}, [2]string{}, SeverityWarning},
		{"route_missing", baseBSP, [2]string{`, {"method": "POST", "path": "/commands"}`, ``}, [2]string{}, SeverityWarning},
		{"planned_with_endpoints", baseBSP, [2]string{`"description": "Commands",`, `"description": "Commands", "status": "planned",`}, [2]string{`"description": "Commands",`, `"description": "Commands", "status": "partial",`}, SeverityWarning},
		{"api_key_scheme", baseBSP, [2]string{`"scheme": "X-Api-Key", `, ``}, [2]string{}, SeverityWarning},
		{"tenant_scoped_capability_in_root", baseBSP, [2]string{`"version": "0.8.1",
    "authentication"`, `"version": "0.8.1", "tenants": {"manifest": "https://agents.example/.well-known/bsp/{tenantId}"},
    "authentication"`}, [2]string{}, SeverityError},
		{"tenant_template", baseBSP, [2]string{`"capabilities": [`, `"tenants": {"manifest": "https://agents.example/.well-known/bsp/{tenant}"}, "capabilities": [], "x": [`}, [2]string{`"capabilities": [`, `"tenants": {"manifest": "https://agents.example/.well-known/bsp/{tenantId}"}, "capabilities": [], "x": [`}, SeverityError},
		{"duplicate_agent_id", baseBSP, [2]string{`"status": "running"}]`, `"status": "running"}, {"id": "shop", "name": "Shop 2", "accepts": [], "produces": [], "status": "paused"}]`}, [2]string{}, SeverityError},
		{"type_name", baseBSP, [2]string{`["PlaceOrder"]`, `["place_order"]`}, [2]string{}, SeverityError},
		{"binding_not_served", baseBSP, [2]string{`"description": "Agents",`, `"description": "Agents", "grpc": {"endpoint": "agents.example:443"},`}, [2]string{}, SeverityInfo},
		{"a2a_binding", baseBSP, [2]string{`"description": "Agents",`, `"description": "Agents", "a2a": {"agent_card_url": "https://agents.example/card"},`}, [2]string{}, SeverityError},
		{"endpoint_not_simulated", baseBSP, [2]string{`"name": "io.bsp.agents.commands"`, `"name": "com.shop.refunds", "service": "io.bsp.agents"`}, [2]string{}, SeverityWarning},

		{"version_unsupported", baseOAP, [2]string{`"version": "2025-07-01",
    "services"`, `"version": "2025-09-01",
    "services"`}, [2]string{}, SeverityError},
		{"later_revision_feature", baseOAP, [2]string{`"description": "Registry",`, `"description": "Registry", "endpoints": [],`}, [2]string{}, SeverityError},
		{"lifecycle_without_registry", baseOAP, [2]string{`"name": "io.oap.agents.registry"`, `"name": "io.oap.agents.events"`}, [2]string{}, SeverityError},
		{"extends_registry", baseOAP, [2]string{`, "extends": "io.oap.agents.registry"`, ``}, [2]string{}, SeverityWarning},
		{"extends_unresolved", baseOAP, [2]string{`"description": "Registry",`, `"description": "Registry", "extends": "io.oap.agents.nothing",`}, [2]string{}, SeverityError},
		{"unknown_reserved_capability", baseOAP, [2]string{`"name": "io.oap.agents.registry"`, `"name": "io.oap.agents.registry2"`}, [2]string{}, SeverityError},
		{"service_unresolved", baseOAP, [2]string{`"io.oap.agents": {`, `"io.oap.agentz": {`}, [2]string{}, SeverityError},
		{"type_name", baseOAP, [2]string{`["LabelTicket"]`, `["label-ticket"]`}, [2]string{}, SeverityWarning},
		{"format", baseB, [2]string{`"2026-01-01T00:00:00Z"`, `"yesterday"`}, [2]string{}, SeverityError},
		{"min_length", baseC, [2]string{`"provider_name": "Acme"`, `"provider_name": ""`}, [2]string{}, SeverityError},
		{"max_length", baseB, [2]string{`"name": "DB", "description"`, `"name": "` + strings.Repeat("D", 129) + `", "description"`}, [2]string{}, SeverityError},
		{"minimum", baseC, [2]string{`"name": "DB",`, `"name": "DB", "estimated_provision_seconds": -1,`}, [2]string{}, SeverityError},
		{"maximum", baseC, [2]string{`"name": "DB",`, `"name": "DB", "sandbox_ttl_seconds": 9999999,`}, [2]string{}, SeverityError},
		{"max_items", baseB, [2]string{`"name": "DB", "description"`, `"name": "DB", "tags": [` + strings.Repeat(`"t",`, 20) + `"t"], "description"`}, [2]string{}, SeverityError},
		{"key", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "provider_public_key": "short", "provider_signature": "` + strings.Repeat("A", 86) + `",`}, [2]string{}, SeverityError},
		{"signature_format", baseC, [2]string{`"osp_version": "1.0",`, `"osp_version": "1.0", "provider_public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "provider_signature": "short",`}, [2]string{}, SeverityError},
		{"push_channel", baseBSP, [2]string{`"description": "Commands",`, `"description": "Commands", "push": {"a2a": true},`}, [2]string{`"description": "Commands",`, `"description": "Commands", "push": {"sse": true},`}, SeverityError},
		{"tenant_template_path", baseBSP, [2]string{`"capabilities": [`, `"tenants": {"manifest": "https://agents.example/tenants/{tenantId}"}, "capabilities": [], "x": [`}, [2]string{`"capabilities": [`, `"tenants": {"manifest": "https://agents.example/.well-known/bsp/{tenantId}"}, "capabilities": [], "x": [`}, SeverityWarning},
		{"possibly_tenant_scoped", baseBSP, [2]string{`"capabilities": [
      {"name": "io.bsp.agents.commands"`, `"tenants": {"manifest": "https://agents.example/.well-known/bsp/{tenantId}"}, "capabilities": [
      {"name": "com.shop.refunds", "service": "io.bsp.agents"`}, [2]string{}, SeverityWarning},
		{"capability_name", baseOAP, [2]string{`"name": "io.oap.agents.registry"`, `"name": "io.oap.agents-registry"`}, [2]string{}, SeverityError},
	}
	tested := map[string]bool{}
	for _, tc := range cases {
		tested[tc.rule] = true
		failing := replaceOnce(t, tc.base, tc.fail)
		if rep := validateFor(tc.base, failing); !hasRule(rep, tc.rule, tc.severity) {
			t.Errorf("%s: the failing case does not report it (%s):\n%+v", tc.rule, tc.severity, append(rep.Errors, rep.Warnings...))
		}
		passing := tc.base
		if tc.pass[0] != "" {
			passing = replaceOnce(t, tc.base, tc.pass)
		}
		if rep := validateFor(tc.base, passing); hasRule(rep, tc.rule, "") {
			t.Errorf("%s: the passing case reports it:\n%+v", tc.rule, append(rep.Errors, rep.Warnings...))
		}
	}
	// Rules covered elsewhere: the cross-file test, the position tests, or conditions a test
	// cannot provoke through a document (an unreadable file, ospbox's own schema missing).
	elsewhere := []string{"type_undefined", "rules_type_unknown", "type_collision", "schema_document_name", "query_document",
		"produces", "unknown_agent", "empty_catalogue", "rules_document", "unreadable", "schema_unavailable", "file_too_large",
		"unsigned", "any_of", "one_of", "unique_items", "property_names", "min_properties", "max_properties", "not_allowed",
		"schema", "min_items", "settings", "unknown_setting", "base_url_not_served", "unknown_provider", "lifecycle_without_registry", "duplicate_agent_id", "extends_unresolved",
		"scenario_rule", "duplicate_rule_id"}
	for rule := range ruleDocs {
		if !tested[rule] && !contains(elsewhere, rule) {
			t.Errorf("rule %s has no failing/passing case", rule)
		}
	}
}

func replaceOnce(t *testing.T, s string, r [2]string) string {
	t.Helper()
	if !strings.Contains(s, r[0]) {
		t.Fatalf("test case: %q not found", r[0])
	}
	return strings.Replace(s, r[0], r[1], 1)
}

func validateFor(base, doc string) Report {
	switch base {
	case baseBSP:
		return ValidateData("bsp/manifest.json", "bsp", []byte(doc))
	case baseOAP:
		return ValidateData("oap/manifest.json", "oap", []byte(doc))
	}
	return ValidateData("providers/acme/osp.json", "osp", []byte(doc))
}

func hasRule(rep Report, rule string, sev Severity) bool {
	for _, d := range append(append([]Diagnostic{}, rep.Errors...), rep.Warnings...) {
		if d.Rule == rule && (sev == "" || d.Severity == sev) {
			if d.Line == 0 && d.Pointer != "" && rule != "dialect_undetected" {
				return false // a finding about a place must carry its position
			}
			return true
		}
	}
	return false
}

// TestCrossFileRules covers the rules that compare a manifest with the files beside it.
func TestCrossFileRules(t *testing.T) {
	dir := t.TempDir()
	WriteSamples(dir)
	w, _ := OpenWorkspace(dir)
	write := func(rel, body string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755)
		os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644)
	}
	find := func(reports []Report, file, rule string) *Diagnostic {
		for _, r := range reports {
			if r.File != file {
				continue
			}
			for _, d := range append(append([]Diagnostic{}, r.Errors...), r.Warnings...) {
				if d.Rule == rule {
					return &d
				}
			}
		}
		return nil
	}
	all := func() []Report {
		reps, err := w.ValidateWorkspace()
		if err != nil {
			t.Fatal(err)
		}
		return reps
	}
	for _, rule := range []string{"type_undefined", "rules_type_unknown", "type_collision", "schema_document_name", "query_document", "produces", "unknown_agent"} {
		for _, r := range all() {
			if find([]Report{r}, r.File, rule) != nil {
				t.Fatalf("the sample workspace already reports %s in %s", rule, r.File)
			}
		}
	}
	// An agent accepting a command no schema defines.
	bsp, _ := os.ReadFile(filepath.Join(dir, BSPManifest))
	write(BSPManifest, strings.Replace(string(bsp), `"accepts": ["PlaceOrder", "CancelOrder"]`, `"accepts": ["PlaceOrder", "CancelOrder", "RefundOrder"]`, 1))
	if d := find(all(), BSPManifest, "type_undefined"); d == nil || d.Line == 0 || !strings.Contains(d.Message, "bsp/commands/refund-order/1.0.json") {
		t.Errorf("type_undefined: %+v", d)
	}
	// Two schema names with one type.
	write("bsp/commands/placeorder/1.0.json", `{"type": "object", "x-ospbox-type": "PlaceOrder"}`)
	if d := find(all(), "bsp/commands/placeorder/1.0.json", "type_collision"); d == nil || len(d.Related) != 1 || d.Related[0].File != "bsp/commands/place-order/1.0.json" {
		t.Errorf("type_collision must point at both files: %+v", d)
	}
	write("bsp/commands/Bad_Name/1.0.json", `{"type": "object"}`)
	if find(all(), "bsp/commands/Bad_Name/1.0.json", "schema_document_name") == nil {
		t.Error("schema_document_name")
	}
	write("bsp/queries/order-status/1.0.json", `{"parameters": {"type": "object"}, "extra": 1}`)
	if find(all(), "bsp/queries/order-status/1.0.json", "query_document") == nil {
		t.Error("query_document")
	}
	write("bsp/commands/ship-order/1.0.json", `{"type": "object", "produces": ["order-shipped"]}`)
	if find(all(), "bsp/commands/ship-order/1.0.json", "produces") == nil {
		t.Error("produces")
	}
	// OAP side files.
	write("oap/agents/triage.rules.json", `{"on": {"TicketOpened": {"produce": ["CloseTicket"]}}}`)
	d := find(all(), "oap/agents/triage.rules.json", "rules_type_unknown")
	if d == nil || d.Line == 0 || len(d.Related) != 1 || d.Related[0].File != OAPManifest {
		t.Errorf("rules_type_unknown must point at both files: %+v", d)
	}
	write("oap/agents/ghost.memory.json", `{}`)
	if find(all(), "oap/agents/ghost.memory.json", "unknown_agent") == nil {
		t.Error("unknown_agent")
	}
}

func TestWorkspaceTextValidationAndPaths(t *testing.T) {
	dir := t.TempDir()
	WriteSamples(dir)
	w, _ := OpenWorkspace(dir)
	if rep := w.ValidateText(ConfigFile, []byte(`{"listen": 7410}`)); !hasRule(rep, "settings", SeverityError) {
		t.Errorf("settings: %+v", rep)
	}
	if rep := w.ValidateText(ConfigFile, []byte(`{"osp": {"default_provider": "skyhost"}}`)); !rep.Valid || hasRule(rep, "unknown_setting", "") {
		t.Errorf("valid settings: %+v", rep)
	}
	// Every key ospbox does not read is a warning on its own line and column, naming the closest
	// key it does read; what it reads, lists of settings and free-form maps included, is not.
	settings := "{\n  \"osp\": {\"strict_nonces\": true, \"auth\": {\"strikt\": true}},\n  \"webhook\": {},\n" +
		"  \"identity\": {\"api_keys\": [{\"key\": \"osp_ak_x\", \"subjekt\": \"a\"}]},\n  \"caps\": {\"fx_rates\": {\"EUR\": \"1.08\"}},\n  \"colour\": 1\n}"
	rep := w.ValidateText(ConfigFile, []byte(settings))
	want := map[string]string{
		"/osp/strict_nonces":           `did you mean "osp.strict_nonce"?`,
		"/osp/auth/strikt":             `did you mean "osp.auth.strict"?`,
		"/webhook":                     `did you mean "webhooks"?`,
		"/identity/api_keys/0/subjekt": `did you mean "identity.api_keys[].subject"?`,
		"/colour":                      `ospbox does not read the setting "colour"`,
	}
	got := map[string]Diagnostic{}
	for _, d := range rep.Warnings {
		if d.Rule == "unknown_setting" {
			got[d.Pointer] = d
		}
	}
	for ptr, msg := range want {
		if d, ok := got[ptr]; !ok || !strings.Contains(d.Message, msg) || d.Line == 0 || d.Column == 0 {
			t.Errorf("%s: %+v, want a positioned warning saying %s", ptr, d, msg)
		}
	}
	if len(got) != len(want) || !rep.Valid {
		t.Errorf("unknown settings: %d warnings (%+v), want %d, and the file still valid", len(got), rep.Warnings, len(want))
	}
	if d := got["/osp/strict_nonces"]; d.Line != 2 || d.Column != 11 {
		t.Errorf("the warning points at the key: line %d column %d, want 2:11", d.Line, d.Column)
	}
	bsp, _ := os.ReadFile(filepath.Join(dir, BSPManifest))
	edited := strings.Replace(string(bsp), `"CancelOrder"]`, `"CancelOrder", "RefundOrder"]`, 1)
	if rep := w.ValidateText(BSPManifest, []byte(edited)); !hasRule(rep, "type_undefined", SeverityWarning) {
		t.Errorf("unsaved BSP text must be checked against the workspace catalogue: %+v", rep)
	}
	if rep := w.ValidateText("oap/agents/triage.rules.json", []byte(`{"on": {"Nope": {"produce": []}}}`)); !hasRule(rep, "rules_type_unknown", SeverityError) {
		t.Errorf("unsaved rules text must be checked against the OAP manifest: %+v", rep)
	}
	acme, _ := os.ReadFile(filepath.Join(dir, "providers", "acmedb", "osp.json"))
	for url, warn := range map[string]bool{
		"https://api.acmedb.example/osp/v1":              false,
		"http://127.0.0.1:7410/providers/acmedb/osp/v1":  false,
		"http://127.0.0.1:7410/osp/v1":                   false, // acmedb is the default provider
		"http://acmedb.localhost:7410/osp/v1":            false,
		"http://127.0.0.1:7410/providers/skyhost/osp/v1": true,
		"http://localhost:9999/providers/acmedb/osp/v1":  true,
	} {
		text := strings.Replace(string(acme), "https://api.acmedb.example/osp/v1", url, 1)
		if got := hasRule(w.ValidateText("providers/acmedb/osp.json", []byte(text)), "base_url_not_served", SeverityWarning); got != warn {
			t.Errorf("osp_base_url %s: warning %v, want %v", url, got, warn)
		}
	}
	for text, warn := range map[string]bool{
		`{"orchestrator": {"providers": {"skyhost": {"account_creation": "oauth"}}}}`: false,
		`{"orchestrator": {"providers": {"ghost": {"account_creation": "oauth"}}}}`:   true,
		`{"osp": {"default_provider": "acmedb"}}`:                                     false,
		`{"osp": {"default_provider": "acme"}}`:                                       true,
	} {
		if got := hasRule(w.ValidateText(ConfigFile, []byte(text)), "unknown_provider", SeverityWarning); got != warn {
			t.Errorf("%s: unknown_provider %v, want %v", text, got, warn)
		}
	}
	files := w.EditableFiles()
	for _, want := range []string{ConfigFile, "providers/acmedb/osp.json", BSPManifest, "bsp/commands/place-order/1.0.json", OAPManifest, "oap/agents/triage.rules.json"} {
		if !contains(files, want) {
			t.Errorf("EditableFiles lacks %s: %v", want, files)
		}
	}
	for _, bad := range []string{"", "../x.json", "/etc/passwd.json", ".ospbox/keys/acmedb.jwk", ".ospbox/x.json", "providers/../../x.json", "providers/acmedb/osp.txt", "./ospbox.json"} {
		if _, err := w.ResolveFile(bad); err == nil {
			t.Errorf("ResolveFile(%q) must be refused", bad)
		}
	}
	if p, err := w.ResolveFile("providers/acmedb/osp.json"); err != nil || p != filepath.Join(dir, "providers", "acmedb", "osp.json") {
		t.Errorf("ResolveFile: %s %v", p, err)
	}
}
