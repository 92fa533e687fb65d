package bsp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// The BSP/BEST service APIs (spec/bsp.md §4–§14), under /bsp/<serviceKey>/ for the root manifest
// and /bsp/tenants/<tenantId>/<serviceKey>/ for a tenant's. State lives in the state database:
// events, commands, subscriptions and the 0.6 registry.

// bspCall is one request to a BSP service, resolved: which manifest, which service, who asks.
type bspCall struct {
	served    *kernel.ServedSurface
	surface   manifests.Surface // the root manifest or the tenant's
	scope     string            // tenant id, "" for the root
	service   string            // service key
	gen       string
	base      string // the service's served URL without the trailing slash
	caps      map[string]manifests.BSPCapability
	cred      *manifests.BSPCredential // nil when the manifest declares no authentication
	principal string                   // credential fingerprint, or "anonymous"
	cfg       manifests.Config
}

// scheme is where the manifest wants the credential.
func (c *bspCall) scheme() manifests.BSPScheme {
	return manifests.BSPSchemeOf(bspBody(c.surface).Get("authentication"))
}

// mayCommand is the command authorisation of spec/bsp.md §5: deny by default.
func (c *bspCall) mayCommand(typ string) bool {
	if c.cred == nil {
		return true
	}
	return slices.Contains(c.cred.Allow, "*") || slices.Contains(c.cred.Allow, typ)
}

// bspBody returns the body of a surface's manifest (its single root member's value).
func bspBody(s manifests.Surface) *jsondoc.Node { return s.Doc.Root.Members[0].Value }

// Serve answers everything under /bsp/ for the surface st. The host routes here with the
// request logged and its body bounded by bsp.body_limit; every failure is answered in BSP's
// envelope.
func (s *Engine) Serve(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState, origin string) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if st.Serving == nil {
		w.Header().Set("Retry-After", "5")
		WriteError(w, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet; fix it and ospbox serves it", nil)
		return
	}
	call, rest, ok := s.resolveBSP(w, r, st.Serving, origin)
	if !ok {
		return
	}
	s.routeBSP(w, r, call, rest)
}

// resolveBSP finds the manifest and service a /bsp/ path addresses and authenticates the caller.
func (s *Engine) resolveBSP(w http.ResponseWriter, r *http.Request, served *kernel.ServedSurface, origin string) (*bspCall, string, bool) {
	path := strings.TrimPrefix(r.URL.Path, "/bsp/")
	call := &bspCall{served: served, surface: served.Surface, gen: served.Surface.Generation, cfg: *s.view().Config}
	mount := kernel.BSPMount(origin, "")
	if rest, ok := strings.CutPrefix(path, "tenants/"); ok {
		tenant, after, _ := strings.Cut(rest, "/")
		t := served.Tenant(tenant)
		if t == nil {
			// Without credentials the caller learns nothing either way (spec/bsp.md §4.3).
			WriteError(w, http.StatusNotFound, "TENANT_NOT_FOUND", "no tenant "+tenant+" is served to this credential", nil)
			return nil, "", false
		}
		call.surface, call.scope, path, mount = *t, tenant, after, kernel.BSPMount(origin, tenant)
	}
	key, rest, _ := strings.Cut(path, "/")
	body := bspBody(call.surface)
	svc := body.Get("services").Get(key)
	if key == "" || svc == nil || !svc.Has("http") {
		WriteError(w, http.StatusNotFound, "NOT_FOUND", "no service "+key+" with an http binding in "+call.surface.File, map[string]any{"services": append([]string{}, call.surface.Services...)})
		return nil, "", false
	}
	call.service, call.base = key, mount+key
	call.caps = served.Capabilities(call.surface)[key]
	cred, ok := s.bspAuthenticate(w, r, body.Get("authentication"), call.cfg)
	if !ok {
		return nil, "", false
	}
	call.cred, call.principal = cred, "anonymous"
	if cred != nil {
		sum := sha256.Sum256([]byte(cred.Token))
		call.principal = "cred:" + hex.EncodeToString(sum[:6])
		if call.scope != "" && !slices.Contains(cred.Tenants, "*") && !slices.Contains(cred.Tenants, call.scope) {
			WriteError(w, http.StatusNotFound, "TENANT_NOT_FOUND", "no tenant "+call.scope+" is served to this credential", nil)
			return nil, "", false
		}
	}
	return call, "/" + rest, true
}

// bspAuthenticate demands what the authentication block declares (spec/bsp.md §5). The
// credential is nil when nothing is declared.
func (s *Engine) bspAuthenticate(w http.ResponseWriter, r *http.Request, auth *jsondoc.Node, cfg manifests.Config) (*manifests.BSPCredential, bool) {
	scheme := manifests.BSPSchemeOf(auth)
	if scheme.In == "" {
		return nil, true
	}
	token := scheme.Presented(r)
	if token != "" {
		for i := range cfg.BSP.Credentials {
			c := &cfg.BSP.Credentials[i]
			if subtle.ConstantTimeCompare([]byte(c.Token), []byte(token)) == 1 {
				return c, true
			}
		}
	}
	w.Header().Set("WWW-Authenticate", scheme.Challenge())
	msg := "this service needs a credential: " + scheme.Hint()
	if token != "" {
		msg = "the credential is not one of this workspace's (bsp.credentials in ospbox.json)"
	}
	WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg, nil)
	return nil, false
}

