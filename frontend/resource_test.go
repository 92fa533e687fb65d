package frontend

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestResourceActionsGoThroughTheProviderAPI(t *testing.T) {
	f := newFixture(t)
	st, res := f.api(t, "POST", "/providers/acmedb/osp/v1/provision",
		`{"offering_id":"acmedb/redis","tier_id":"free","sandbox":{"enabled":true,"ttl_hours":2,"auto_destroy":false}}`)
	if st != 201 {
		t.Fatalf("provision: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	oldToken := res["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
	action := func(form url.Values) string {
		t.Helper()
		st, frag := f.postForm(t, "/ui/resources/"+id+"/action", form)
		if st != 200 {
			t.Fatalf("%v: %d %.300s", form, st, frag)
		}
		return frag
	}
	status := func(token string) (int, map[string]any) {
		req := "/providers/acmedb/osp/v1/resources/" + id
		if token == "" {
			return f.api(t, "GET", req, "")
		}
		return f.apiWith(t, "GET", req, "", token)
	}

	_, page := f.get(t, "/ui/resources/"+id, authed())
	if !strings.Contains(page, "Rotate credentials") || !strings.Contains(page, "in 2 h") || !strings.Contains(page, "active_hours") {
		t.Errorf("detail page lacks actions, countdown or usage: %.500s", page)
	}

	// Rotate from the page: after the grace period the agent's old token is refused.
	if frag := action(url.Values{"op": {"rotate"}}); !strings.Contains(frag, "Rotated") {
		t.Errorf("rotate: %.300s", frag)
	}
	f.api(t, "POST", "/ospbox/v1/clock/advance", `{"seconds": 3000}`)
	if st, b := status(oldToken); st != 401 || b["error"].(map[string]any)["code"] != "credentials_rotated" {
		t.Errorf("old token after rotation and grace: %d %v", st, b)
	}
	_, revealed := f.get(t, "/ui/resources/"+id+"/credentials", authed())
	if !strings.Contains(revealed, "resource_access_token") || strings.Contains(revealed, oldToken) || !strings.Contains(revealed, "osp_rat_") {
		t.Errorf("revealed credentials: %.400s", revealed)
	}

	// Extend the TTL, then promote; the API reports both.
	_, before := status("")
	action(url.Values{"op": {"extend"}, "seconds": {"86400"}})
	_, after := status("")
	if before["expires_at"] == after["expires_at"] || after["expires_at"] == nil {
		t.Errorf("extend: expires_at %v → %v", before["expires_at"], after["expires_at"])
	}
	if frag := action(url.Values{"op": {"promote"}}); !strings.Contains(frag, "Promoted") {
		t.Errorf("promote: %.300s", frag)
	}
	if _, b := status(""); b["sandbox"] != false {
		t.Errorf("after promote: %v", b)
	}
	// A failed action shows the provider's error: the free tier is already the tier.
	if frag := action(url.Values{"op": {"upgrade"}, "tier_id": {"free"}}); !strings.Contains(frag, "tier_change_not_allowed") {
		t.Errorf("no-op tier change: %.300s", frag)
	}
	if frag := action(url.Values{"op": {"upgrade"}, "tier_id": {"pay-as-you-go"}}); !strings.Contains(frag, "Tier changed") {
		t.Errorf("upgrade: %.300s", frag)
	}
	if frag := action(url.Values{"op": {"deprovision"}}); !strings.Contains(frag, "Deprovisioned") {
		t.Errorf("deprovision: %.300s", frag)
	}
	if _, b := status(""); b["status"] != "deprovisioned" && b["error"] == nil {
		t.Errorf("after deprovision: %v", b)
	}
	f.sb.FlushRequestLog()
	reqs, _ := f.db.RecentRequests(t.Context(), 50)
	operator := 0
	for _, r := range reqs {
		if r.Agent == "ospbox UI" {
			operator++
		}
	}
	if operator < 5 {
		t.Errorf("the page's calls are not in the request log as the UI's: %d", operator)
	}
}

// TestCredentialsOfAnAsynchronousResourceStayReachable: the profile hands the bundle over once,
// in the first status read after asynchronous provisioning; the 202 says so, and the resource's
// page still reveals the credentials after that read.
func TestCredentialsOfAnAsynchronousResourceStayReachable(t *testing.T) {
	f := newFixture(t)
	st, res := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/postgres","tier_id":"free","sandbox":{"enabled":true}}`)
	if st != 202 {
		t.Fatalf("provision: %d %v", st, res)
	}
	steps, _ := res["next_steps"].([]any)
	if len(steps) != 3 || !strings.Contains(steps[1].(string), "once") || !strings.Contains(steps[2].(string), "/ui/resources/") {
		t.Errorf("the 202 does not say how the credentials arrive: %v", res["next_steps"])
	}
	id := res["resource_id"].(string)
	f.api(t, "POST", "/ospbox/v1/clock/advance", `{"seconds": 30}`)
	_, first := f.api(t, "GET", "/providers/acmedb/osp/v1/resources/"+id, "")
	if first["credentials_bundle"] == nil {
		t.Fatalf("the first status read after provisioning: %v", first)
	}
	if _, again := f.api(t, "GET", "/providers/acmedb/osp/v1/resources/"+id, ""); again["credentials_bundle"] != nil {
		t.Errorf("the bundle came twice: the profile hands it over once")
	}
	if _, revealed := f.get(t, "/ui/resources/"+id+"/credentials", authed()); !strings.Contains(revealed, "osp_rat_") || !strings.Contains(revealed, "connection_uri") {
		t.Errorf("the resource's page does not reveal the credentials after the first read: %.400s", revealed)
	}
}

// TestResourcesPageShowsQuotas: the Resources page shows the sandbox limit an agent is using
// up, and says when the next sandbox will be refused.
func TestResourcesPageShowsQuotas(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		body := fmt.Sprintf(`{"offering_id":"acmedb/postgres","tier_id":"free","sandbox":{"enabled":true},"nonce":"q%d"}`, i)
		if st, b := f.api(t, "POST", "/osp/v1/provision", body); st != 202 && st != 201 {
			t.Fatalf("sandbox %d: %d %v", i, st, b)
		}
		_, frag := f.get(t, "/ui/resources/live", authed())
		line := cutOut(frag, `data-quota="live_sandboxes:acmedb:`, "</li>")
		if !strings.Contains(line, fmt.Sprintf("%d / 5", i+1)) || strings.Contains(line, "full") != (i == 4) {
			t.Errorf("after sandbox %d the quota line is %q", i, line)
		}
	}
}

// TestResourcePageChartsUsagePerDimension: a metered resource's page charts each dimension over
// the period, with its included quantity labelled, today's figure equal to the usage table's,
// and the projection drawn.
func TestResourcePageChartsUsagePerDimension(t *testing.T) {
	f := newFixture(t)
	st, res := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/redis","tier_id":"pay-as-you-go","payment_method":"x402","payment_proof":"p"}`)
	if st != 201 && st != 200 {
		t.Fatalf("provision: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	f.api(t, "POST", "/ospbox/v1/clock/advance", `{"seconds": 180000}`)
	f.api(t, "POST", "/ospbox/v1/resources/"+id+"/usage", `{"metrics": {"requests": 2}, "mode": "add"}`)
	_, page := f.get(t, "/ui/resources/"+id, authed())
	charts := cutOut(page, `id="usage-charts"`, `</section>`)
	for _, want := range []string{`data-usage-dimension="requests"`, `class="cap-line included"`, "included: 10 × 100k requests", `class="projection"`, "Injected usage (2 × 100k requests)"} {
		if !strings.Contains(charts, want) {
			t.Errorf("the usage chart lacks %q:\n%.1500s", want, charts)
		}
	}
	// The table's quantity is the chart's last day.
	table := cutOut(page, `id="cost-h"`, `</table>`)
	i := strings.Index(table, `<td class="mono">requests</td><td class="num mono">`)
	if i < 0 {
		t.Fatalf("no requests row: %s", table)
	}
	qty := strings.Fields(table[i+len(`<td class="mono">requests</td><td class="num mono">`):])[0]
	if !strings.Contains(charts, ": "+qty+" × 100k requests so far</title>") {
		t.Errorf("the table says %s; the chart's days: %s", qty, charts)
	}
}
