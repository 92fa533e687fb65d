package check

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
)

// bspTarget is what discovery found on a BSP/BEST server: the manifest whose services are
// checked (the tenant's with --tenant), the service under test and its capabilities.
type bspTarget struct {
	path    string // the discovery path: /.well-known/bsp or /.well-known/best
	gen     string
	root    manifests.Surface // the root manifest
	surface manifests.Surface // the manifest whose routes are checked (root or tenant)
	service string
	base    string // the service's endpoint without the trailing slash
	caps    map[string]manifests.BSPCapability
	scheme  manifests.BSPScheme // how the routes want the credential
}

// detectBSP reads a BSP/BEST discovery document (and, with --tenant, the tenant's manifest) and
// picks the first service with an http endpoint that implements a standard capability.
func (s *session) detectBSP(ctx context.Context, path string) error {
	root := manifests.ParseBSP("manifest.json", s.manifest)
	if root.Doc == nil {
		// Checks still report the manifest's errors; routes cannot be found.
		s.bsp = &bspTarget{path: path, root: root}
		return nil
	}
	t := &bspTarget{path: path, gen: root.Generation, root: root, surface: root}
	rootScheme := manifests.BSPSchemeOf(root.Doc.Root.Members[0].Value.Get("authentication"))
	if s.opts.Tenant != "" {
		tmpl := root.Doc.Root.Members[0].Value.Get("tenants").Str("manifest")
		if tmpl == "" {
			return fmt.Errorf("--tenant %s: the manifest at %s declares no tenants", s.opts.Tenant, path)
		}
		s.auth = s.credential(rootScheme)
		r, err := s.do(ctx, "GET", strings.ReplaceAll(tmpl, "{tenantId}", s.opts.Tenant), nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("--tenant %s: %s answers %s", s.opts.Tenant, r.req, r.brief())
		}
		tenant := manifests.ParseBSP("tenant.json", r.body)
		if tenant.Doc == nil {
			return fmt.Errorf("--tenant %s: the tenant manifest is not valid BSP", s.opts.Tenant)
		}
		t.surface = tenant
	}
	t.scheme = manifests.BSPSchemeOf(t.surface.Doc.Root.Members[0].Value.Get("authentication"))
	s.auth = s.credential(t.scheme)
	all := manifests.BSPServiceCapabilities(t.surface.Doc.Root, t.gen)
	services := t.surface.Doc.Root.Members[0].Value.Get("services")
	for _, key := range t.surface.Services {
		endpoint := services.Get(key).Get("http").Str("endpoint")
		if len(all[key]) > 0 && strings.HasPrefix(endpoint, "http") {
			t.service, t.base, t.caps = key, strings.TrimRight(endpoint, "/"), all[key]
			break
		}
	}
	s.bsp = t
	return nil
}

// credential presents --api-key the way scheme asks (nil without a key).
func (s *session) credential(scheme manifests.BSPScheme) func(*http.Request) {
	if s.opts.APIKey == "" || scheme.In == "" {
		return nil
	}
	key := s.opts.APIKey
	return func(r *http.Request) { scheme.Present(r, key) }
}

// bspRoute runs a check only when the service under test serves route ("GET /commands") and,
// when the manifest declares authentication, --api-key gave the credential to present: without
// it the check is skipped, saying so, rather than failed on a 401 the server was right to send.
func bspRoute(route string, run func(context.Context, *session) outcome) func(context.Context, *session) outcome {
	served := bspServed(route, run)
	return func(ctx context.Context, s *session) outcome {
		if t := s.bsp; t.base != "" && t.scheme.In != "" && s.auth == nil {
			return skip("the manifest declares " + t.scheme.Hint() + ": pass --api-key to run this check")
		}
		return served(ctx, s)
	}
}

// bspServed runs a check only when the service under test serves route; the authentication
// checks use it, since they call without a credential on purpose.
func bspServed(route string, run func(context.Context, *session) outcome) func(context.Context, *session) outcome {
	return func(ctx context.Context, s *session) outcome {
		t := s.bsp
		if t.base == "" {
			return skip("no service with an http endpoint implements a standard capability")
		}
		suffix := map[string]string{"commands": "agents.commands", "events": "agents.events", "subscriptions": "agents.events", "queries": "agents.queries"}[strings.Split(strings.TrimPrefix(strings.Fields(route)[1], "/"), "/")[0]]
		cp, ok := t.caps[suffix]
		if !ok || !cp.Serves(route) {
			return skip(t.service + " does not serve " + route)
		}
		return run(ctx, s)
	}
}