// bspRoute matches a path below a service to its route template and capability.
func bspRoute(rest string) (route, suffix string, params []string, methods []string) {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	n := len(segs)
	switch {
	case segs[0] == "commands" && n == 1:
		return "/commands", "agents.commands", nil, []string{"GET", "POST"}
	case segs[0] == "commands" && n == 3:
		return "/commands/{schema}/{version}", "agents.commands", segs[1:], []string{"GET"}
	case segs[0] == "events" && n == 1:
		return "/events", "agents.events", nil, []string{"GET"}
	case segs[0] == "events" && n == 2 && segs[1] == "stream":
		return "/events/stream", "agents.events", nil, []string{"GET"}
	case segs[0] == "events" && n == 3:
		return "/events/{schema}/{version}", "agents.events", segs[1:], []string{"GET"}
	case segs[0] == "subscriptions" && n == 1:
		return "/subscriptions", "agents.events", nil, []string{"POST"}
	case segs[0] == "subscriptions" && n == 2:
		return "/subscriptions/{id}", "agents.events", segs[1:], []string{"DELETE"}
	case segs[0] == "queries" && n == 1:
		return "/queries", "agents.queries", nil, []string{"GET"}
	case segs[0] == "queries" && n == 2:
		return "/queries/{schema}", "agents.queries", segs[1:], []string{"GET"}
	case segs[0] == "queries" && n == 3:
		return "/queries/{schema}/{version}", "agents.queries", segs[1:], []string{"GET"}
	case segs[0] == "services" && n == 1:
		return "/services", "agents.registry", nil, []string{"GET", "POST"}
	case segs[0] == "services" && n == 2:
		return "/services/{id}", "agents.registry", segs[1:], []string{"GET", "DELETE"}
	case segs[0] == "services" && n == 3 && (segs[2] == "pause" || segs[2] == "resume" || segs[2] == "heartbeat"):
		return "/services/{id}/" + segs[2], "agents.lifecycle", segs[1:2], []string{"POST"}
	}
	return "", "", nil, nil
}

// routeBSP checks method and capability gating (spec/bsp.md §6) and runs the route.
func (s *Engine) routeBSP(w http.ResponseWriter, r *http.Request, c *bspCall, rest string) {
	route, suffix, params, methods := bspRoute(rest)
	if route == "" || !manifests.BSPStandard(c.gen, suffix) {
		WriteError(w, http.StatusNotFound, "NOT_FOUND", "no route at "+r.URL.Path+" in generation "+c.gen+" (routes: /commands, /events, /events/stream, /subscriptions, /queries, and /services in 0.6)", nil)
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if !slices.Contains(methods, method) {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		WriteError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+route+"; use "+strings.Join(methods, " or "), nil)
		return
	}
	full := method + " " + route
	cp, declared := c.caps[suffix]
	if !declared || !cp.Serves(full) {
		why := "the manifest does not declare " + manifests.BSPNamespace(c.gen) + suffix + " for service " + c.service
		if declared {
			why = cp.Name + " is " + cp.Status
			if cp.Status == "partial" {
				why += " and its endpoints do not list " + full
			}
		}
		WriteError(w, http.StatusUnprocessableEntity, "CAPABILITY_NOT_SUPPORTED", why, nil)
		return
	}
	switch route {
	case "/commands":
		if method == http.MethodPost {
			s.postBSPCommand(w, r, c)
			return
		}
		s.listBSPCommands(w, c)
	case "/commands/{schema}/{version}":
		serveBSPDocument(w, c.surface.Catalog, "commands", params[0], params[1])
	case "/events":
		s.listBSPEvents(w, r, c)
	case "/events/stream":
		s.streamBSPEvents(w, r, c)
	case "/events/{schema}/{version}":
		serveBSPDocument(w, c.surface.Catalog, "events", params[0], params[1])
	case "/subscriptions":
		s.postBSPSubscription(w, r, c)
	case "/subscriptions/{id}":
		s.deleteBSPSubscription(w, r, c, params[0])
	case "/queries":
		listBSPQueries(w, c)
	case "/queries/{schema}/{version}":
		serveBSPDocument(w, c.surface.Catalog, "queries", params[0], params[1])
	case "/queries/{schema}":
		runBSPQuery(w, r, c, params[0])
	default:
		s.serveBSPRegistry(w, r, c, route, params)
	}
}

// serveBSPDocument is GET /{kind}/{schema}/{version}: the authored document without its
// x-ospbox members.
func serveBSPDocument(w http.ResponseWriter, cat *manifests.Catalog, kind, schema, version string) {
	e, ok := catalogEntry(cat, kind, schema, version)
	if !ok {
		WriteError(w, http.StatusNotFound, "SCHEMA_NOT_FOUND", "no "+strings.TrimSuffix(kind, "s")+" schema "+schema+"/"+version+" in this catalogue", nil)
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.WriteHeader(http.StatusOK)
	w.Write(jsondoc.Indent(e.Served()))
}

func catalogEntry(cat *manifests.Catalog, kind, schema, version string) (manifests.CatalogEntry, bool) {
	if cat == nil {
		return manifests.CatalogEntry{}, false
	}
	for _, e := range cat.Entries {
		if e.Kind == kind && e.Schema == schema && e.Version == version {
			return e, true
		}
	}
	return manifests.CatalogEntry{}, false
}

// catalogKind lists one kind of a catalogue sorted by schema, then version numerically.
func catalogKind(cat *manifests.Catalog, kind string) []manifests.CatalogEntry {
	var out []manifests.CatalogEntry
	if cat == nil {
		return out
	}
	for _, e := range cat.Entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b manifests.CatalogEntry) int {
		if a.Schema != b.Schema {
			return strings.Compare(a.Schema, b.Schema)
		}
		return compareVersions(a.Version, b.Version)
	})
	return out
}

// compareVersions compares dotted numeric versions (1.10 after 1.9).
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
