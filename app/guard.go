package app

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// isLoopbackName reports whether host (without port) names this machine only.
func isLoopbackName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	// netip parses without allocating: this runs on every request.
	ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// checkLoopback refuses to listen beyond this machine unless the workspace's own ospbox.json
// names that address (spec/README.md, Addressing).
func checkLoopback(addr, configured string) error {
	h := hostOnly(addr)
	if h == "" || h == "0.0.0.0" || h == "::" {
		if addr != configured {
			return fmt.Errorf("refusing to listen on all interfaces (%s): ospbox is a local tool; set \"listen\" in ospbox.json to expose it deliberately", addr)
		}
		return nil
	}
	if !isLoopbackName(h) && addr != configured {
		return fmt.Errorf("refusing to listen on %s: not a loopback address; set \"listen\" in ospbox.json to expose it deliberately", addr)
	}
	return nil
}

// hostGuard refuses requests whose Host is not a loopback name, so a web page on another origin
// cannot reach ospbox through DNS rebinding. A host configured in ospbox.json is allowed too.
func hostGuard(next http.Handler, configured string) http.Handler {
	extra := strings.ToLower(hostOnly(configured))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := strings.ToLower(hostOnly(r.Host))
		if !isLoopbackName(h) && (h != extra || h == "") {
			body, _ := json.Marshal(map[string]any{"error": map[string]any{
				"code":      "forbidden_host",
				"message":   "ospbox answers only loopback host names (127.0.0.1, localhost, *.localhost), not " + strconv.Quote(hostOnly(r.Host)),
				"retryable": false,
			}})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write(append(body, '\n'))
			return
		}
		next.ServeHTTP(w, r)
	})
}
