package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPServerOverStdio runs `ospbox mcp` as a subprocess and drives it with the MCP SDK's
// client over the real stdin/stdout pipe, as an MCP host would.
func TestMCPServerOverStdio(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, "scenarios"), 0o755)
	os.WriteFile(filepath.Join(ws, "scenarios", "down.json"), []byte(`{"rules": [{"id": "costs-down", "match": {"operation": "osp.cost"}, "effect": {"error": "provider_unavailable"}}]}`), 0o644)
	cmd := exec.Command(bin, "mcp", "--workspace", ws)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "OSPBOX_PROJECT_TOKEN=", "OSPBOX_PROJECT_ID=")
	client := mcp.NewClient(&mcp.Implementation{Name: "ospbox-test", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()

	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var provision *mcp.Tool
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.Name == "osp_provision" {
			provision = tool
		}
	}
	for _, want := range []string{"osp_discover", "osp_provision", "osp_status", "osp_usage", "osp_rotate", "osp_deprovision", "osp_cost", "oap_agents", "oap_send_event", "oap_traces", "bsp_commands", "bsp_send_command", "bsp_events", "ospbox_scenarios",
		"ospbox_projects_init", "ospbox_projects_catalog", "ospbox_projects_add", "ospbox_projects_env", "ospbox_projects_list", "ospbox_projects_remove", "ospbox_projects_spend", "ospbox_projects_revoke"} {
		if !slices.Contains(names, want) {
			t.Errorf("tool %s missing: %v", want, names)
		}
	}
	schema, _ := json.Marshal(provision.InputSchema)
	var s struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	json.Unmarshal(schema, &s)
	if !slices.Contains(s.Properties["offering_id"].Enum, "acmedb/redis") || !slices.Contains(s.Required, "tier_id") {
		t.Errorf("provision schema does not come from the manifest: %s", schema)
	}

	call := func(name string, args map[string]any) map[string]any {
		t.Helper()
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.IsError {
			t.Fatalf("%s failed: %v", name, res.Content)
		}
		out, _ := res.StructuredContent.(map[string]any)
		return out
	}
	res := call("osp_provision", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free", "sandbox": map[string]any{"enabled": true}})
	id, _ := res["resource_id"].(string)
	token := res["credentials_bundle"].(map[string]any)["metadata"].(map[string]any)["resource_access_token"].(string)
	if status := call("osp_status", map[string]any{"resource_id": id, "access_token": token}); status["status"] != "provisioned" {
		t.Errorf("status: %v", status)
	}
	if usage := call("osp_usage", map[string]any{"resource_id": id, "access_token": token}); usage["resource_id"] != id {
		t.Errorf("usage: %v", usage)
	}
	if ev := call("oap_send_event", map[string]any{"type": "TicketOpened", "data": map[string]any{"ticket": 3}}); len(ev["traceIds"].([]any)) != 1 {
		t.Errorf("oap event: %v", ev)
	}
	// BSP: the sample manifest declares an API key; the tools present the workspace's credential.
	if cat := call("bsp_commands", nil); len(cat["commands"].([]any)) != 2 {
		t.Errorf("bsp catalogue: %v", cat)
	}
	sent := call("bsp_send_command", map[string]any{"type": "PlaceOrder", "data": map[string]any{"orderId": "o-1", "items": []any{map[string]any{"sku": "a", "quantity": 1}}}})
	cid, _ := sent["id"].(string)
	evs := call("bsp_events", map[string]any{"correlationId": cid})
	if list, _ := evs["events"].([]any); cid == "" || len(list) != 1 || list[0].(map[string]any)["type"] != "OrderPlaced" {
		t.Errorf("bsp events of %s: %v", cid, evs)
	}
	if bad, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "bsp_send_command", Arguments: map[string]any{"type": "PlaceOrder", "data": map[string]any{"orderId": ""}}}); err != nil || !bad.IsError {
		t.Errorf("invalid command data: %v %+v", err, bad)
	}
	call("osp_deprovision", map[string]any{"resource_id": id, "access_token": token})
	// The workspace's scenario rule fails the cost summary; the operator's tool says why.
	if res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "osp_cost"}); err != nil || !res.IsError {
		t.Errorf("osp_cost under the rule: %v %+v", err, res)
	}
	rules, _ := call("ospbox_scenarios", nil)["scenarios"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["id"] != "costs-down" || rules[0].(map[string]any)["hits"] != float64(1) {
		t.Errorf("ospbox_scenarios: %v", rules)
	}
	// The orchestrator's flow as tools: a project, a paid service, its credentials redacted.
	call("ospbox_projects_init", map[string]any{"name": "mcp-app"})
	added := call("ospbox_projects_add", map[string]any{"service": "acmedb/redis", "tier": "pay-as-you-go"})
	if added["payment_token"] == nil || added["resource_id"] == nil {
		t.Errorf("projects add: %v", added)
	}
	// skyhost asks for consent: approve answers it for the user.
	if linked := call("ospbox_projects_add", map[string]any{"service": "skyhost/static-site", "approve": true}); linked["authorization"] != "oauth" || linked["consent_id"] == nil {
		t.Errorf("projects add with consent: %v", linked)
	}
	vars, _ := call("ospbox_projects_env", nil)["variables"].([]any)
	if len(vars) != 5 || vars[0].(map[string]any)["redacted"] != true {
		t.Errorf("projects env: %v", vars)
	}
	if spend := call("ospbox_projects_spend", nil); spend["user"].(map[string]any)["redeemed"].(map[string]any)["amount"] != "5.00" {
		t.Errorf("projects spend: %v", spend)
	}
	// A provider error comes back as a tool error with the envelope.
	bad, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "osp_status", Arguments: map[string]any{"resource_id": "res_missing"}})
	if err != nil || !bad.IsError {
		t.Errorf("unknown resource: %v %+v", err, bad)
	}
}

