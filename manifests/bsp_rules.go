package manifests

import (
	"fmt"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// bspStandard lists the standard capabilities of each generation, by suffix after the namespace.
var bspStandard = map[string][]string{
	"0.6": {"agents.registry", "agents.lifecycle", "agents.events", "agents.commands", "agents.queries"},
	"0.8": {"agents.events", "agents.commands", "agents.queries"},
	"0.9": {"agents.events", "agents.commands", "agents.queries"},
}

// bspRoutes are the routes of each standard capability (spec/bsp.md §6), and which of them an
// active capability's endpoints are expected to list.
var bspRoutes = map[string][]string{
	"agents.commands":  {"GET /commands", "POST /commands", "GET /commands/{schema}/{version}"},
	"agents.events":    {"GET /events", "GET /events/stream", "GET /events/{schema}/{version}", "POST /subscriptions", "DELETE /subscriptions/{id}"},
	"agents.queries":   {"GET /queries", "GET /queries/{schema}/{version}", "GET /queries/{schema}"},
	"agents.registry":  {"GET /services", "POST /services", "GET /services/{id}", "DELETE /services/{id}"},
	"agents.lifecycle": {"POST /services/{id}/pause", "POST /services/{id}/resume", "POST /services/{id}/heartbeat"},
}

// bspRequiredRoutes are the routes without which a client cannot use the capability.
var bspRequiredRoutes = map[string][]string{
	"agents.commands": {"GET /commands", "POST /commands"},
	"agents.events":   {"GET /events"},
	"agents.queries":  {"GET /queries"},
}

func bspNamespace(gen string) string {
	if gen == "0.9" {
		return "io.best."
	}
	return "io.bsp."
}

// bspRules are the checks a schema cannot express (spec/bsp.md §2.2); cat, when known, is the
// workspace's catalogue for the cross-file rules.
func (r *reporter) bspRules(s *Surface, body *jsondoc.Node, cat *Catalog) {
	base := "/" + s.RootKey
	gen := s.Generation
	ns := bspNamespace(gen)
	otherNS := "io.best."
	if gen == "0.9" {
		otherNS = "io.bsp."
	}
	services := body.Get("services")
	declared := map[string]*jsondoc.Node{}
	for _, c := range items(body.Get("capabilities")) {
		declared[c.Str("name")] = c
	}
	tenants := body.Get("tenants")
	implementing := map[string]bool{}
	for i, c := range items(body.Get("capabilities")) {
		ptr := fmt.Sprintf("%s/capabilities/%d", base, i)
		name := c.Str("name")
		status := c.Str("status")
		if status == "" {
			status = "active"
		}
		suffix, reserved := strings.CutPrefix(name, ns)
		switch {
		case strings.HasPrefix(name, otherNS):
			r.at(SeverityError, ptr+"/name", "namespace_mismatch", fmt.Sprintf("%s names belong to another generation; a %s manifest uses %s*", otherNS+"*", gen, ns))
		case reserved && !contains(bspStandard[gen], suffix):
			if gen == "0.6" && suffix == "agents.memory" {
				r.at(SeverityWarning, ptr+"/name", "unknown_reserved_capability", name+" is known in 0.6 but ospbox does not serve it")
			} else {
				r.at(SeverityError, ptr+"/name", "unknown_reserved_capability", fmt.Sprintf("%s is not a standard capability of generation %s (standard: %s)", name, gen, strings.Join(prefixAll(ns, bspStandard[gen]), ", ")))
			}
		}
		if reserved && (c.Str("spec") == "" || c.Str("schema") == "") {
			r.at(SeverityError, ptr, "reserved_needs_spec", "capabilities in the reserved namespace need spec and schema URIs")
		}
		if reserved && suffix == "agents.lifecycle" {
			if declared[ns+"agents.registry"] == nil {
				r.at(SeverityError, ptr, "lifecycle_without_registry", "agents.lifecycle needs agents.registry in the same manifest")
			} else if c.Str("extends") != ns+"agents.registry" {
				r.at(SeverityError, ptr, "lifecycle_without_registry", "agents.lifecycle must extend "+ns+"agents.registry")
			}
		}
		if ext := c.Str("extends"); ext != "" && declared[ext] == nil {
			r.at(SeverityError, ptr+"/extends", "extends_unresolved", fmt.Sprintf("extends names %q, which this manifest does not declare", ext))
		}
		// Which service implements it.
		svcKey := c.Str("service")
		if svcKey != "" {
			if services.Get(svcKey) == nil {
				r.at(SeverityError, ptr+"/service", "service_unresolved", fmt.Sprintf("service %q is not a key of services (%s)", svcKey, strings.Join(memberNames(services), ", ")))
				svcKey = ""
			}
		} else {
			for _, m := range memberNamesOf(services) {
				if strings.HasPrefix(name, m+".") && len(m) > len(svcKey) {
					svcKey = m
				}
			}
			if svcKey == "" {
				r.at(SeverityError, ptr, "service_unresolved", fmt.Sprintf("no service implements %s: name one with \"service\", or add a service whose key is a prefix of the name", name))
			}
		}
		if svcKey != "" {
			implementing[svcKey] = true
		}
		eps := items(c.Get("endpoints"))
		if status == "planned" && len(eps) > 0 {
			r.at(SeverityWarning, ptr+"/endpoints", "planned_with_endpoints", "a planned capability lists endpoints; ospbox answers 422 on all of them until it is active")
		}
		if reserved {
			listed := map[string]bool{}
			for j, ep := range eps {
				route := ep.Str("method") + " " + ep.Str("path")
				listed[route] = true
				if routes, ok := bspRoutes[suffix]; ok && !contains(routes, route) {
					r.at(SeverityWarning, fmt.Sprintf("%s/endpoints/%d", ptr, j), "unknown_route", fmt.Sprintf("%s is not a route of %s (routes: %s)", route, suffix, strings.Join(routes, ", ")))
				}
			}
			if status == "active" && len(eps) > 0 {
				var missing []string
				for _, route := range bspRequiredRoutes[suffix] {
					if !listed[route] {
						missing = append(missing, route)
					}
				}
				if len(missing) > 0 {
					r.at(SeverityWarning, ptr+"/endpoints", "route_missing", fmt.Sprintf("endpoints omit %s; ospbox serves them anyway, but clients reading endpoints will not find them", strings.Join(missing, ", ")))
				}
			}
			if tenants != nil && (suffix == "agents.commands" || suffix == "agents.events" || suffix == "agents.queries") {
				r.at(SeverityError, ptr, "tenant_scoped_capability_in_root", name+" is tenant-scoped: with tenants declared, list it in the tenant manifests, not the root")
			}
		} else {
			if tenants != nil {
				r.at(SeverityWarning, ptr, "possibly_tenant_scoped", name+" sits in a root manifest with tenants; if it is per tenant, move it to the tenant manifests")
			}
			if status == "active" && len(eps) > 0 {
				r.at(SeverityWarning, ptr+"/endpoints", "endpoint_not_simulated", "ospbox simulates the standard capabilities only; these endpoints of a custom capability will answer 404")
			}
		}
		if push := c.Get("push"); push != nil && gen != "0.6" && push.Has("a2a") {
			r.at(SeverityError, ptr+"/push/a2a", "push_channel", "the a2a push channel exists in generation 0.6 only")
		}
	}
	for _, m := range memberNamesOf(services) {
		svc := services.Get(m)
		ptr := base + "/services/" + jsondoc.PointerToken(m)
		if implementing[m] && svc.Get("http") == nil {
			r.at(SeverityError, ptr, "http_binding_missing", "this service implements a capability but has no http binding; ospbox serves capabilities over HTTP")
		}
		if svc.Has("a2a") {
			switch {
			case gen == "0.6":
			case gen == "0.8" && strings.HasPrefix(s.Version, "0.7."):
				r.at(SeverityWarning, ptr+"/a2a", "a2a_binding", "a2a bindings were removed after BSP 0.7; ospbox publishes it as written")
			default:
				r.at(SeverityError, ptr+"/a2a", "a2a_binding", "a2a bindings exist in generation 0.6 only")
			}
		}
		for _, b := range []string{"mcp", "a2a", "grpc"} {
			if svc.Has(b) {
				r.at(SeverityInfo, ptr+"/"+b, "binding_not_served", b+" binding: published as authored, not served by ospbox")
			}
		}
		if strings.Contains(svc.Get("http").Str("endpoint"), "{") {
			r.at(SeverityError, ptr+"/http/endpoint", "placeholder_in_uri", "URI templates are only valid in tenants.manifest; write a concrete URL")
		}
		for _, k := range []string{"spec"} {
			if strings.Contains(svc.Str(k), "{") {
				r.at(SeverityError, ptr+"/"+k, "placeholder_in_uri", "URI templates are only valid in tenants.manifest; write a concrete URL")
			}
		}
	}
	for i, c := range items(body.Get("capabilities")) {
		for _, k := range []string{"spec", "schema"} {
			if strings.Contains(c.Str(k), "{") {
				r.at(SeverityError, fmt.Sprintf("%s/capabilities/%d/%s", base, i, k), "placeholder_in_uri", "URI templates are only valid in tenants.manifest; write a concrete URL")
			}
		}
	}
	if auth := body.Get("authentication"); auth != nil {
		typ := auth.Str("type")
		if typ == "apiKey" && !auth.Has("scheme") {
			r.at(SeverityWarning, base+"/authentication", "api_key_scheme", "apiKey without scheme: ospbox expects the header X-Api-Key")
		}
		if typ != "apiKey" && auth.Has("in") {
			r.at(SeverityWarning, base+"/authentication/in", "api_key_scheme", "\"in\" applies to apiKey authentication only")
		}
		for _, k := range []string{"tokenUrl", "docs"} {
			if strings.Contains(auth.Str(k), "{") {
				r.at(SeverityError, base+"/authentication/"+k, "placeholder_in_uri", "URI templates are only valid in tenants.manifest; write a concrete URL")
			}
		}
	}
	if tenants != nil {
		tmpl := tenants.Str("manifest")
		vars := templateVars(tmpl)
		if len(vars) == 0 || len(vars) != countOf(vars, "tenantId") {
			r.at(SeverityError, base+"/tenants/manifest", "tenant_template", fmt.Sprintf("tenants.manifest must use the variable {tenantId} and no other (found %s)", describeVars(vars)))
		}
		want := "/.well-known/bsp/{tenantId}"
		if gen == "0.9" {
			want = "/.well-known/best/{tenantId}"
		}
		if !strings.HasSuffix(tmpl, want) && !strings.Contains(tmpl, "://{tenantId}.") {
			r.at(SeverityWarning, base+"/tenants/manifest", "tenant_template_path", "tenants.manifest normally ends in "+want+" (or uses the subdomain form)")
		}
	}
	seen := map[string]int{}
	commandTypes, eventTypes := map[string]CatalogEntry{}, map[string]CatalogEntry{}
	if cat != nil {
		commandTypes, eventTypes = cat.Types("commands"), cat.Types("events")
		if c := declared[ns+"agents.commands"]; c != nil && (c.Str("status") == "" || c.Str("status") == "active") && len(commandTypes) == 0 {
			r.at(SeverityWarning, base+"/capabilities", "empty_catalogue", "the commands capability is active but bsp/commands/ holds no command schemas")
		}
	}
	for i, a := range items(body.Get("agents")) {
		ptr := fmt.Sprintf("%s/agents/%d", base, i)
		if id := a.Str("id"); id != "" {
			if j, dup := seen[id]; dup {
				r.at(SeverityError, ptr+"/id", "duplicate_agent_id", fmt.Sprintf("agent id %q is already used %s", id, r.where(fmt.Sprintf("%s/agents/%d/id", base, j))))
			}
			seen[id] = i
		}
		if strings.Contains(a.Str("endpoint"), "{") {
			r.at(SeverityError, ptr+"/endpoint", "placeholder_in_uri", "URI templates are only valid in tenants.manifest; write a concrete URL")
		}
		if cat == nil {
			continue
		}
		for j, t := range items(a.Get("accepts")) {
			if _, ok := commandTypes[t.Text]; !ok && t.Text != "" {
				r.at(SeverityWarning, fmt.Sprintf("%s/accepts/%d", ptr, j), "type_undefined", fmt.Sprintf("no command schema defines %s: add bsp/commands/%s/1.0.json", t.Text, kebab(t.Text)))
			}
		}
		for j, t := range items(a.Get("produces")) {
			if _, ok := eventTypes[t.Text]; !ok && t.Text != "" {
				r.at(SeverityInfo, fmt.Sprintf("%s/produces/%d", ptr, j), "type_undefined", fmt.Sprintf("no event schema defines %s; it is published untyped (add bsp/events/%s/1.0.json)", t.Text, kebab(t.Text)))
			}
		}
	}
}

func prefixAll(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func memberNamesOf(n *jsondoc.Node) []string {
	if n == nil || n.Kind != jsondoc.Object {
		return nil
	}
	return memberNames(n)
}

func memberNames(n *jsondoc.Node) []string {
	var out []string
	if n == nil {
		return out
	}
	for _, m := range n.Members {
		out = append(out, m.Name)
	}
	return out
}

// templateVars lists the variable names of an RFC 6570 template ({a}, {+b}, {c,d}).
func templateVars(t string) []string {
	var out []string
	for {
		i := strings.Index(t, "{")
		if i < 0 {
			return out
		}
		j := strings.Index(t[i:], "}")
		if j < 0 {
			return append(out, t[i+1:])
		}
		for _, v := range strings.Split(strings.TrimLeft(t[i+1:i+j], "+#./;?&"), ",") {
			out = append(out, strings.TrimSuffix(v, "*"))
		}
		t = t[i+j+1:]
	}
}

func countOf(xs []string, s string) int {
	n := 0
	for _, x := range xs {
		if x == s {
			n++
		}
	}
	return n
}

func describeVars(vars []string) string {
	if len(vars) == 0 {
		return "none"
	}
	return "{" + strings.Join(vars, "}, {") + "}"
}

// kebab turns a PascalCase type into the schema folder name it would come from.
func kebab(t string) string {
	var b strings.Builder
	for i, r := range t {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r + ('a' - 'A'))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
