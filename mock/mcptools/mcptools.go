// Package mcptools is ospbox's MCP binding: an MCP server whose tools are a workspace provider's
// capabilities — OSP discovery, provisioning, status, usage, rotation, deprovisioning and cost,
// the BSP/BEST command catalogue, commands and events, and the OAP registry, events and traces. Each tool sends the sandbox the request an agent
// would (in process, the same handler as the HTTP API) and returns its JSON answer.
//
// It may import the host (mock), the protocol packages, the kernel and manifests.
package mcptools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock"
)

// Sandbox is what the tools need of a sandbox: what it serves, and a way to send it a request.
// A *mock.Sandbox in this process is one; Remote is one for a server another process runs.
type Sandbox interface {
	Snapshot() *mock.Snapshot
	Do(req *http.Request) (int, []byte)
}

// New builds the MCP server for provider slug of the sandbox (the default provider when "").
func New(sb Sandbox, slug, version string) (*mcp.Server, error) {
	snap := sb.Snapshot()
	if slug == "" {
		slug = snap.Default
	}
	p := snap.Provider(slug)
	if p == nil || p.Serving == nil {
		return nil, fmt.Errorf("no provider %q is being served (fix its manifest, or pass --provider)", slug)
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "ospbox-" + slug, Version: version}, &mcp.ServerOptions{
		Instructions: "Tools of the " + p.Serving.Manifest.ProviderName + " mock provider in an ospbox sandbox (OSP), and of the workspace's BSP/BEST services and OAP agents when it has them.",
	})
	b := binding{sb: sb, base: "/providers/" + slug}
	resource := object(map[string]any{
		"resource_id":  map[string]any{"type": "string", "description": "the resource's id (res_…)"},
		"access_token": map[string]any{"type": "string", "description": "the resource access token from the credential bundle (osp_rat_…)"},
	}, "resource_id")
	b.tool(srv, "osp_discover", "Read the provider's OSP manifest: offerings, tiers, prices, regions.", object(nil), "GET", func(map[string]any) string { return "/.well-known/osp.json" }, nil)
	b.tool(srv, "osp_provision", "Provision a resource (or a sandbox) of an offering and tier; returns the resource id and the credential bundle.",
		provisionSchema(p.Serving.Manifest), "POST", func(map[string]any) string { return "/osp/v1/provision" }, func(in map[string]any) any { return in })
	b.tool(srv, "osp_status", "Read a resource's status (the first read after asynchronous provisioning carries the bundle).", resource, "GET",
		func(in map[string]any) string { return "/osp/v1/resources/" + str(in["resource_id"]) }, nil)
	b.tool(srv, "osp_usage", "Read a resource's usage report for the current period.", resource, "GET",
		func(in map[string]any) string { return "/osp/v1/resources/" + str(in["resource_id"]) + "/usage" }, nil)
	b.tool(srv, "osp_rotate", "Rotate a resource's credentials; the old token works until the grace period ends.", resource, "POST",
		func(in map[string]any) string { return "/osp/v1/resources/" + str(in["resource_id"]) + "/credentials" }, func(map[string]any) any { return map[string]any{} })
	b.tool(srv, "osp_deprovision", "Deprovision a resource.", resource, "DELETE",
		func(in map[string]any) string { return "/osp/v1/resources/" + str(in["resource_id"]) }, nil)
	b.tool(srv, "osp_cost", "Read the cost summary of the current period: base and metered cost per resource.", object(nil), "GET",
		func(map[string]any) string { return "/osp/v1/cost-summary" }, nil)
	binding{sb: sb}.tool(srv, "ospbox_scenarios", "List this ospbox's scenario rules: the faults, delays and failures it applies on purpose "+
		"(which calls each matches, when it fires, its effect, and how often it has). When a call failed or was slow, look here first: "+
		"a rule with hits did it, and the request journal names the rule.", object(nil), "GET",
		func(map[string]any) string { return "/ospbox/v1/scenarios" }, nil)
	if snap.OAP.Serving != nil {
		o := binding{sb: sb}
		o.tool(srv, "oap_agents", "List the OAP agents with their status, what they accept and produce.", object(nil), "GET",
			func(map[string]any) string { return "/oap/agents" }, nil)
		o.tool(srv, "oap_send_event", "Send an OAP event; every running agent that accepts its type produces commands and a trace.",
			object(map[string]any{
				"type":     map[string]any{"type": "string", "minLength": 1, "description": "the event type, e.g. " + firstAccepted(snap.OAP.Serving.Surface.Doc)},
				"data":     map[string]any{"type": "object"},
				"metadata": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			}, "type"), "POST", func(map[string]any) string { return "/oap/events" },
			func(in map[string]any) any {
				if in["data"] == nil {
					in["data"] = map[string]any{}
				}
				if in["metadata"] == nil {
					in["metadata"] = map[string]any{}
				}
				return in
			})
		o.tool(srv, "oap_traces", "List execution traces, optionally of one agent.",
			object(map[string]any{"agentId": map[string]any{"type": "string"}}), "GET",
			func(in map[string]any) string {
				if id := str(in["agentId"]); id != "" {
					return "/oap/traces?agentId=" + id
				}
				return "/oap/traces"
			}, nil)
	}
	if snap.BSP.Serving != nil {
		addBSPTools(srv, sb, snap)
	}
	return srv, nil
}

