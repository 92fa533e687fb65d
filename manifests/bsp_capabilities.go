package manifests

import (
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// BSPCapability is a standard capability as one service implements it (spec/bsp.md §6).
type BSPCapability struct {
	Name      string // as declared, e.g. io.bsp.agents.commands
	Suffix    string // agents.commands, agents.events, …
	Status    string // active, partial, planned
	Endpoints []string
	Push      map[string]bool
}

// Serves reports whether the capability answers a route ("GET /commands"): active serves every
// route, partial only those its endpoints list, planned none.
func (c BSPCapability) Serves(route string) bool {
	switch c.Status {
	case "active":
		return true
	case "partial":
		return contains(c.Endpoints, route)
	}
	return false
}

// BSPRoutes are the routes of each standard capability, by suffix.
func BSPRoutes(suffix string) []string { return bspRoutes[suffix] }

// BSPStandard reports whether suffix is a standard capability of generation gen.
func BSPStandard(gen, suffix string) bool { return contains(bspStandard[gen], suffix) }

// BSPNamespace is the reserved namespace of a generation: io.bsp. or io.best.
func BSPNamespace(gen string) string { return bspNamespace(gen) }

// BSPServiceCapabilities maps each service key of a valid manifest to the standard capabilities
// it implements, by suffix. A capability names its service, or belongs to the service whose key
// is the longest prefix of its name.
func BSPServiceCapabilities(doc *jsondoc.Node, gen string) map[string]map[string]BSPCapability {
	body := doc.Members[0].Value
	services := body.Get("services")
	out := map[string]map[string]BSPCapability{}
	for _, key := range memberNamesOf(services) {
		out[key] = map[string]BSPCapability{}
	}
	ns := bspNamespace(gen)
	for _, c := range items(body.Get("capabilities")) {
		name := c.Str("name")
		suffix, reserved := strings.CutPrefix(name, ns)
		if !reserved || !contains(bspStandard[gen], suffix) {
			continue
		}
		key := c.Str("service")
		if key == "" {
			for _, m := range memberNamesOf(services) {
				if strings.HasPrefix(name, m+".") && len(m) > len(key) {
					key = m
				}
			}
		}
		if out[key] == nil {
			continue
		}
		cp := BSPCapability{Name: name, Suffix: suffix, Status: c.Str("status"), Push: map[string]bool{}}
		if cp.Status == "" {
			cp.Status = "active"
		}
		for _, ep := range items(c.Get("endpoints")) {
			cp.Endpoints = append(cp.Endpoints, ep.Str("method")+" "+ep.Str("path"))
		}
		if p := c.Get("push"); p != nil {
			for _, m := range p.Members {
				cp.Push[m.Name] = m.Value.Kind == jsondoc.Bool && m.Value.Text == "true"
			}
		}
		out[key][suffix] = cp
	}
	return out
}
