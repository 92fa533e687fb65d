package frontend

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// dist holds what `npm run build` produced; in a fresh clone it holds only .gitkeep.
//
//go:embed all:dist
var dist embed.FS

//go:embed static/icon.svg src/app.css
var static embed.FS

// assetsBuilt reports whether the esbuild bundle is embedded.
func assetsBuilt() bool {
	_, err := fs.Stat(dist, "dist/app.js")
	return err == nil
}

// serveAsset serves /ui/assets/<name>: bundled files from dist, the icon, and (when the bundle
// is missing) the unbundled stylesheet so pages stay readable.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	var data []byte
	var err error
	switch name {
	case "icon.svg":
		data, err = static.ReadFile("static/icon.svg")
	case "fallback.css":
		data, err = static.ReadFile("src/app.css")
	default:
		if strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
			http.NotFound(w, r)
			return
		}
		data, err = dist.ReadFile("dist/" + name)
	}
	if err != nil {
		http.Error(w, "asset not found: "+name+" (run make assets)", http.StatusNotFound)
		return
	}
	h := w.Header()
	switch {
	case strings.HasSuffix(name, ".js"):
		h.Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		h.Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		h.Set("Content-Type", "image/svg+xml")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(data)
}