// addBSPTools adds the command catalogue, send-command and list-events tools of the root BSP
// manifest's first service that implements commands, authenticated with the workspace's first
// BSP credential as the manifest declares.
func addBSPTools(srv *mcp.Server, sb Sandbox, snap *mock.Snapshot) {
	surface := snap.BSP.Serving.Surface
	caps := manifests.BSPServiceCapabilities(surface.Doc.Root, surface.Generation)
	key := ""
	for _, k := range surface.Services {
		if _, ok := caps[k]["agents.commands"]; ok && key == "" {
			key = k
		}
	}
	if key == "" {
		return
	}
	b := binding{sb: sb, base: "/bsp/" + key}
	if creds := snap.Config.BSP.Credentials; len(creds) > 0 {
		scheme := manifests.BSPSchemeOf(surface.Doc.Root.Members[0].Value.Get("authentication"))
		token := creds[0].Token
		b.auth = func(r *http.Request) { scheme.Present(r, token) }
	}
	b.tool(srv, "bsp_commands", "List the BSP command catalogue: each command's schema, version and dataschema.", object(nil), "GET",
		func(map[string]any) string { return "/commands" }, nil)
	var variants []any
	latest := map[string]manifests.CatalogEntry{}
	for _, e := range surface.Catalog.Entries {
		if e.Kind == "commands" {
			latest[e.Type] = e // entries are sorted by file: the last version wins
		}
	}
	types := make([]string, 0, len(latest))
	for t := range latest {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		var data map[string]any
		json.Unmarshal(jsondoc.Compact(latest[t].DataSchema()), &data)
		delete(data, "$schema")
		variants = append(variants, map[string]any{"type": "object", "properties": map[string]any{"type": map[string]any{"const": t}, "data": data}})
	}
	schema := object(map[string]any{
		"type": map[string]any{"type": "string", "enum": types, "description": "the command type"},
		"data": map[string]any{"type": "object", "description": "the command's data, as its schema document says"},
		"id":   map[string]any{"type": "string", "description": "the command id (idempotency key); a new UUID when absent"},
	}, "type", "data")
	if len(variants) > 0 {
		schema["anyOf"] = variants
	}
	b.tool(srv, "bsp_send_command", "Send a BSP command; the 201 carries its id, which correlates the events it produces.", schema, "POST",
		func(map[string]any) string { return "/commands" },
		func(in map[string]any) any {
			e := latest[str(in["type"])]
			id := str(in["id"])
			if id == "" {
				id = uuid.NewString()
			}
			return map[string]any{"specversion": "1.0", "id": id, "source": "mcp://ospbox", "type": in["type"], "datacontenttype": "application/json",
				"dataschema": "http://127.0.0.1/bsp/" + key + "/commands/" + e.Schema + "/" + e.Version, "time": time.Now().UTC().Format(time.RFC3339), "data": in["data"]}
		})
	b.tool(srv, "bsp_events", "List BSP events, oldest first, optionally of one type or caused by one command.",
		object(map[string]any{
			"type":          map[string]any{"type": "string"},
			"correlationId": map[string]any{"type": "string", "description": "the id bsp_send_command returned"},
			"limit":         map[string]any{"type": "integer", "minimum": 1, "maximum": 500},
			"after":         map[string]any{"type": "string", "description": "nextCursor of a previous page"},
		}), "GET",
		func(in map[string]any) string {
			q := url.Values{}
			for _, k := range []string{"type", "correlationId", "after"} {
				if v := str(in[k]); v != "" {
					q.Set(k, v)
				}
			}
			if n, ok := in["limit"].(float64); ok {
				q.Set("limit", strconv.Itoa(int(n)))
			}
			if len(q) == 0 {
				return "/events"
			}
			return "/events?" + q.Encode()
		}, nil)
}

