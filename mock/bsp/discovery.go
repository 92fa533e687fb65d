package bsp

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// LegacyDiscovery translates a served BEST 0.9 manifest into 0.8 form: root bsp, io.best. names
// as io.bsp., version 0.8.1.
func LegacyDiscovery(root *jsondoc.Node) *kernel.Document {
	inner := root.Members[0].Value
	inner.Set("version", jsondoc.NewString("0.8.1"))
	legacyName := func(n *jsondoc.Node, member string) {
		if rest, ok := strings.CutPrefix(n.Str(member), "io.best."); ok {
			n.Set(member, jsondoc.NewString("io.bsp."+rest))
		}
	}
	for _, c := range inner.Get("capabilities").List() {
		legacyName(c, "name")
		legacyName(c, "extends")
		legacyName(c, "service")
	}
	// Service keys are names too (io.best.agents → io.bsp.agents); their endpoints keep pointing
	// where ospbox serves them.
	if services := inner.Get("services"); services != nil && services.Kind == jsondoc.Object {
		for i, m := range services.Members {
			if rest, ok := strings.CutPrefix(m.Name, "io.best."); ok {
				services.Members[i].Name = "io.bsp." + rest
			}
			if v := m.Value.Get("version"); v != nil && v.Kind == jsondoc.String {
				m.Value.Set("version", jsondoc.NewString("0.8.1"))
			}
		}
	}
	if t := inner.Get("tenants"); t != nil && t.Kind == jsondoc.Object {
		t.Set("manifest", jsondoc.NewString(strings.Replace(t.Str("manifest"), "/.well-known/best/", "/.well-known/bsp/", 1)))
	}
	out := jsondoc.NewObject()
	out.Set("bsp", inner)
	return kernel.DocumentOf(jsondoc.Indent(out))
}

// LiveDiscovery is a 0.6 manifest with its descriptors' live status, built per request: the
// host serves it at the discovery path. A service whose descriptors cannot be read keeps its
// declared statuses.
func (s *Engine) LiveDiscovery(ctx context.Context, surface manifests.Surface, origin string) *kernel.Document {
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

// ServeTenantDiscovery is GET /.well-known/bsp/{tenantId} (spec/bsp.md §4.3): the root manifest's
// credential, bound to the tenant; an unknown tenant and an unbound credential answer alike. The
// host routes here with the request logged; failures are answered in BSP's envelope.
// With legacy (bsp.legacy_alias, at /.well-known/bsp/{tenantId} of a 0.9 manifest) the tenant
// manifest is served in 0.8 form, as the root one is.
func (s *Engine) ServeTenantDiscovery(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState, origin, tenant string, legacy bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed here; use GET", nil)
		return
	}
	if st.Serving == nil {
		w.Header().Set("Retry-After", "5")
		WriteError(w, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet", nil)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	auth := bspBody(st.Serving.Surface).Get("authentication")
	if v := manifests.BSPSchemeOf(auth).Vary(); v != "" {
		h.Set("Vary", v)
	}
	cred, ok := s.bspAuthenticate(w, r, auth, *s.view().Config)
	if !ok {
		return
	}
	t := st.Serving.Tenant(tenant)
	if t == nil || (cred != nil && !slices.Contains(cred.Tenants, "*") && !slices.Contains(cred.Tenants, tenant)) {
		WriteError(w, http.StatusNotFound, "TENANT_NOT_FOUND", "no tenant "+tenant+" is served to this credential", nil)
		return
	}
	b := s.LiveDiscovery(r.Context(), *t, origin)
	if legacy {
		b = LegacyDiscovery(kernel.RewriteSurface(*t, origin, nil))
	}
	h.Set("ETag", b.ETag)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b.Body)
	}
}
