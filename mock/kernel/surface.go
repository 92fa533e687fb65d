package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
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
	bodies  sync.Map // origin → *Document
	cached  atomic.Int32
	caps    sync.Map // tenant id ("" for the root) → its services' BSP capabilities
}

// Capabilities returns the standard capabilities of each service of the root manifest or a
// tenant's, worked out once per served version.
func (sv *ServedSurface) Capabilities(surface manifests.Surface) map[string]map[string]manifests.BSPCapability {
	if c, ok := sv.caps.Load(surface.Tenant); ok {
		return c.(map[string]map[string]manifests.BSPCapability)
	}
	c := manifests.BSPServiceCapabilities(surface.Doc.Root, surface.Generation)
	sv.caps.Store(surface.Tenant, c)
	return c
}

// NextSurface keeps the last good served version when the file on disk has errors. A BSP
// manifest is served with its tenant manifests and catalogues, so any valid reload is a new
// version; a broken tenant manifest keeps its last good version too.
func NextSurface(disk manifests.Surface, prev SurfaceState) SurfaceState {
	st := SurfaceState{Disk: disk, Serving: prev.Serving}
	switch {
	case disk.Doc != nil && disk.Protocol == "bsp":
		served := disk
		served.Tenants = nil
		for _, t := range disk.Tenants {
			if t.Doc == nil && prev.Serving != nil {
				if old := prev.Serving.Tenant(t.Tenant); old != nil {
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

// Body renders the served copy for one origin: endpoint URLs rewritten to reach ospbox
// (spec/bsp.md §4.2, spec/oap.md §3).
func (sv *ServedSurface) Body(origin string) *Document {
	if b, ok := sv.bodies.Load(origin); ok {
		return b.(*Document)
	}
	body := jsondoc.Indent(sv.Rewritten(origin))
	sum := sha256.Sum256(body)
	b := NewDocument(body, `"`+hex.EncodeToString(sum[:])[:16]+`"`)
	if sv.cached.Add(1) > MaxCachedBodies {
		return b
	}
	actual, _ := sv.bodies.LoadOrStore(origin, b)
	return actual.(*Document)
}

// Rewritten is a copy of the manifest with its endpoint URLs pointing at ospbox for origin.
func (sv *ServedSurface) Rewritten(origin string) *jsondoc.Node {
	return RewriteSurface(sv.Surface, origin, nil)
}

// RewriteSurface is a copy of a surface's manifest with its endpoint URLs pointing at ospbox for
// origin (a tenant manifest's under /bsp/tenants/<id>/) and, when statuses is given, its
// descriptors' live status (spec/bsp.md §4.2).
func RewriteSurface(surface manifests.Surface, origin string, statuses map[string]string) *jsondoc.Node {
	root := surface.Doc.Root.Clone()
	inner := root.Members[0].Value
	mount := BSPMount(origin, surface.Tenant)
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

// Surfaces are the served root manifest and its valid tenant manifests.
func (sv *ServedSurface) Surfaces() []manifests.Surface {
	out := []manifests.Surface{sv.Surface}
	for _, t := range sv.Surface.Tenants {
		if t.Doc != nil {
			out = append(out, t)
		}
	}
	return out
}

// Tenant returns the served tenant manifest with this id, or nil.
func (sv *ServedSurface) Tenant(id string) *manifests.Surface {
	for i := range sv.Surface.Tenants {
		if t := &sv.Surface.Tenants[i]; t.Tenant == id && t.Doc != nil {
			return t
		}
	}
	return nil
}

// BSPMount is where a manifest's services are served: /bsp/, or /bsp/tenants/<id>/ for a tenant's.
func BSPMount(origin, tenant string) string {
	if tenant != "" {
		return origin + "/bsp/tenants/" + tenant + "/"
	}
	return origin + "/bsp/"
}
