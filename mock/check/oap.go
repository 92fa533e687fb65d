package check

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/manifests"
)

// oapChecks are the OAP 2025-07-01 checks (spec/oap.md), in the order they run.
var oapChecks = []definition{
	{id: "oap.discovery.status", level: Must, description: "GET /.well-known/oap answers 200", run: func(ctx context.Context, s *session) outcome {
		return s.expectStatus(ctx, "GET", s.opts.Target+"/.well-known/oap", nil, http.StatusOK)
	}},
	{id: "oap.discovery.content-type", level: Must, description: "the manifest is served as application/json", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.opts.Target+"/.well-known/oap", nil)
		if err != nil {
			return fail("", err.Error())
		}
		mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		return check(mt == "application/json", r.req, "Content-Type: "+r.header.Get("Content-Type"))
	}},
	{id: "oap.discovery.public", level: Must, description: "the manifest needs no credentials", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.opts.Target+"/.well-known/oap", nil, "Authorization", "")
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status != http.StatusUnauthorized && r.status != http.StatusForbidden, r.req+" (no Authorization)", r.brief())
	}},
	{id: "oap.discovery.schema", level: Must, description: "the manifest is valid OAP 2025-07-01 (ospbox's schema and rules)", run: func(ctx context.Context, s *session) outcome {
		rep := manifests.ValidateData("oap/manifest.json", "oap", s.manifest)
		var msgs []string
		for _, d := range rep.Errors[:min(5, len(rep.Errors))] {
			msgs = append(msgs, d.Message+" ["+d.Rule+"]")
		}
		return check(rep.Valid, "GET "+s.opts.Target+"/.well-known/oap", strings.Join(msgs, "; "))
	}},
	{id: "oap.registry.list", level: Must, description: "GET /agents lists agent descriptors", run: s2(func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.base+"/agents", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return listOf(r, "agents", func(v any) bool { return v != nil }, "id", "name", "accepts", "produces", "status")
	}, "io.oap.agents.registry")},
	{id: "oap.registry.unknown-agent", level: Must, description: "an unknown agent is 404 in the error body", run: s2(func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.base+"/agents/ospbox-check-nobody", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusNotFound && r.errorCode() != "", r.req, r.brief())
	}, "io.oap.agents.registry")},
	{id: "oap.events.invalid", level: Must, description: "an event without type, data and metadata is 400", run: s2(func(ctx context.Context, s *session) outcome {
		return s.expectStatus(ctx, "POST", s.base+"/events", map[string]any{"data": 1}, http.StatusBadRequest)
	}, "io.oap.agents.events")},
	{id: "oap.events.accept", level: Must, destructive: true, description: "a valid event is 202 Accepted", run: s2(func(ctx context.Context, s *session) outcome {
		return s.expectStatus(ctx, "POST", s.base+"/events", map[string]any{"type": "OspboxCheckPing", "data": map[string]any{}, "metadata": map[string]any{}}, http.StatusAccepted)
	}, "io.oap.agents.events")},
	{id: "oap.events.method", level: Should, description: "a wrong method on /events is 405", run: s2(func(ctx context.Context, s *session) outcome {
		return s.expectStatus(ctx, "DELETE", s.base+"/events", nil, http.StatusMethodNotAllowed)
	}, "io.oap.agents.events")},
	{id: "oap.commands.list", level: Must, description: "GET /commands lists commands", run: s2(func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.base+"/commands", nil)
		if err != nil {
			return fail("", err.Error())
		}
		_, ok := r.json["commands"].([]any)
		return check(r.status == http.StatusOK && ok, r.req, r.brief())
	}, "io.oap.agents.commands")},
	{id: "oap.memory.read", level: Should, description: "an agent's memory reads as {agentId, state}", run: s2(func(ctx context.Context, s *session) outcome {
		id := s.firstAgent(ctx)
		if id == "" {
			return skip("the registry is empty")
		}
		r, err := s.do(ctx, "GET", s.base+"/agents/"+id+"/memory", nil)
		if err != nil {
			return fail("", err.Error())
		}
		_, ok := r.json["state"].(map[string]any)
		return check(r.status == http.StatusOK && r.json["agentId"] == id && ok, r.req, r.brief())
	}, "io.oap.agents.memory")},
	{id: "oap.traces.list", level: Should, description: "GET /traces lists execution traces", run: s2(func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.base+"/traces", nil)
		if err != nil {
			return fail("", err.Error())
		}
		_, ok := r.json["traces"].([]any)
		return check(r.status == http.StatusOK && ok, r.req, r.brief())
	}, "io.oap.observability.tracing")},
	{id: "oap.lifecycle.pause-resume", level: Should, destructive: true, description: "pausing and resuming a running agent is 204 and shows in its status", run: s2(func(ctx context.Context, s *session) outcome {
		id := s.firstAgent(ctx, "running")
		if id == "" {
			return skip("no running agent")
		}
		p, err := s.do(ctx, "POST", s.base+"/agents/"+id+"/pause", nil)
		if bad := unexpected(p, err, "pause", http.StatusNoContent); bad != nil {
			return *bad
		}
		g, err := s.do(ctx, "GET", s.base+"/agents/"+id, nil)
		paused := err == nil && g.json["status"] == "paused"
		r, err := s.do(ctx, "POST", s.base+"/agents/"+id+"/resume", nil)
		if bad := unexpected(r, err, "resume", http.StatusNoContent); bad != nil {
			return *bad
		}
		return check(paused, "POST "+s.base+"/agents/"+id+"/pause", "after pause the agent's status is not paused")
	}, "io.oap.agents.lifecycle")},
}

// s2 runs a check only when the manifest declares its capability as active (or without a status).
func s2(run func(context.Context, *session) outcome, capability string) func(context.Context, *session) outcome {
	return func(ctx context.Context, s *session) outcome {
		inner, _ := s.doc["oap"].(map[string]any)
		caps, _ := inner["capabilities"].([]any)
		for _, c := range caps {
			m, _ := c.(map[string]any)
			if m["name"] == capability {
				if st, _ := m["status"].(string); st == "" || st == "active" {
					return run(ctx, s)
				}
			}
		}
		return skip(capability + " is not declared as active")
	}
}

// expectStatus makes one request and passes when it answers want.
func (s *session) expectStatus(ctx context.Context, method, url string, body any, want int) outcome {
	r, err := s.do(ctx, method, url, body)
	if err != nil {
		return fail(method+" "+url, err.Error())
	}
	return check(r.status == want, r.req, r.brief())
}

// firstAgent is the id of the first agent in the registry (with one of statuses when given).
func (s *session) firstAgent(ctx context.Context, statuses ...string) string {
	r, err := s.do(ctx, "GET", s.base+"/agents", nil)
	if err != nil {
		return ""
	}
	list, _ := r.json["agents"].([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		id, _ := m["id"].(string)
		if len(statuses) == 0 {
			return id
		}
		for _, st := range statuses {
			if m["status"] == st {
				return id
			}
		}
	}
	return ""
}

// listOf passes a 200 whose member is an array of objects that each have keys, as ok judges.
func listOf(r *response, member string, ok func(any) bool, keys ...string) outcome {
	list, isList := r.json[member].([]any)
	if r.status != http.StatusOK || !isList {
		return fail(r.req, r.brief())
	}
	for _, it := range list {
		m, _ := it.(map[string]any)
		for _, k := range keys {
			if !ok(m[k]) {
				return fail(r.req, "an entry of "+member+" lacks "+k+": "+r.brief())
			}
		}
	}
	return pass(r.req)
}

func nonEmptyString(v any) bool { s, _ := v.(string); return s != "" }
