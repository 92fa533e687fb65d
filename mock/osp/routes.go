package osp

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
)

// Supported OSP versions, lowest first (spec/osp.md §4.2).
var ospVersions = []string{"1.0", "1.1"}

var (
	requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	pastVersionPath  = regexp.MustCompile(`^/\.well-known/osp\.v([0-9]{1,9})\.json$`)
	// unimplementedRoutes are the upstream routes spec/osp.md §22 lists as 501 not_implemented.
	unimplementedRoutes = regexp.MustCompile(`^/osp/v1/(dispute/[^/]+|estimate|share/[^/]+|delegate/[^/]+|snapshot/[^/]+|restore/[^/]+|snapshots/[^/]+|metrics/[^/]+|export/[^/]+|canary/[^/]+/(promote|rollback)|tokens/[^/]+|revoke-agent|audit-log|nhi(/.*)?|billing(/.*)?|cost/by-agent.*|projects/[^/]+/(.+))$`)
	eventLogPath        = regexp.MustCompile(`^/osp/v1/events/([^/]+)$`)
	webhookPath         = regexp.MustCompile(`^/osp/v1/webhooks/([^/]+)$`)
	projectCostPath     = regexp.MustCompile(`^/osp/v1/projects/([^/]+)/cost$`)
)

// Header values set on most responses, shared between responses instead of allocated for each:
// net/http never modifies a header's values, and the keys are in canonical form.
var (
	anyOrigin      = []string{"*"}
	versionHeaders = map[string][]string{}
)

func init() {
	for _, v := range ospVersions {
		versionHeaders[v] = []string{v}
	}
}

// versionHeader is the X-OSP-Version value for version.
func versionHeader(version string) []string {
	if h, ok := versionHeaders[version]; ok {
		return h
	}
	return []string{version}
}

// Serve answers one request to an OSP provider mounted at mount (an absolute URL without
// trailing slash); path is the request path relative to the mount. The host calls it with the
// request already logged and its body bounded; every failure is answered in OSP's envelope.
func (s *Engine) Serve(w http.ResponseWriter, r *http.Request, p *ProviderState, mount, path string) {
	snap := s.view()
	h := w.Header()
	h["Access-Control-Allow-Origin"] = anyOrigin
	h["X-Request-Id"] = []string{requestID(r, s.clock.Now())}
	// The request's header names are canonical (net/http makes them so): indexing the map
	// spares canonicalizing each name on every request.
	if t := kernel.HeaderValue(r.Header, "X-Osp-Trace-Id"); t != "" && requestIDPattern.MatchString(t) {
		h["X-Osp-Trace-Id"] = []string{t}
	}
	version, verr := negotiateVersion(kernel.HeaderValue(r.Header, "X-Osp-Version"), kernel.HeaderValue(r.Header, "X-Osp-Version-Min"))
	h["X-Osp-Version"] = versionHeader(version)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-OSP-Version, X-OSP-Version-Min, X-Request-Id, X-OSP-Trace-Id, X-OSP-Agent-Public-Key")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if p.Serving == nil {
		e := NewError("provider_unavailable", "provider "+p.Slug+" has no valid manifest yet: fix "+p.Report.File+" ("+strconv.Itoa(len(p.Report.Errors))+" errors)")
		WriteError(w, e)
		return
	}
	if IsOAuthPath(path) {
		s.serveOAuth(w, r, p, mount, path)
		return
	}
	if strings.HasPrefix(path, "/osp/v1/") && !s.applyRateLimit(w, r, path, snap.Config.OSP.RateLimits.Enforce) {
		return
	}
	// Provisioning checks the body's JSON before the version (spec/osp.md §4.4).
	if path == "/osp/v1/provision" {
		s.serveProvision(w, r, p, mount, verr)
		return
	}
	if verr != nil {
		WriteError(w, verr)
		return
	}
	if op, id, allowed := matchResourceRoute(path, r.Method); op != "" {
		s.serveResource(w, r, p, mount, op, id)
		return
	} else if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteError(w, NewError("method_not_allowed", r.Method+" is not allowed here; use "+strings.Join(allowed, " or ")))
		return
	}
	switch {
	case path == "/.well-known/osp.json": // first: discovery is what agents ask most
		serveManifest(w, r, p.Serving, mount, p.Serving.Version, snap.Config.OSP.EndpointStyle)
	case path == "/osp/v1/accounts":
		accounts{s.core}.serve(w, r, p, mount)
	case path == "/osp/v1/cost-summary":
		s.ledger.serveCostSummary(w, r, p)
	case projectCostPath.MatchString(path):
		s.ledger.serveProjectCost(w, r, p, projectCostPath.FindStringSubmatch(path)[1])
	case webhookPath.MatchString(path):
		s.serveWebhooks(w, r, p, webhookPath.FindStringSubmatch(path)[1])
	case budgetPath.MatchString(path):
		s.ledger.serveBudgets(w, r, p, budgetPath.FindStringSubmatch(path)[1])
	case eventLogPath.MatchString(path):
		s.serveEventLog(w, r, p, eventLogPath.FindStringSubmatch(path)[1])
	case strings.HasPrefix(path, "/osp/v1/promote/"):
		s.servePromote(w, r, p, mount, strings.TrimPrefix(path, "/osp/v1/promote/"))
	case pastVersionPath.MatchString(path):
		n, _ := strconv.Atoi(pastVersionPath.FindStringSubmatch(path)[1])
		serveManifest(w, r, p.Serving, mount, n, snap.Config.OSP.EndpointStyle)
	case path == "/osp/v1/health" || path == "/osp/v1/health/detailed":
		if !Allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		s.serveHealth(w, p, path == "/osp/v1/health/detailed")
	case unimplementedRoutes.MatchString(path) && !projectCostPath.MatchString(path):
		WriteError(w, NewError("not_implemented", r.Method+" "+path+" is an upstream OSP route ospbox does not simulate (spec/osp.md §22)"))
	default:
		WriteError(w, NewError("not_found", "no OSP route at "+path+"; the provider's routes are listed in "+mount+"/.well-known/osp.json"))
	}
}