// binding sends tool calls to the sandbox under base.
type binding struct {
	sb   Sandbox
	base string
	auth func(*http.Request) // adds the surface's credential, when it needs one
}

// tool adds one tool: path builds the request path from the input, body (nil for none) the body.
func (b binding) tool(srv *mcp.Server, name, description string, schema map[string]any, method string, path func(map[string]any) string, body func(map[string]any) any) {
	srv.AddTool(&mcp.Tool{Name: name, Description: description, InputSchema: schema}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		in := map[string]any{}
		if raw := req.Params.Arguments; len(raw) > 0 {
			if err := json.Unmarshal(raw, &in); err != nil {
				return errorResult("the arguments are not a JSON object: " + err.Error()), nil
			}
		}
		token := str(in["access_token"])
		delete(in, "access_token")
		var payload []byte
		if body != nil {
			payload, _ = json.Marshal(body(in))
		}
		status, answer := b.call(ctx, method, b.base+path(in), payload, token)
		res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("HTTP %d\n%s", status, answer)}}}
		var structured map[string]any
		if json.Unmarshal(answer, &structured) == nil {
			res.StructuredContent = structured
		}
		res.IsError = status >= 400
		return res, nil
	})
}

// call sends one request to the sandbox's handler, as an agent's HTTP request would arrive.
func (b binding) call(ctx context.Context, method, path string, body []byte, token string) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1"+path, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, []byte(`{"error":{"code":"invalid_request","message":"` + err.Error() + `"}}`)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "ospbox-mcp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if b.auth != nil {
		b.auth(req)
	}
	status, answer := b.sb.Do(req)
	return status, bytes.TrimSpace(answer)
}

func errorResult(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

// provisionSchema is ospbox's provision request schema with offering_id and tier_id narrowed
// to what this provider's manifest offers.
func provisionSchema(m *manifests.OSPManifest) map[string]any {
	var s map[string]any
	raw, _ := manifests.SchemaBody("messages/osp-provision-request.json", "")
	json.Unmarshal(raw, &s)
	delete(s, "$schema")
	delete(s, "$id")
	props, _ := s["properties"].(map[string]any)
	var offerings, tiers []any
	seen := map[string]bool{}
	for _, o := range m.Offerings {
		offerings = append(offerings, o.ID)
		for _, t := range o.Tiers {
			if !seen[t.ID] {
				seen[t.ID] = true
				tiers = append(tiers, t.ID)
			}
		}
	}
	if props != nil {
		props["offering_id"] = map[string]any{"enum": offerings, "description": "one of the provider's offerings"}
		props["tier_id"] = map[string]any{"enum": tiers, "description": "a tier of the offering"}
	}
	return s
}

// object is a JSON Schema for an object with properties and required members.
func object(props map[string]any, required ...string) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// firstAccepted is an event type the first OAP agent accepts, for the tool's description.
func firstAccepted(doc *jsondoc.Document) string {
	for _, a := range doc.Root.Members[0].Value.Get("agents").List() {
		for _, t := range a.Get("accepts").List() {
			return t.Text
		}
	}
	return "TicketOpened"
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}
