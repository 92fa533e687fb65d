package frontend

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/mock"
)

// call sends a request to the sandbox as an agent would and returns its status.
func call(sb *mock.Sandbox, method, path, body string) int {
	req := httptest.NewRequest(method, "http://127.0.0.1:7410"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	st, _ := sb.Do(req)
	return st
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestScenariosPageAddsTogglesAndDeletesRules drives the page's forms as the browser does and
// checks the namespace's rules through the API the page shares.
func TestScenariosPageAddsTogglesAndDeletesRules(t *testing.T) {
	f := newFixture(t)
	_, page := f.get(t, "/ui/scenarios", authed())
	if !strings.Contains(page, "No rules: every call gets its normal answer") || !strings.Contains(page, `name="rule"`) {
		t.Fatalf("empty page: %s", cutOut(page, `<main`, `</main>`))
	}
	rule := `{"id": "down", "match": {"operation": "osp.health"}, "when": {"first": 1}, "effect": {"error": "provider_unavailable", "retry_after_seconds": 5}}`
	st, body := f.postForm(t, "/ui/scenarios", url.Values{"op": {"save"}, "rule": {rule}})
	if st != 200 || !strings.Contains(body, "Rule down is added") || !strings.Contains(body, `data-rule="down"`) {
		t.Fatalf("add: %d %s", st, cutOut(body, `<main`, `</main>`))
	}
	row := cutOut(body, `data-rule="down"`, `</tr>`)
	for _, want := range []string{"osp.health", "the first 1", "answers provider_unavailable, Retry-After 5 s", "0 / 0"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q: %s", want, row)
		}
	}
	// A bad rule is not saved, says why, and keeps the text for fixing.
	st, body = f.postForm(t, "/ui/scenarios", url.Values{"op": {"save"}, "rule": {`{"effect": {"error": "nope"}}`}})
	if !strings.Contains(body, "The rule is not saved: /effect/error") {
		t.Errorf("bad rule: %d %s", st, cutOut(body, `<main`, `</main>`))
	}
	if n := len(f.sb.Scenarios().List()); n != 1 {
		t.Errorf("%d rules after a refused one, want 1", n)
	}
	// The rule applies to the namespace's next matching call.
	if resp := call(f.sb, "GET", "/providers/acmedb/osp/v1/health", ""); resp != 503 {
		t.Errorf("health under the rule: %d", resp)
	}
	st, body = f.postForm(t, "/ui/scenarios", url.Values{"op": {"disable"}, "id": {"down"}})
	if st != 200 || !strings.Contains(cutOut(body, `data-rule="down"`, `</tr>`), "off") || f.sb.Scenarios().List()[0].Enabled {
		t.Errorf("disable: %d %s", st, body)
	}
	// Editing shows the rule without its counters; replacing keeps its id.
	_, page = f.get(t, "/ui/scenarios?edit=down", authed())
	if !strings.Contains(page, "Edit rule <code>down</code>") || strings.Contains(cutOut(page, `id="rule-text"`, `</textarea>`), "hits") {
		t.Errorf("edit: %s", cutOut(page, `id="rule-card"`, `</form>`))
	}
	st, body = f.postForm(t, "/ui/scenarios", url.Values{"op": {"save"}, "edit": {"down"}, "rule": {`{"effect": {"latency_ms": 10}}`}})
	if !strings.Contains(body, "Rule down is replaced") || !strings.Contains(cutOut(body, `data-rule="down"`, `</tr>`), "waits 10 ms") {
		t.Errorf("replace: %d %s", st, cutOut(body, `<main`, `</main>`))
	}
	st, body = f.postForm(t, "/ui/scenarios", url.Values{"op": {"delete"}, "id": {"down"}})
	if st != 200 || strings.Contains(body, `data-rule="down"`) || len(f.sb.Scenarios().List()) != 0 {
		t.Errorf("delete: %d", st)
	}
}

// TestFailCallsLikeThis: a request's page offers a rule prefilled from the request, and the
// rule editor's check names the place of a mistake.
func TestFailCallsLikeThis(t *testing.T) {
	f := newFixture(t)
	call(f.sb, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/redis","tier_id":"free"}`)
	f.sb.FlushRequestLog()
	reqs, _ := f.db.RecentRequests(t.Context(), 1)
	id := reqs[0].ID
	_, detail := f.get(t, "/ui/requests/"+itoa(id), authed())
	if !strings.Contains(detail, "/ui/scenarios?from_request="+itoa(id)) {
		t.Fatalf("no Fail calls like this on the request's page")
	}
	_, page := f.get(t, "/ui/scenarios?from_request="+itoa(id), authed())
	draft := cutOut(page, `id="rule-text"`, `</textarea>`)
	for _, want := range []string{`&#34;operation&#34;: &#34;osp.provision&#34;`, `&#34;provider&#34;: &#34;acmedb&#34;`, `&#34;path&#34;: &#34;/osp/v1/provision&#34;`, `&#34;times&#34;: 1`} {
		if !strings.Contains(draft, want) {
			t.Errorf("draft lacks %s: %s", want, draft)
		}
	}
	st, body := f.htmxPost(t, "/ui/scenarios/check", "application/json", strings.NewReader(`{"path": "", "text": "{\n  \"effect\": {\"latency_ms\": -1}\n}"}`))
	if st != 200 || !strings.Contains(body, `"pointer":"/effect/latency_ms"`) || !strings.Contains(body, `"line":2`) {
		t.Errorf("check: %d %s", st, body)
	}
}

// TestABrokenScenarioFileShowsOnTheManifestsPage: the file is listed with its error, the editor
// checks it, and its last good rule stays loaded.
func TestABrokenScenarioFileShowsOnTheManifestsPage(t *testing.T) {
	f := newFixture(t)
	dir := f.sb.Workspace().Dir
	os.MkdirAll(filepath.Join(dir, "scenarios"), 0o755)
	file := filepath.Join(dir, "scenarios", "down.json")
	os.WriteFile(file, []byte(`{"rules": [{"id": "down", "match": {"operation": "osp.health"}, "effect": {"error": "provider_unavailable"}}]}`), 0o644)
	f.sb.ReloadPaths(t.Context(), []string{"scenarios/down.json"})
	os.WriteFile(file, []byte(`{"rules": [{"id": "down", "match": {"operation": "osp.helth"}, "effect": {"error": "provider_unavailable"}}]}`), 0o644)
	f.sb.ReloadPaths(t.Context(), []string{"scenarios/down.json"})
	_, page := f.get(t, "/ui/manifests", authed())
	if !strings.Contains(page, "scenarios/down.json") {
		t.Fatalf("the Manifests page does not list the scenario file")
	}
	_, file1 := f.get(t, "/ui/manifests/file?path=scenarios/down.json", authed())
	if !strings.Contains(file1, "osp.helth") || !strings.Contains(file1, "scenario_rule") {
		t.Errorf("the file's page lacks its text or its finding: %s", cutOut(file1, `<main`, `</main>`))
	}
	if rules := f.sb.Scenarios().List(); len(rules) != 1 || rules[0].Match.Operation != "osp.health" {
		t.Errorf("the last good rule is not loaded: %+v", rules)
	}
}
