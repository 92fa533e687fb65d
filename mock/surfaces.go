package mock

import (
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/oap"
)

// surfaceError answers in the error envelope of proto, "bsp" or "oap": the host's own answers on
// those surfaces (discovery, unknown paths) read like the engines'.
func surfaceError(w http.ResponseWriter, proto string, status int, code, msg string) {
	if proto == "oap" {
		oap.WriteError(w, status, code, msg)
		return
	}
	bsp.WriteError(w, status, code, msg, nil)
}

// serveSurfaceDiscovery answers GET/HEAD on a BSP/BEST or OAP discovery path. Discovery is always
// public.
func (s *Sandbox) serveSurfaceDiscovery(w http.ResponseWriter, r *http.Request, st kernel.SurfaceState, origin string) {
	proto := st.Disk.Protocol
	s.logged(w, r, proto, "", func(w http.ResponseWriter) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			surfaceError(w, proto, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed here; use GET")
			return
		}
		if st.Serving == nil {
			w.Header().Set("Retry-After", "5")
			surfaceError(w, proto, http.StatusServiceUnavailable, "MANIFEST_UNAVAILABLE", "no valid "+st.Disk.File+" has been loaded yet; fix it and ospbox serves it")
			return
		}
		b := st.Serving.Body(origin)
		switch {
		case proto == "oap":
			b = s.oap.Discovery(st.Serving, origin)
		case st.Serving.Surface.Generation == "0.9" && !strings.HasPrefix(r.URL.Path, "/.well-known/best"):
			b = bsp.LegacyDiscovery(st.Serving.Rewritten(origin))
		case st.Serving.Surface.Generation == "0.6":
			b = s.bsp.LiveDiscovery(r.Context(), st.Serving.Surface, origin)
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		kernel.WriteDocument(w, r, b)
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

// isSurfacePath reports whether a path belongs to the BSP/BEST or OAP surfaces.
func isSurfacePath(p string) bool {
	for _, prefix := range []string{"/.well-known/bsp", "/.well-known/best", "/.well-known/oap", "/bsp/", "/oap/"} {
		if p == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
