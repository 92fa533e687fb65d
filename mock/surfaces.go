package mock

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
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
	bodies  sync.Map // origin → *servedBody
	cached  atomic.Int32
}

// nextSurface keeps the last good served version when the file on disk has errors.
func nextSurface(disk manifests.Surface, prev SurfaceState) SurfaceState {
	st := SurfaceState{Disk: disk, Serving: prev.Serving}
	switch {
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
func (sv *ServedSurface) body(origin string) *servedBody {
	if b, ok := sv.bodies.Load(origin); ok {
		return b.(*servedBody)
	}
	body := jsondoc.Indent(sv.rewritten(origin))
	sum := sha256.Sum256(body)
	b := newServedBody(body, `"`+hex.EncodeToString(sum[:])[:16]+`"`)
	if sv.cached.Add(1) > maxCachedBodies {
		return b
	}
	actual, _ := sv.bodies.LoadOrStore(origin, b)
	return actual.(*servedBody)
}

// rewritten is a copy of the manifest with its endpoint URLs pointing at ospbox for origin.
func (sv *ServedSurface) rewritten(origin string) *jsondoc.Node {
	root := sv.Surface.Doc.Root.Clone()
	inner := root.Members[0].Value
	if services := inner.Get("services"); services != nil && services.Kind == jsondoc.Object {
		for _, m := range services.Members {
			switch sv.Surface.Protocol {
			case "bsp":
				if h := m.Value.Get("http"); h != nil && h.Kind == jsondoc.Object {
					h.Set("endpoint", jsondoc.NewString(origin+"/bsp/"+m.Name+"/"))
				}
			case "oap":
				if r := m.Value.Get("rest"); r != nil && r.Kind == jsondoc.Object {
					r.Set("endpoint", jsondoc.NewString(origin+"/oap/"))
				}
			}
		}
	}
	if t := inner.Get("tenants"); t != nil && t.Kind == jsondoc.Object && sv.Surface.Protocol == "bsp" {
		t.Set("manifest", jsondoc.NewString(origin+DiscoveryPath(sv.Surface)+"/{tenantId}"))
	}
	return root
}

// surfaceError writes the BSP/OAP error body {"error": {"code", "message"}} (spec/bsp.md §13,
// spec/oap.md §9).
func surfaceError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
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
		if proto == "oap" {
			b = s.oapDiscovery(st.Serving, origin)
		}
		h := w.Header()
		h.Set("ETag", b.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("Access-Control-Allow-Origin", "*")
		if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, b.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			setLogBody(w, b)
			w.Write(b.body)
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
	return snap.BSP, path == want || path == want+".json"
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
