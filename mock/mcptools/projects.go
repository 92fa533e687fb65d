package mcptools

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ospbox/ospbox/mock/projects"
)

// AddProjectTools adds `ospbox projects` as tools (spec/orchestrator.md §2): the same client over
// HTTP as the command line, sharing its current project, so an agent in an MCP client goes from
// zero to a running service the way the CLI does.
func AddProjectTools(srv *mcp.Server, c *projects.Client) {
	type run func(ctx context.Context, in map[string]any) (any, error)
	add := func(name, description string, schema map[string]any, fn run) {
		srv.AddTool(&mcp.Tool{Name: name, Description: description, InputSchema: schema}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			in := map[string]any{}
			if raw := req.Params.Arguments; len(raw) > 0 {
				if err := json.Unmarshal(raw, &in); err != nil {
					return errorResult("the arguments are not a JSON object: " + err.Error()), nil
				}
			}
			out, err := fn(ctx, in)
			if err != nil {
				var api *projects.APIError
				if errors.As(err, &api) {
					b, _ := json.Marshal(map[string]any{"error": map[string]any{"status": api.Status, "code": api.Code, "message": api.Message, "request": api.URL}})
					return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
				}
				return errorResult(err.Error()), nil
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}
			var structured map[string]any
			if json.Unmarshal(b, &structured) == nil {
				res.StructuredContent = structured
			}
			return res, nil
		})
	}
	add("ospbox_projects_init", "Make an orchestrator project and make it the current one (its token is kept for the other tools).",
		object(map[string]any{"name": map[string]any{"type": "string", "description": "the project's name"}}),
		func(ctx context.Context, in map[string]any) (any, error) {
			name := str(in["name"])
			if name == "" {
				name = "default"
			}
			p, err := c.Init(ctx, name)
			return map[string]string{"project_id": p.ID, "name": p.Name}, err
		})
	add("ospbox_projects_catalog", "The aggregated catalog of every provider's services and tiers, with the orchestrator's spend against its caps.", object(nil),
		func(ctx context.Context, _ map[string]any) (any, error) {
			_, raw, err := c.Catalog(ctx)
			if err != nil {
				return nil, err
			}
			spend, err := c.Spend(ctx)
			return map[string]json.RawMessage{"catalog": raw, "orchestrator_spend": spend}, err
		})
	add("ospbox_projects_add", "Add a service to the current project: an account at the provider (made from the user's attested identity, or linked by the user's OAuth consent, which this waits for unless approve is true), a payment token for a paid tier, provisioning, and the credentials into the vault.",
		object(map[string]any{"service": map[string]any{"type": "string", "description": "provider/service, e.g. acmedb/redis"},
			"tier":    map[string]any{"type": "string", "description": "the tier (default: the service's default tier)"},
			"approve": map[string]any{"type": "boolean", "description": "answer a provider's consent for the user instead of waiting for them"}}, "service"),
		func(ctx context.Context, in map[string]any) (any, error) {
			ref := str(in["service"])
			if t := str(in["tier"]); t != "" {
				ref += ":" + t
			}
			one := *c // this call's own settings
			one.Approve, _ = in["approve"].(bool)
			return one.Add(ctx, ref)
		})
	add("ospbox_projects_env", "The current project's credentials as environment variables; secrets are redacted unless reveal is true (every read is recorded).",
		object(map[string]any{"reveal": map[string]any{"type": "boolean"}}),
		func(ctx context.Context, in map[string]any) (any, error) {
			vars, err := c.Env(ctx, in["reveal"] == true)
			return map[string]any{"variables": vars}, err
		})
	add("ospbox_projects_list", "The current project's resources.", object(nil),
		func(ctx context.Context, _ map[string]any) (any, error) {
			p, resources, err := c.List(ctx)
			return map[string]any{"project_id": p.ID, "name": p.Name, "resources": resources}, err
		})
	add("ospbox_projects_remove", "Deprovision one of the current project's resources and forget its credentials.",
		object(map[string]any{"resource_id": map[string]any{"type": "string"}}, "resource_id"),
		func(ctx context.Context, in map[string]any) (any, error) {
			return map[string]string{"removed": str(in["resource_id"])}, c.Remove(ctx, str(in["resource_id"]))
		})
	add("ospbox_projects_spend", "Payment tokens against the orchestrator's caps this month: per provider and for the user.", object(nil),
		func(ctx context.Context, _ map[string]any) (any, error) { return c.Spend(ctx) })
	add("ospbox_projects_revoke", "Revoke every credential of the current project at every provider and deprovision its resources.", object(nil),
		func(ctx context.Context, _ map[string]any) (any, error) { return c.Revoke(ctx) })
}
