package manifests

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSampleWorkspaceIsValid(t *testing.T) {
	dir := t.TempDir()
	seeded, err := SeedIfEmpty(dir)
	if err != nil || !seeded {
		t.Fatalf("seed: %v %v", seeded, err)
	}
	if again, _ := SeedIfEmpty(dir); again {
		t.Error("a seeded workspace must not be seeded twice")
	}
	w, err := OpenWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w.Config.OSP.DefaultProvider != "acmedb" || w.Config.Listen != "127.0.0.1:7410" {
		t.Errorf("config %+v", w.Config)
	}
	slugs, _ := w.ProviderSlugs()
	if strings.Join(slugs, ",") != "acmedb,skyhost" {
		t.Fatalf("slugs %v", slugs)
	}
	for _, slug := range slugs {
		m, rep := w.LoadOSP(slug)
		if m == nil {
			t.Fatalf("%s: %+v", slug, rep.Errors)
		}
		if len(m.Offerings) < 3 {
			t.Errorf("%s: want several offerings, got %d", slug, len(m.Offerings))
		}
		var free, paid bool
		for _, o := range m.Offerings {
			for _, tr := range o.Tiers {
				free = free || tr.Free()
				paid = paid || !tr.Free()
			}
		}
		if !free || !paid {
			t.Errorf("%s: want free and paid tiers", slug)
		}
	}
	if b := w.LoadBSP(); !b.Report.Valid || b.Generation != "0.8" || len(b.Capabilities) != 3 {
		t.Errorf("bsp %+v", b)
	}
	if o := w.LoadOAP(); !o.Report.Valid || o.Version != "2025-07-01" || len(o.Agents) != 1 {
		t.Errorf("oap %+v", o)
	}
}

func TestOSPDiagnosticsPointAtTheProblem(t *testing.T) {
	tests := []struct {
		name, src, rule string
		line, col       int
	}{
		{"syntax", "{\n  \"osp_version\": \"1.0\",\n  \"provider_id\": x\n}", "json_syntax", 3, 18},
		{"duplicate key", "{\"provider_name\":\"A\",\n \"provider_name\":\"B\"}", "duplicate_key", 2, 2},
		{"bad amount", cManifest(`{"tier_id":"pro","name":"Pro","price":{"amount":"25.5.0","currency":"USD"}}`), "price_amount", 1, 196},
		{"duplicate tier", cManifest(`{"tier_id":"a","name":"A","price":{"amount":"0","currency":"USD"}},{"tier_id":"a","name":"B","price":{"amount":"0","currency":"USD"}}`), "duplicate_tier_id", 1, 0},
		{"bad interval", cManifest(`{"tier_id":"a","name":"A","price":{"amount":"1","currency":"USD","interval":"monthly"}}`), "interval", 1, 0},
		{"empty offering", `{"osp_version":"1.0","provider_id":"p","provider_name":"P","osp_base_url":"https://p/osp/v1","offerings":[{"offering_id":"p/x","tiers":[]}]}`, "empty_offering", 1, 0},
		{"undetected", `{"offerings":[]}`, "dialect_undetected", 0, 0},
	}
	for _, tt := range tests {
		m, rep := ParseOSP("p", "osp.json", []byte(tt.src))
		if m != nil || rep.Valid {
			t.Errorf("%s: want invalid", tt.name)
			continue
		}
		var found *Diagnostic
		for i := range rep.Errors {
			if rep.Errors[i].Rule == tt.rule {
				found = &rep.Errors[i]
				break
			}
		}
		if found == nil {
			t.Errorf("%s: no %s error in %+v", tt.name, tt.rule, rep.Errors)
			continue
		}
		if tt.line != 0 && found.Line != tt.line {
			t.Errorf("%s: line %d, want %d", tt.name, found.Line, tt.line)
		}
		if tt.col != 0 && found.Column != tt.col {
			t.Errorf("%s: column %d, want %d", tt.name, found.Column, tt.col)
		}
	}
}