// TestMCPAnswersEverythingBeforeStdinEnds: a client that writes its requests and closes stdin
// (printf '…' | ospbox mcp) gets an answer to each, and ospbox then exits 0.
func TestMCPAnswersEverythingBeforeStdinEnds(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "mcp", "--workspace", t.TempDir())
	cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"osp_discover","arguments":{}}}
`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ospbox mcp: %v", err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && len(m.Result) > 0 {
			ids = append(ids, string(m.ID))
		}
	}
	slices.Sort(ids) // JSON-RPC answers in any order
	if !slices.Equal(ids, []string{"1", "2", "3"}) {
		t.Errorf("answered %v, want 1, 2 and 3:\n%s", ids, out)
	}
}

// TestMCPAttachesToTheServerThatHoldsTheWorkspace: `ospbox mcp` on a workspace a running
// `ospbox serve` holds does not open the state a second time: its tools talk to that server, so
// what they provision is the server's.
func TestMCPAttachesToTheServerThatHoldsTheWorkspace(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	_, base, _, _ := startServe(t, bin, "serve", "--workspace", dir, "--addr", "127.0.0.1:0")
	cmd := exec.Command(bin, "mcp", "--workspace", dir)
	cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"osp_provision","arguments":{"offering_id":"acmedb/redis","tier_id":"free"}}}
`)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ospbox mcp on a held workspace: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "served by the ospbox at "+base) {
		t.Errorf("mcp does not say it attached to %s: %s", base, stderr.String())
	}
	m := regexp.MustCompile(`res_[0-9a-z]{26}`).FindString(string(out))
	if m == "" {
		t.Fatalf("no resource provisioned through the tool:\n%s", out)
	}
	resp, err := http.Get(base + "/osp/v1/resources/" + m)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the resource the tool provisioned is not the server's: GET %s → %d", m, resp.StatusCode)
	}
}
