package mock

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// surfaceError writes the BSP/OAP error body {"error": {"code", "message"}} (spec/bsp.md §13,
// spec/oap.md §9).
func surfaceError(w http.ResponseWriter, status int, code, msg string) {
	kernel.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// serveSurfaceDiscovery answers GET/HEAD on a BSP/BEST or OAP discovery path. Discovery is always
// public.
func (s *Sandbox) serveSurfaceDiscovery(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState, origin string) {
	proto := st.Disk.Protocol
	s.logged(w, r, proto, "", func(w http.ResponseWriter) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			surfaceError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed here; use GET")
			return
		}
		if st.Serving == nil {
			w.Header().Set("Retry-After", "5")
			surfaceError(w, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet; fix it and ospbox serves it")
			return
		}
		b := st.Serving.Body(origin)
		switch {
		case proto == "oap":
			b = s.oap.Discovery(st.Serving, origin)
		case st.Serving.Surface.Generation == "0.9" && !strings.HasPrefix(r.URL.Path, "/.well-known/best"):
			b = legacyBSPBody(st.Serving.Rewritten(origin))
		case st.Serving.Surface.Generation == "0.6":
			b = s.liveBSPBody(r.Context(), st.Serving.Surface, origin)
		}
		h := w.Header()
		h.Set("ETag", b.ETag)
		h.Set("Cache-Control", "no-cache")
		h.Set("Access-Control-Allow-Origin", "*")
		if match := r.Header.Get("If-None-Match"); match != "" && kernel.ETagMatches(match, b.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			kernel.SetLogBody(w, b)
			w.Write(b.Body)
		}
	})
}

// surfaceFor matches a discovery path to the workspace's BSP or OAP surface.
func surfaceFor(snap *Snapshot, path string) (kernel.SurfaceState, bool) {
	if path == "/.well-known/oap" {
		return snap.OAP, snap.OAP.Disk.Present
	}
	if !snap.BSP.Disk.Present {
		return kernel.SurfaceState{}, false
	}
	want := kernel.DiscoveryPath(snap.BSP.Disk)
	if snap.BSP.Serving != nil {
		want = kernel.DiscoveryPath(snap.BSP.Serving.Surface)
	}
	if path == want || path == want+".json" {
		return snap.BSP, true
	}
	// BEST 0.9's transition courtesy: the manifest in 0.8 form at the old path (spec/bsp.md §4.1).
	legacy := want == "/.well-known/best" && snap.Config.BSP.LegacyAlias && snap.BSP.Serving != nil
	return snap.BSP, legacy && (path == "/.well-known/bsp" || path == "/.well-known/bsp.json")
}

// legacyBSPBody translates a served BEST 0.9 manifest into 0.8 form: root bsp, io.best. names
// as io.bsp., version 0.8.1.
func legacyBSPBody(root *jsondoc.Node) *kernel.Document {
	inner := root.Members[0].Value
	inner.Set("version", jsondoc.NewString("0.8.1"))
	for _, c := range inner.Get("capabilities").List() {
		if rest, ok := strings.CutPrefix(c.Str("name"), "io.best."); ok {
			c.Set("name", jsondoc.NewString("io.bsp."+rest))
		}
		if rest, ok := strings.CutPrefix(c.Str("extends"), "io.best."); ok {
			c.Set("extends", jsondoc.NewString("io.bsp."+rest))
		}
	}
	out := jsondoc.NewObject()
	out.Set("bsp", inner)
	return kernel.DocumentOf(jsondoc.Indent(out))
}

// liveBSPBody is a 0.6 manifest with its descriptors' live status.
func (s *Sandbox) liveBSPBody(ctx context.Context, surface manifests.Surface, origin string) *kernel.Document {
	statuses := map[string]string{}
	for _, key := range surface.Services {
		descs, err := s.bspDescriptors(ctx, nil, surface, surface.Tenant, key)
		if err != nil {
			continue
		}
		for _, d := range descs {
			if d.Declared {
				statuses[d.ID] = d.Status
			}
		}
	}
	return kernel.DocumentOf(jsondoc.Indent(kernel.RewriteSurface(surface, origin, statuses)))
}

// serveTenantDiscovery is GET /.well-known/bsp/{tenantId} (spec/bsp.md §4.3): the root manifest's
// credential, bound to the tenant; an unknown tenant and an unbound credential answer alike.
func (s *Sandbox) serveTenantDiscovery(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState, origin, tenant string) {
	s.logged(w, r, "bsp", "", func(w http.ResponseWriter) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			bspError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed here; use GET", nil)
			return
		}
		if st.Serving == nil {
			w.Header().Set("Retry-After", "5")
			bspError(w, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet", nil)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "private, no-store")
		auth := bspBody(st.Serving.Surface).Get("authentication")
		if v := manifests.BSPSchemeOf(auth).Vary(); v != "" {
			h.Set("Vary", v)
		}
		cred, ok := s.bspAuthenticate(w, r, auth, s.Snapshot().Config)
		if !ok {
			return
		}
		t := st.Serving.Tenant(tenant)
		if t == nil || (cred != nil && !slices.Contains(cred.Tenants, "*") && !slices.Contains(cred.Tenants, tenant)) {
			bspError(w, http.StatusNotFound, "TENANT_NOT_FOUND", "no tenant "+tenant+" is served to this credential", nil)
			return
		}
		b := s.liveBSPBody(r.Context(), *t, origin)
		h.Set("ETag", b.ETag)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(b.Body)
		}
	})
}

// isSurfacePath reports whether a path belongs to the BSP/BEST or OAP surfaces.
func isSurfacePath(p string) bool {
	for _, prefix := range []string{"/.well-known/bsp", "/.well-known/best", "/.well-known/oap", "/bsp/", "/oap/"} {
		if p == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