func cManifest(tiers string) string {
	return `{"osp_version":"1.0","provider_id":"p","provider_name":"P","osp_base_url":"https://p/osp/v1","offerings":[{"offering_id":"p/x","name":"X","tiers":[` + tiers + `]}]}`
}

func TestDialectDetection(t *testing.T) {
	b := `{"osp_version":"1.0","manifest_id":"m","manifest_version":1,"published_at":"2026-01-01T00:00:00Z",
	 "provider":{"provider_id":"com.example","display_name":"Ex","homepage_url":"https://example.com"},
	 "accepted_payment_methods":["free"],"endpoints":{"base_url":"https://api.example.com"},
	 "offerings":[{"offering_id":"ex/db","name":"DB","description":"A database","category":"database","credentials_schema":{"type":"object"},
	   "tiers":[{"tier_id":"free","name":"Free","price":{"amount":"0","currency":"USD","interval":"monthly"}}]}]}`
	m, rep := ParseOSP("ex", "osp.json", []byte(b))
	if m == nil || m.Dialect != DialectB || m.ProviderName != "Ex" {
		t.Fatalf("B manifest: %+v", rep)
	}
	if m.Offerings[0].Tiers[0].Price.Interval != "P1M" {
		t.Errorf("B interval not normalised: %q", m.Offerings[0].Tiers[0].Price.Interval)
	}
	a := `{"manifest_id":"mf_ex","manifest_version":1,"provider_id":"ex","display_name":"Ex",
	 "endpoints":{"provision":"/osp/v1/provision","deprovision":"/osp/v1/resources/{resource_id}","credentials":"/osp/v1/resources/{resource_id}/credentials","status":"/osp/v1/resources/{resource_id}/status","health":"/osp/v1/health"},
	 "offerings":[{"offering_id":"ex/db","name":"DB","category":"database","credentials_schema":{"type":"object"},"tiers":[{"tier_id":"free","name":"Free","price":{"amount":"0","currency":"USD"}}]}]}`
	if m, rep := ParseOSP("ex", "osp.json", []byte(a)); m == nil || m.Dialect != DialectA {
		t.Fatalf("A manifest: %+v", rep)
	}
}

func TestConfigErrorsCarryPositions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{\n  \"listen\": \"127.0.0.1:1\",\n  \"listen\": \"x\"\n}"), 0o644)
	if _, err := OpenWorkspace(dir); err == nil || !strings.Contains(err.Error(), ":3:3: duplicate setting") {
		t.Errorf("err = %v", err)
	}
}

func TestProviderKeyIsStable(t *testing.T) {
	w := &Workspace{Dir: t.TempDir()}
	k1, err := w.ProviderKey("acmedb")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := w.ProviderKey("acmedb")
	if err != nil || k1.PublicB64() != k2.PublicB64() || !strings.HasPrefix(k1.KeyID, "ospbox-acmedb-") {
		t.Fatalf("keys differ or bad id: %v %s %s", err, k1.KeyID, k2.KeyID)
	}
	if st, _ := os.Stat(filepath.Join(w.KeysDir(), "acmedb.jwk")); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode())
	}
	if _, err := w.ProviderKey("../evil"); err == nil {
		t.Error("a slug with a path must be refused")
	}
}

