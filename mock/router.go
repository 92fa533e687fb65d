package mock

import (
	"net"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/orchestrator"
	"github.com/ospbox/ospbox/mock/osp"
)

// ServeHTTP routes a request to the surface it addresses (spec/README.md, Addressing):
// <slug>.localhost host names, /providers/<slug>/…, then the default provider at the root.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	origin := scheme + "://" + r.Host
	if rest, ok := strings.CutPrefix(r.URL.Path, "/ns/"); ok && s.namespaces != nil {
		s.serveNamespace(w, r, origin, rest)
		return
	}
	s.route(w, r, origin)
}

// route serves a request to this sandbox; origin is where the client reached it (a namespace's
// ends in /ns/<id>), so every URL in an answer stays inside the namespace.
func (s *Sandbox) route(w http.ResponseWriter, r *http.Request, origin string) {
	snap := s.Snapshot()
	if slug := hostSlug(r.Host); slug != "" && snap.Provider(slug) != nil {
		s.serveProvider(w, r, snap.Provider(slug), origin, r.URL.Path)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/providers/"); ok {
		slug, sub, _ := strings.Cut(rest, "/")
		p := snap.Provider(slug)
		if p == nil {
			s.logged(w, r, "osp", "", func(w http.ResponseWriter) {
				osp.WriteError(w, &osp.Error{Status: 404, Code: "not_found",
					Message: "no provider \"" + slug + "\" in this workspace", Details: map[string]any{"providers": slugs(snap)}})
			})
			return
		}
		s.serveProvider(w, r, p, origin+"/providers/"+slug, "/"+sub)
		return
	}
	if rest, ok := wellKnownInserted(r.URL.Path); ok {
		// RFC 9728 §3.1 and RFC 8414 §3.1 insert the well-known name before the resource's or
		// issuer's path; ospbox serves each document under its provider too, so it re-routes there.
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = rest, ""
		if sub, ok := strings.CutPrefix(rest, "/ns/"); ok && s.namespaces != nil {
			s.serveNamespace(w, r2, origin, sub)
			return
		}
		s.route(w, r2, origin)
		return
	}
	if orchestrator.IsPath(r.URL.Path) {
		s.logged(w, r, "orchestrator", "", func(w http.ResponseWriter) { s.orch.Serve(w, r, origin) })
		return
	}
	if strings.HasPrefix(r.URL.Path, "/ospbox/v1/") || strings.HasPrefix(r.URL.Path, "/schemas/") {
		s.serveControl(w, r, origin)
		return
	}
	if isSurfacePath(r.URL.Path) {
		s.serveSurface(w, r, snap, origin)
		return
	}
	if isOSPPath(r.URL.Path) {
		if p := snap.Provider(snap.Default); p != nil {
			s.serveProvider(w, r, p, origin, r.URL.Path)
			return
		}
		s.logged(w, r, "osp", "", func(w http.ResponseWriter) {
			osp.WriteError(w, &osp.Error{Status: 404, Code: "not_found",
				Message: "no default provider: name one in ospbox.json (osp.default_provider) or use /providers/<slug>/",
				Details: map[string]any{"providers": slugs(snap)}})
		})
		return
	}
	s.logged(w, r, "", "", func(w http.ResponseWriter) {
		osp.WriteError(w, osp.NewError("not_found", "nothing is served at "+r.URL.Path+"; providers are under /providers/<slug>/ and the UI under /ui/"))
	})
}

func isOSPPath(p string) bool {
	return strings.HasPrefix(p, "/.well-known/osp") || p == "/osp/v1" || strings.HasPrefix(p, "/osp/v1/") || osp.IsOAuthPath(p)
}

// wellKnownInserted turns /.well-known/<name>/<path> (the RFC 9728 and RFC 8414 form) into
// /<path>/.well-known/<name>, for the two OAuth metadata documents.
func wellKnownInserted(p string) (string, bool) {
	for _, name := range []string{"/.well-known/oauth-protected-resource/", "/.well-known/oauth-authorization-server/"} {
		if rest, ok := strings.CutPrefix(p, name); ok && rest != "" {
			return "/" + strings.TrimSuffix(rest, "/") + strings.TrimSuffix(name, "/"), true
		}
	}
	return "", false
}