// Allow answers 405 with an Allow header unless the method is one of methods.
func Allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	e := NewError("method_not_allowed", r.Method+" is not allowed here; use "+strings.Join(methods, " or "))
	WriteError(w, e)
	return false
}

func serveManifest(w http.ResponseWriter, r *http.Request, sv *Served, mount string, version int, defaultStyle string) {
	if !Allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if version != sv.Version {
		WriteError(w, NewError("not_found", "manifest version "+strconv.Itoa(version)+" is not kept; the current version is "+strconv.Itoa(sv.Version)))
		return
	}
	style := ""
	if r.URL.RawQuery != "" {
		style = r.URL.Query().Get("endpoint_style")
	}
	if style == "" {
		style = defaultStyle
	}
	if style != "brace" && style != "colon" && style != "append" {
		WriteError(w, &Error{Status: 400, Code: "invalid_request", Message: "endpoint_style must be brace, colon or append",
			Details: map[string]any{"errors": []map[string]string{{"pointer": "endpoint_style", "message": "unknown style " + strconv.Quote(style)}}}})
		return
	}
	kernel.WriteDocument(w, r, sv.body(mount, style))
}

func (s *Engine) serveHealth(w http.ResponseWriter, p *ProviderState, detailed bool) {
	status := "healthy"
	if p.Stale() {
		status = "degraded"
	}
	body := map[string]any{
		"status":             status,
		"version":            "1.1",
		"supported_versions": ospVersions,
		"uptime_seconds":     int(time.Since(s.started).Seconds()),
		"osp_version":        "1.0",
		"provider_id":        p.Serving.Manifest.ProviderID,
		"timestamp":          s.clock.Now().UTC().Format(time.RFC3339),
	}
	if detailed {
		manifest := "healthy"
		if p.Stale() {
			manifest = "degraded"
		}
		body["checks"] = []map[string]any{{"name": "manifest", "status": manifest, "latency_ms": 0}}
	}
	kernel.WriteJSON(w, http.StatusOK, body)
}

// negotiateVersion applies spec/osp.md §4.2; it always returns a version to echo.
func negotiateVersion(requested, minimum string) (string, *Error) {
	if requested == "" {
		return "1.0", nil
	}
	for _, v := range ospVersions {
		if v == requested {
			return v, nil
		}
	}
	if minimum != "" {
		if mf, err := strconv.ParseFloat(minimum, 64); err == nil {
			for i := len(ospVersions) - 1; i >= 0; i-- {
				if vf, _ := strconv.ParseFloat(ospVersions[i], 64); vf >= mf {
					return ospVersions[i], nil
				}
			}
		}
	}
	e := &Error{Status: 406, Code: "version_not_supported",
		Message: "OSP version " + strconv.Quote(requested) + " is not supported; use 1.0 or 1.1",
		Details: map[string]any{"supported_versions": ospVersions, "recommended_version": "1.1"},
		Extra:   map[string]any{"supported_versions": ospVersions, "recommended_version": "1.1"}}
	return "1.0", e
}

func requestID(r *http.Request, now time.Time) string {
	if id := kernel.HeaderValue(r.Header, "X-Request-Id"); id != "" && requestIDPattern.MatchString(id) {
		return id
	}
	return kernel.NewID("req_", now)
}