func FuzzParseOSP(f *testing.F) {
	data, _ := os.ReadFile("testdata/examples-acmedb.json")
	f.Add(data)
	f.Add([]byte(cManifest(`{"tier_id":"a","name":"A","price":{"amount":"1","currency":"USD","interval":"P1M"}}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, rep := ParseOSP("p", "osp.json", data)
		if (m != nil) != rep.Valid {
			t.Fatalf("manifest presence and validity disagree")
		}
		if m != nil {
			ServedManifest(m, ServeOptions{MountURL: "http://127.0.0.1:1", Style: "brace", Key: rfc8032Test2(t)})
		}
	})
}

// TestEveryEmittedRuleIsDocumented reads the validator's source for rule ids and checks that
// each has a documentation line, so SARIF rules and the docs never show a bare id.
func TestEveryEmittedRuleIsDocumented(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`\br\.(?:at|atOffset|related)\(Severity\w+, [^,]+, "([a-z_]+)"`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen++
			if RuleDoc(m[1]) == m[1] {
				t.Errorf("%s: rule %q has no documentation in rules.go", f, m[1])
			}
		}
	}
	if seen < 15 {
		t.Errorf("found only %d rule uses; the pattern is stale", seen)
	}
}

// TestEverySchemaRuleIsDocumented checks the x-rule names in the embedded schemas.
func TestEverySchemaRuleIsDocumented(t *testing.T) {
	re := regexp.MustCompile(`"x-rule": "([a-z_]+)"`)
	for _, name := range SchemaNames() {
		data, _ := schemaFiles.ReadFile("schemas/" + name)
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if RuleDoc(m[1]) == m[1] {
				t.Errorf("%s: rule %q has no documentation", name, m[1])
			}
		}
	}
	for _, rule := range keywordRules {
		if RuleDoc(rule) == rule {
			t.Errorf("keyword rule %q has no documentation", rule)
		}
	}
}

func TestEveryEmbeddedSchemaCompiles(t *testing.T) {
	set, err := loadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range SchemaNames() {
		if _, err := set.schema(name); err != nil {
			t.Error(err)
		}
	}
}

var updateDocs = flag.Bool("update", false, "rewrite docs/validation-rules.md")

// TestRulesDocIsCurrent keeps docs/validation-rules.md in step with the rules in the code.
func TestRulesDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "validation-rules.md")
	if *updateDocs {
		os.WriteFile(path, []byte(RulesMarkdown()), 0o644)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != RulesMarkdown() {
		t.Errorf("docs/validation-rules.md is stale: go test ./manifests -run RulesDoc -update")
	}
}

func TestOrchestratorSettingsDefaultsAndChecks(t *testing.T) {
	cfg, err := decodeConfig([]byte(`{}`))
	if err != nil || cfg.Orchestrator.User.Email != "dev@example.test" || cfg.Orchestrator.Caps.PerProvider.Amount != "100.00" || cfg.Orchestrator.Caps.User.Amount != "250.00" {
		t.Fatalf("defaults: %+v %v", cfg.Orchestrator, err)
	}
	cfg, err = decodeConfig([]byte(`{"orchestrator": {"caps": {"per_provider": {"amount": "40.00", "currency": "USD"}}, "providers": {"acmedb": {}}}}`))
	if err != nil || cfg.Orchestrator.Caps.User.Amount != "100.00" || cfg.Orchestrator.Providers["acmedb"].AccountCreation != "attested" {
		t.Errorf("the user cap follows the provider cap, account creation defaults to attested: %+v %v", cfg.Orchestrator, err)
	}
	for body, want := range map[string]string{
		`{"orchestrator": {"user": {"email": "nobody"}}}`:                                      "orchestrator.user.email",
		`{"orchestrator": {"providers": {"acmedb": {"account_creation": "magic"}}}}`:           "account_creation",
		`{"orchestrator": {"providers": {"acmedb": {"scopes": ["provision", "admin"]}}}}`:      "orchestrator.providers.acmedb.scopes has \"admin\"",
		`{"orchestrator": {"caps": {"user": {"amount": "ten", "currency": "USD"}}}}`:           "orchestrator.caps.user",
		`{"orchestrator": {"caps": {"user": {"amount": "10.00", "currency": "EUR"}}}}`:         "one currency",
		`{"orchestrator": {"caps": {"per_provider": {"amount": "10.00", "currency": "usd"}}}}`: "orchestrator.caps.per_provider",
	} {
		if _, err := decodeConfig([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", body, err, want)
		}
	}
}
