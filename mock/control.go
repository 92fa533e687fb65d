package mock

import (
	"io"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/manifests"
)

// serveControl answers ospbox's own API under /ospbox/v1/ (not part of any protocol) and the
// embedded JSON Schemas under /schemas/. Both are read-only here: validation changes nothing.
func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request, origin string) {
	s.logged(w, r, "ospbox", "", func(w http.ResponseWriter) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch {
		case strings.HasPrefix(r.URL.Path, "/schemas/"):
			s.serveSchema(w, r, origin)
		case r.URL.Path == "/ospbox/v1/validate":
			s.serveValidate(w, r)
		case r.URL.Path == "/ospbox/v1/catalog":
			s.serveCatalog(w, r, origin)
		default:
			writeOSPError(w, newOSPError("not_found", "no ospbox API at "+r.URL.Path))
		}
	})
}

// serveSchema serves one embedded schema with its $id set to where it was fetched from, so an
// editor given "$schema": "http://127.0.0.1:7410/schemas/osp/c.json" resolves its references.
// /schemas/ itself lists them.
func (s *Sandbox) serveSchema(w http.ResponseWriter, r *http.Request, origin string) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/schemas/")
	if name == "" {
		var list []map[string]string
		for _, n := range manifests.SchemaNames() {
			list = append(list, map[string]string{"name": n, "url": origin + "/schemas/" + n})
		}
		writeJSON(w, http.StatusOK, map[string]any{"schemas": list})
		return
	}
	body, ok := manifests.SchemaBody(name, origin+"/schemas/")
	if !ok {
		writeOSPError(w, newOSPError("not_found", "no schema "+name+"; GET /schemas/ lists them"))
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// serveValidate is POST /ospbox/v1/validate: the body is a manifest, ?protocol=osp|bsp|oap
// (else inferred from the root key); the answer is the validator report (spec/README.md).
func (s *Sandbox) serveValidate(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	protocol := r.URL.Query().Get("protocol")
	if protocol != "" && protocol != "osp" && protocol != "bsp" && protocol != "oap" {
		writeOSPError(w, &OSPError{Status: 400, Code: "invalid_request", Message: "protocol must be osp, bsp or oap",
			Details: map[string]any{"errors": []map[string]string{{"pointer": "protocol", "message": "unknown protocol " + protocol}}}})
		return
	}
	data, _ := io.ReadAll(r.Body) // already size-limited by logged
	file := r.URL.Query().Get("file")
	if file == "" {
		file = "request body"
	}
	writeJSON(w, http.StatusOK, manifests.ValidateData(file, protocol, data))
}