// hostSlug returns <slug> for a Host of <slug>.localhost[:port], else "".
func hostSlug(host string) string {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	slug, ok := strings.CutSuffix(h, ".localhost")
	if !ok || strings.Contains(slug, ".") {
		return ""
	}
	return slug
}

func slugs(snap *Snapshot) []string {
	out := []string{}
	for _, p := range snap.Providers {
		out = append(out, p.Slug)
	}
	return out
}

// serveSurface answers the BSP/BEST and OAP paths: discovery, tenant discovery, and the service
// APIs under /bsp/ and /oap/.
func (s *Sandbox) serveSurface(w http.ResponseWriter, r *http.Request, snap *Snapshot, origin string) {
	path := r.URL.Path
	if st, ok := surfaceFor(snap, path); ok {
		s.serveSurfaceDiscovery(w, r, st, origin)
		return
	}
	proto := "bsp"
	if strings.HasPrefix(path, "/oap") || strings.HasPrefix(path, "/.well-known/oap") {
		proto = "oap"
	}
	if strings.HasPrefix(path, "/oap/") && snap.OAP.Disk.Present {
		s.logged(w, r, "oap", "", func(w http.ResponseWriter) { s.oap.Serve(w, r, snap.OAP) })
		return
	}
	if strings.HasPrefix(path, "/bsp/") && snap.BSP.Disk.Present {
		s.logged(w, r, "bsp", "", func(w http.ResponseWriter) { s.bsp.Serve(w, r, snap.BSP, origin) })
		return
	}
	if snap.BSP.Disk.Present {
		for _, p := range []string{"/.well-known/bsp/", "/.well-known/best/"} {
			want := kernel.DiscoveryPath(snap.BSP.Disk)
			if snap.BSP.Serving != nil {
				want = kernel.DiscoveryPath(snap.BSP.Serving.Surface)
			}
			// The 0.9 legacy alias answers tenant manifests at the 0.8 path too (spec/bsp.md §4.1).
			legacy := want == "/.well-known/best" && p == "/.well-known/bsp/" && snap.Config.BSP.LegacyAlias && snap.BSP.Serving != nil
			if tenant, ok := strings.CutPrefix(path, p); ok && (want+"/" == p || legacy) && tenant != "" && !strings.Contains(tenant, "/") {
				s.logged(w, r, "bsp", "", func(w http.ResponseWriter) { s.bsp.ServeTenantDiscovery(w, r, snap.BSP, origin, tenant, legacy) })
				return
			}
		}
	}
	s.logged(w, r, proto, "", func(w http.ResponseWriter) {
		msg := "nothing is served at " + path
		switch {
		case proto == "bsp" && !snap.BSP.Disk.Present, proto == "oap" && !snap.OAP.Disk.Present:
			msg += "; the workspace has no " + proto + "/manifest.json"
		case strings.HasPrefix(path, "/.well-known/"):
			msg += "; this workspace's discovery document is at " + kernel.DiscoveryPath(map[string]kernel.SurfaceState{"bsp": snap.BSP, "oap": snap.OAP}[proto].Disk)
		}
		surfaceError(w, proto, http.StatusNotFound, "NOT_FOUND", msg)
	})
}

// serveProvider logs a request to provider p (mounted at mount; path relative to it) and hands
// it to the OSP engine.
func (s *Sandbox) serveProvider(w http.ResponseWriter, r *http.Request, p *osp.ProviderState, mount, path string) {
	s.logged(w, r, "osp", p.Slug, func(w http.ResponseWriter) { s.osp.Serve(w, r, p, mount, path) })
}

// serveNamespace hands /ns/<id>/<rest> to the namespace's sandbox as <rest>.
func (s *Sandbox) serveNamespace(w http.ResponseWriter, r *http.Request, origin, rest string) {
	id, sub, _ := strings.Cut(rest, "/")
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+sub, ""
	if id == "default" {
		s.route(w, r2, origin+"/ns/default")
		return
	}
	o, err := s.namespaces.acquire(r.Context(), id)
	if err != nil {
		s.logged(w, r, "ospbox", "", func(w http.ResponseWriter) { namespaceError(w, id, s.namespaces.IDs(), err) })
		return
	}
	defer o.release()
	o.sb.route(w, r2, origin+"/ns/"+id)
}
