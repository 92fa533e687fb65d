package mock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// SurfaceState pairs a BSP/BEST or OAP manifest on disk with the version being served.
type SurfaceState struct {
	Disk    manifests.Surface
	Serving *ServedSurface // last good version; nil when the file never validated
}

// Stale reports whether the served version is older than a broken file on disk.
func (s SurfaceState) Stale() bool { return s.Serving != nil && s.Disk.Present && !s.Disk.Report.Valid }

// ServedSurface is a valid BSP/BEST or OAP manifest and its rewritten bodies per mount.
type ServedSurface struct {
	Surface manifests.Surface
	bodies  sync.Map // origin → *kernel.Document
	cached  atomic.Int32
	caps    sync.Map // tenant id ("" for the root) → its services' BSP capabilities
}

// capabilities returns the standard capabilities of each service of the root manifest or a
// tenant's, worked out once per served version.
func (sv *ServedSurface) capabilities(surface manifests.Surface) map[string]map[string]manifests.BSPCapability {
	if c, ok := sv.caps.Load(surface.Tenant); ok {
		return c.(map[string]map[string]manifests.BSPCapability)
	}
	c := manifests.BSPServiceCapabilities(surface.Doc.Root, surface.Generation)
	sv.caps.Store(surface.Tenant, c)
	return c
}

// nextSurface keeps the last good served version when the file on disk has errors. A BSP
// manifest is served with its tenant manifests and catalogues, so any valid reload is a new
// version; a broken tenant manifest keeps its last good version too.
func nextSurface(disk manifests.Surface, prev SurfaceState) SurfaceState {
	st := SurfaceState{Disk: disk, Serving: prev.Serving}
	switch {
	case disk.Doc != nil && disk.Protocol == "bsp":
		served := disk
		served.Tenants = nil
		for _, t := range disk.Tenants {
			if t.Doc == nil && prev.Serving != nil {
				if old := prev.Serving.tenant(t.Tenant); old != nil {
					t = *old
				}
			}
			served.Tenants = append(served.Tenants, t)
		}
		st.Serving = &ServedSurface{Surface: served}
	case disk.Doc != nil:
		if prev.Serving == nil || string(jsondoc.Canonical(prev.Serving.Surface.Doc.Root)) != string(jsondoc.Canonical(disk.Doc.Root)) {
			st.Serving = &ServedSurface{Surface: disk}
		}
	case !disk.Present:
		st.Serving = nil
	}
	return st
}

// DiscoveryPath is where a BSP surface's root manifest is served for its generation.
func DiscoveryPath(s manifests.Surface) string {
	if s.Protocol == "oap" {
		return "/.well-known/oap"
	}
	if s.Generation == "0.9" {
		return "/.well-known/best"
	}
	return "/.well-known/bsp"
}

// body renders the served copy for one origin: endpoint URLs rewritten to reach ospbox
// (spec/bsp.md §4.2, spec/oap.md §3).
func (sv *ServedSurface) body(origin string) *kernel.Document {
	if b, ok := sv.bodies.Load(origin); ok {
		return b.(*kernel.Document)
	}
	body := jsondoc.Indent(sv.rewritten(origin))
	sum := sha256.Sum256(body)
	b := kernel.NewDocument(body, `"`+hex.EncodeToString(sum[:])[:16]+`"`)
	if sv.cached.Add(1) > kernel.MaxCachedBodies {
		return b
	}
	actual, _ := sv.bodies.LoadOrStore(origin, b)
	return actual.(*kernel.Document)
}

// rewritten is a copy of the manifest with its endpoint URLs pointing at ospbox for origin.
func (sv *ServedSurface) rewritten(origin string) *jsondoc.Node {
	return rewriteSurface(sv.Surface, origin, nil)
}

// rewriteSurface is a copy of a surface's manifest with its endpoint URLs pointing at ospbox for
// origin (a tenant manifest's under /bsp/tenants/<id>/) and, when statuses is given, its
// descriptors' live status (spec/bsp.md §4.2).
func rewriteSurface(surface manifests.Surface, origin string, statuses map[string]string) *jsondoc.Node {
	root := surface.Doc.Root.Clone()
	inner := root.Members[0].Value
	mount := bspMount(origin, surface.Tenant)
	for _, a := range inner.Get("agents").List() {
		if st, ok := statuses[a.Str("id")]; ok {
			a.Set("status", jsondoc.NewString(st))
		}
	}
	if services := inner.Get("services"); services != nil && services.Kind == jsondoc.Object {
		for _, m := range services.Members {
			switch surface.Protocol {
			case "bsp":
				if h := m.Value.Get("http"); h != nil && h.Kind == jsondoc.Object {
					h.Set("endpoint", jsondoc.NewString(mount+m.Name+"/"))
				}
			case "oap":
				if r := m.Value.Get("rest"); r != nil && r.Kind == jsondoc.Object {
					r.Set("endpoint", jsondoc.NewString(origin+"/oap/"))
				}
			}
		}
	}
	if t := inner.Get("tenants"); t != nil && t.Kind == jsondoc.Object && surface.Protocol == "bsp" {
		t.Set("manifest", jsondoc.NewString(origin+DiscoveryPath(surface)+"/{tenantId}"))
	}
	return root
}

// surfaceError writes the BSP/OAP error body {"error": {"code", "message"}} (spec/bsp.md §13,
// spec/oap.md §9).
func surfaceError(w http.ResponseWriter, status int, code, msg string) {
	kernel.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// serveSurfaceDiscovery answers GET/HEAD on a BSP/BEST or OAP discovery path. Discovery is always
// public.
func (s *Sandbox) serveSurfaceDiscovery(w http.ResponseWriter, r *http.Request, st SurfaceState, origin string) {
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
		b := st.Serving.body(origin)
		switch {
		case proto == "oap":
			b = s.oapDiscovery(st.Serving, origin)
		case st.Serving.Surface.Generation == "0.9" && !strings.HasPrefix(r.URL.Path, "/.well-known/best"):
			b = legacyBSPBody(st.Serving.rewritten(origin))
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
func surfaceFor(snap *Snapshot, path string) (SurfaceState, bool) {
	if path == "/.well-known/oap" {
		return snap.OAP, snap.OAP.Disk.Present
	}
	if !snap.BSP.Disk.Present {
		return SurfaceState{}, false
	}
	want := DiscoveryPath(snap.BSP.Disk)
	if snap.BSP.Serving != nil {
		want = DiscoveryPath(snap.BSP.Serving.Surface)
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
	return kernel.DocumentOf(jsondoc.Indent(rewriteSurface(surface, origin, statuses)))
}

// serveTenantDiscovery is GET /.well-known/bsp/{tenantId} (spec/bsp.md §4.3): the root manifest's
// credential, bound to the tenant; an unknown tenant and an unbound credential answer alike.
func (s *Sandbox) serveTenantDiscovery(w http.ResponseWriter, r *http.Request, st SurfaceState, origin, tenant string) {
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
		t := st.Serving.tenant(tenant)
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