// bspErrorBody reports whether a response carries the BSP error body {"error": {code, message}}.
func bspErrorBody(r *response) bool {
	e, _ := r.json["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return code != "" && msg != ""
}

// bspCommand is a well-formed command envelope of a type, for the generation under test.
func (s *session) bspCommand(typ, dataschema string) map[string]any {
	return map[string]any{"specversion": "1.0", "id": fmt.Sprintf("ospbox-check-%d", time.Now().UnixNano()), "source": "urn:ospbox:check",
		"type": typ, "datacontenttype": "application/json", "dataschema": dataschema, "time": time.Now().UTC().Format(time.RFC3339), "data": map[string]any{}}
}

// bspChecks are the BSP/BEST checks (spec/bsp.md), in the order they run.
var bspChecks = []definition{
	{id: "bsp.discovery.status", level: Must, description: "the discovery document answers 200", run: func(ctx context.Context, s *session) outcome {
		return s.expectStatus(ctx, "GET", s.opts.Target+s.bsp.path, nil, http.StatusOK)
	}},
	{id: "bsp.discovery.content-type", level: Must, description: "the manifest is served as application/json", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.opts.Target+s.bsp.path, nil)
		if err != nil {
			return fail("", err.Error())
		}
		mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		return check(mt == "application/json", r.req, "Content-Type: "+r.header.Get("Content-Type"))
	}},
	{id: "bsp.discovery.public", level: Must, description: "the manifest needs no credentials, even with authentication declared", run: func(ctx context.Context, s *session) outcome {
		r, err := s.anon(ctx, "GET", s.opts.Target+s.bsp.path, nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status != http.StatusUnauthorized && r.status != http.StatusForbidden, r.req+" (no credential)", r.brief())
	}},
	{id: "bsp.discovery.schema", level: Must, description: "the manifest is valid for its generation (ospbox's schema and rules)", run: func(ctx context.Context, s *session) outcome {
		rep := s.bsp.root.Report
		var msgs []string
		for _, d := range rep.Errors[:min(5, len(rep.Errors))] {
			msgs = append(msgs, d.Message+" ["+d.Rule+"]")
		}
		return check(rep.Valid, "GET "+s.opts.Target+s.bsp.path, strings.Join(msgs, "; "))
	}},
	{id: "bsp.discovery.routes", level: Must, description: "each active standard capability answers its required routes", run: func(ctx context.Context, s *session) outcome {
		t := s.bsp
		if t.base == "" {
			return skip("no service with an http endpoint implements a standard capability")
		}
		if t.scheme.In != "" && s.auth == nil {
			return skip("the manifest declares " + t.scheme.Hint() + ": pass --api-key to run this check")
		}
		var missing []string
		var last string
		for _, suffix := range []string{"agents.commands", "agents.events", "agents.queries"} {
			if cp, ok := t.caps[suffix]; !ok || cp.Status != "active" {
				continue
			}
			path := "/" + strings.TrimPrefix(suffix, "agents.")
			r, err := s.do(ctx, "GET", t.base+path, nil)
			if err != nil {
				return fail("GET "+t.base+path, err.Error())
			}
			last = r.req
			if r.status != http.StatusOK {
				missing = append(missing, fmt.Sprintf("GET %s → %d", path, r.status))
			}
		}
		if last == "" {
			return skip(t.service + " declares no active standard capability")
		}
		return check(len(missing) == 0, last, strings.Join(missing, "; "))
	}},
	{id: "bsp.tenants.unknown", level: Must, description: "an unknown tenant's manifest is 404", run: func(ctx context.Context, s *session) outcome {
		if s.bsp.root.Doc == nil {
			return skip("the manifest is not valid")
		}
		tmpl := s.bsp.root.Doc.Root.Members[0].Value.Get("tenants").Str("manifest")
		if tmpl == "" {
			return skip("the manifest declares no tenants")
		}
		url := strings.ReplaceAll(tmpl, "{tenantId}", "ospbox-check-no-such-tenant")
		r, err := s.with(manifests.BSPSchemeOf(s.bsp.root.Doc.Root.Members[0].Value.Get("authentication"))).do(ctx, "GET", url, nil)
		if err != nil {
			return fail("GET "+url, err.Error())
		}
		return check(r.status == http.StatusNotFound, r.req, r.brief())
	}},
	{id: "bsp.auth.required", level: Must, description: "routes answer 401 without the declared credential", run: bspServed("GET /commands", func(ctx context.Context, s *session) outcome {
		if s.bsp.scheme.In == "" {
			return skip("the manifest declares no authentication")
		}
		r, err := s.anon(ctx, "GET", s.bsp.base+"/commands", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusUnauthorized && bspErrorBody(r), r.req+" (no credential)", r.brief())
	})},
	{id: "bsp.auth.challenge", level: Should, description: "a 401 names the scheme in WWW-Authenticate", run: bspServed("GET /commands", func(ctx context.Context, s *session) outcome {
		if s.bsp.scheme.In == "" {
			return skip("the manifest declares no authentication")
		}
		r, err := s.anon(ctx, "GET", s.bsp.base+"/commands", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != "", r.req+" (no credential)", "WWW-Authenticate: "+r.header.Get("WWW-Authenticate"))
	})},
	{id: "bsp.commands.catalogue", level: Must, description: "GET /commands lists {schema, version, dataschema} entries", run: bspRoute("GET /commands", func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.bsp.base+"/commands", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return listOf(r, "commands", nonEmptyString, "schema", "version", "dataschema")
	})},
	{id: "bsp.commands.schema", level: Must, description: "each catalogue entry's dataschema serves a JSON Schema", run: bspRoute("GET /commands/{schema}/{version}", func(ctx context.Context, s *session) outcome {
		entries := s.bspCatalogue(ctx)
		if len(entries) == 0 {
			return skip("the command catalogue is empty")
		}
		for _, e := range entries {
			r, err := s.do(ctx, "GET", e, nil)
			if err != nil {
				return fail("GET "+e, err.Error())
			}
			if r.status != http.StatusOK || r.json == nil {
				return fail(r.req, r.brief())
			}
		}
		return pass("GET " + entries[0])
	})},
	{id: "bsp.commands.schema-unknown", level: Must, description: "an unknown schema document is 404", run: bspRoute("GET /commands/{schema}/{version}", func(ctx context.Context, s *session) outcome {
		return s.expectStatus(ctx, "GET", s.bsp.base+"/commands/ospbox-check-no-such-command/1.0", nil, http.StatusNotFound)
	})},
	{id: "bsp.commands.unknown-type", level: Must, description: "a command of a type not in the catalogue is 400 or 422 with the error body", run: bspRoute("POST /commands", func(ctx context.Context, s *session) outcome {
		cmd := s.bspCommand("OspboxCheckNoSuchCommand", s.bsp.base+"/commands/ospbox-check-no-such-command/1.0")
		r, err := s.do(ctx, "POST", s.bsp.base+"/commands", cmd)
		if err != nil {
			return fail("", err.Error())
		}
		return check((r.status == http.StatusBadRequest || r.status == http.StatusUnprocessableEntity) && bspErrorBody(r), r.req, r.brief())
	})},
	{id: "bsp.commands.invalid-envelope", level: Should, description: "an envelope without its required attributes is 400 with the error body", run: bspRoute("POST /commands", func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "POST", s.bsp.base+"/commands", map[string]any{"specversion": "1.0"})
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusBadRequest && bspErrorBody(r), r.req, r.brief())
	})},
	{id: "bsp.events.list", level: Must, description: "GET /events answers {events: [...]} of CloudEvents", run: bspRoute("GET /events", func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.bsp.base+"/events", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return listOf(r, "events", nonEmptyString, "specversion", "id", "source", "type")
	})},
	{id: "bsp.events.cursor", level: Should, description: "nextCursor pages through the events without repeating one", run: bspRoute("GET /events", func(ctx context.Context, s *session) outcome {
		first, err := s.do(ctx, "GET", s.bsp.base+"/events?limit=1", nil)
		if err != nil {
			return fail("", err.Error())
		}
		cursor, _ := first.json["nextCursor"].(string)
		list, _ := first.json["events"].([]any)
		if len(list) == 0 {
			return skip("the event log is empty")
		}
		if cursor == "" {
			all, err := s.do(ctx, "GET", s.bsp.base+"/events", nil)
			if err == nil {
				if more, _ := all.json["events"].([]any); len(more) > 1 {
					return fail(first.req, "limit=1 with more events gives no nextCursor")
				}
			}
			return skip("one event only: nothing to page")
		}
		next, err := s.do(ctx, "GET", s.bsp.base+"/events?limit=1&after="+cursor, nil)
		if err != nil {
			return fail("", err.Error())
		}
		page, _ := next.json["events"].([]any)
		if next.status != http.StatusOK || len(page) != 1 {
			return fail(next.req, next.brief())
		}
		a, _ := list[0].(map[string]any)
		b, _ := page[0].(map[string]any)
		return check(a["id"] != b["id"], next.req, "the second page repeats event "+fmt.Sprint(a["id"]))
	})},
	{id: "bsp.events.bad-limit", level: Should, description: "an invalid limit is 400 with the error body", run: bspRoute("GET /events", func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.bsp.base+"/events?limit=-1", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusBadRequest && bspErrorBody(r), r.req, r.brief())
	})},
	{id: "bsp.events.stream", level: Must, description: "GET /events/stream answers 200 text/event-stream", run: bspRoute("GET /events/stream", func(ctx context.Context, s *session) outcome {
		r, err := s.head(ctx, s.bsp.base+"/events/stream")
		if err != nil {
			return fail("GET "+s.bsp.base+"/events/stream", err.Error())
		}
		mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		return check(r.status == http.StatusOK && mt == "text/event-stream", r.req, fmt.Sprintf("HTTP %d, Content-Type: %s", r.status, r.header.Get("Content-Type")))
	})},
	{id: "bsp.subscriptions.rejects-private", level: Should, description: "a webhook to a private address is refused with 400", run: bspRoute("POST /subscriptions", func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "POST", s.bsp.base+"/subscriptions", map[string]any{"webhook": map[string]any{"url": "https://10.0.0.1/ospbox-check"}})
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusBadRequest && bspErrorBody(r), r.req, r.brief())
	})},
}

// bspCatalogue lists the dataschema URLs of the command catalogue.
func (s *session) bspCatalogue(ctx context.Context) []string {
	r, err := s.do(ctx, "GET", s.bsp.base+"/commands", nil)
	if err != nil {
		return nil
	}
	var out []string
	list, _ := r.json["commands"].([]any)
	for _, c := range list {
		m, _ := c.(map[string]any)
		if d, _ := m["dataschema"].(string); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}
