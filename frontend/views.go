package frontend

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// overviewView is everything the Overview shows, read from the live snapshot and SQLite.
type overviewView struct {
	SandboxURL   string
	WorkspaceDir string
	Counts       storage.Counts
	Tokens       int // the orchestrator's payment tokens
	Providers    []providerView
	BSP, OAP     kernel.SurfaceState
	Demo         demoState
}

// providerView is one provider card.
type providerView struct {
	Slug, Name, ProviderID, Dialect string
	File                            string // the authored manifest, workspace-relative
	BaseURL, ManifestURL            string
	IsDefault, Serving, Stale       bool
	Version                         int
	LoadedAt                        string
	Errors, Warnings                int
	Offerings                       []manifests.Offering
	Resources, Requests             int
	Signature                       string // authored signature status
	ServedKeyID                     string // key the served copy is signed with
}

func (u *UI) overviewView(ctx context.Context) (overviewView, error) {
	snap := u.Sandbox.Snapshot()
	counts, err := u.DB.Counts(ctx)
	if err != nil {
		return overviewView{}, err
	}
	per, err := u.DB.CountsByProvider(ctx)
	if err != nil {
		return overviewView{}, err
	}
	v := overviewView{SandboxURL: u.SandboxURL, WorkspaceDir: u.Sandbox.Workspace().Dir, Counts: counts, BSP: snap.BSP, OAP: snap.OAP, Demo: u.demo.state()}
	byStatus, err := u.DB.PaymentTokenCounts(ctx)
	if err != nil {
		return v, err
	}
	for _, n := range byStatus {
		v.Tokens += n
	}
	for _, p := range snap.Providers {
		v.Providers = append(v.Providers, providerViewOf(p, snap, u.SandboxURL, per[p.Slug]))
	}
	return v, nil
}

func providerViewOf(p *osp.ProviderState, snap *mock.Snapshot, base string, c storage.ProviderCounts) providerView {
	mount := base + "/providers/" + p.Slug
	pv := providerView{
		Slug: p.Slug, Name: p.Slug, File: p.Report.File, BaseURL: mount + "/osp/v1", ManifestURL: mount + "/.well-known/osp.json",
		IsDefault: snap.Default == p.Slug, Serving: p.Serving != nil, Stale: p.Stale(),
		Errors: len(p.Report.Errors), Warnings: len(p.Report.Warnings), Resources: c.Resources, Requests: c.Requests,
	}
	if p.Report.Dialect != nil {
		pv.Dialect = *p.Report.Dialect
	}
	if p.Report.Signature != nil {
		pv.Signature = p.Report.Signature.Status
	}
	if s := p.Serving; s != nil {
		pv.Name, pv.ProviderID, pv.Version = s.Manifest.ProviderName, s.Manifest.ProviderID, s.Version
		pv.Offerings = s.Manifest.Offerings
		pv.ServedKeyID = s.KeyID()
		pv.LoadedAt = s.LoadedAt.Local().Format("15:04:05")
		if pv.Dialect == "" {
			pv.Dialect = s.Manifest.Dialect
		}
	}
	return pv
}

func reportsOf(snap *mock.Snapshot) []manifests.Report {
	var out []manifests.Report
	for _, p := range snap.Providers {
		out = append(out, p.Report)
	}
	for _, s := range []kernel.SurfaceState{snap.BSP, snap.OAP} {
		if s.Disk.Present {
			out = append(out, s.Disk.Report)
		}
		out = append(out, s.Disk.Related...)
	}
	for _, f := range snap.Scenarios {
		out = append(out, f.Report)
	}
	return out
}

func csrfHeaders(csrf string) string {
	b, _ := json.Marshal(map[string]string{CSRFHeader: csrf})
	return string(b)
}

func displayName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func joinOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func latency(r storage.Request) string {
	if r.Latency < time.Millisecond {
		return strconv.FormatInt(r.Latency.Microseconds(), 10) + " µs"
	}
	return strconv.FormatFloat(float64(r.Latency.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// linecol is a finding's place within its file, as the Problems panel shows it.
func linecol(d manifests.Diagnostic) string {
	if d.Line == 0 {
		return "file"
	}
	return strconv.Itoa(d.Line) + ":" + strconv.Itoa(d.Column)
}

// plural writes "1 request", "3 requests".
var plural = manifests.Plural

// treeURL is where the file tree re-renders itself from, keeping the current file marked.
func treeURL(files []fileEntry) string {
	for _, f := range files {
		if f.Current {
			return "/ui/manifests/tree?file=" + url.QueryEscape(f.Path)
		}
	}
	return "/ui/manifests/tree"
}

// provisionCurl is the command an agent developer can paste to provision a service's default
// tier in sandbox mode.
func provisionCurl(p *osp.ProviderState, s osp.CatalogService) string {
	body, _ := json.Marshal(osp.PastableProvision(p, s))
	return "curl -s -X POST " + s.Provision.URL + " -H 'Content-Type: application/json' -d '" + string(body) + "'"
}

// catalogMatches keeps the services whose id, name, description, category or tiers mention q.
func catalogMatches(c osp.Catalog, q string) osp.Catalog {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return c
	}
	var keep []osp.CatalogService
	for _, s := range c.Data.Services {
		hay := []string{s.ID, s.Name, s.ProviderName, s.ProviderID, strings.Join(s.Categories, " "), s.Pricing.Type}
		if s.Description != nil {
			hay = append(hay, *s.Description)
		}
		for _, t := range s.Tiers {
			hay = append(hay, t.TierID, t.Name)
		}
		if strings.Contains(strings.ToLower(strings.Join(hay, " ")), q) {
			keep = append(keep, s)
		}
	}
	c.Data.Services = keep
	return c
}

// limitsText renders a tier's limits object as "storage_gb 0.5 · connections 20".
func limitsText(raw json.RawMessage) string {
	doc, err := jsondoc.Parse(raw)
	if err != nil || doc.Root.Kind != jsondoc.Object || len(doc.Root.Members) == 0 {
		return "—"
	}
	var parts []string
	for _, m := range doc.Root.Members {
		v := m.Value.Text
		if m.Value.Kind == jsondoc.Null {
			v = "unlimited"
		} else if m.Value.Kind == jsondoc.Object || m.Value.Kind == jsondoc.Array {
			v = string(jsondoc.Compact(m.Value))
		}
		parts = append(parts, m.Name+" "+v)
	}
	return strings.Join(parts, " · ")
}

// offsetText renders a clock offset such as "+2d 3h" or "-5m".
func offsetText(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m := int(d/time.Hour), int((d%time.Hour)/time.Minute)
	switch {
	case days > 0:
		return sign + strconv.Itoa(days) + "d " + strconv.Itoa(h) + "h"
	case h > 0 && m == 0:
		return sign + strconv.Itoa(h) + "h"
	case h > 0:
		return sign + strconv.Itoa(h) + "h " + strconv.Itoa(m) + "m"
	case m > 0:
		return sign + strconv.Itoa(m) + "m"
	}
	return sign + strconv.Itoa(int(d/time.Second)) + "s"
}

// requestDetailView is one logged exchange as the Requests detail shows it.
type requestDetailView struct {
	storage.Request
	RequestHeaders, ResponseHeaders [][2]string // sorted name, value pairs
	RequestBody, ResponseBody       string      // pretty-printed when JSON
	Curl                            string
}

func requestDetailOf(r storage.Request, sandboxURL string) requestDetailView {
	v := requestDetailView{Request: r, RequestHeaders: headerPairs(r.RequestHeaders), ResponseHeaders: headerPairs(r.ResponseHeaders),
		RequestBody: prettyJSON(r.RequestBody), ResponseBody: prettyJSON(r.ResponseBody)}
	v.Curl = curlOf(r, v.RequestHeaders, sandboxURL)
	return v
}

// headerPairs flattens a logged header object into sorted name/value pairs.
func headerPairs(obj string) [][2]string {
	var h map[string][]string
	if json.Unmarshal([]byte(obj), &h) != nil {
		return nil
	}
	var out [][2]string
	for name, values := range h {
		for _, v := range values {
			out = append(out, [2]string{name, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func prettyJSON(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// curlSkipped are headers curl sets itself or that describe a connection, not the request.
var curlSkipped = map[string]bool{"Host": true, "Content-Length": true, "Accept-Encoding": true, "Connection": true, "User-Agent": true}

// curlOf rebuilds a logged request as a curl command to the host it was sent to (the sandbox
// serves plain HTTP). Redacted values stay redacted: the command shows where the caller's own
// secrets go.
func curlOf(r storage.Request, headers [][2]string, sandboxURL string) string {
	base := sandboxURL
	for _, h := range headers {
		if h[0] == "Host" {
			base = "http://" + h[1]
		}
	}
	parts := []string{"curl", "-X", r.Method, shellQuote(base + r.Path)}
	if strings.ContainsAny(r.Path, "[]{}") {
		parts = append(parts[:1], append([]string{"--globoff"}, parts[1:]...)...) // curl would read [redacted] as a range
	}
	for _, h := range headers {
		if !curlSkipped[h[0]] {
			parts = append(parts, "-H", shellQuote(h[0]+": "+h[1]))
		}
	}
	if r.RequestBody != "" {
		parts = append(parts, "--data-raw", shellQuote(r.RequestBody))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// requestsView is the Requests page: the newest matching requests and the filter that chose them.
type requestsView struct {
	Now        time.Time // the workspace clock: rows of another day show their date
	Requests   []storage.Request
	Filter     storage.RequestFilter
	Providers  []string
	SandboxURL string
}

// requestsShown is how many requests the page lists.
const requestsShown = 200

func (u *UI) requestsView(r *http.Request) (requestsView, error) {
	q := r.URL.Query()
	f := storage.RequestFilter{Provider: q.Get("provider"), Method: q.Get("method"), Text: strings.TrimSpace(q.Get("q"))}
	f.StatusClass, _ = strconv.Atoi(q.Get("status"))
	reqs, err := u.DB.FilterRequests(r.Context(), f, requestsShown)
	v := requestsView{Now: u.Sandbox.Clock().Now, Requests: reqs, Filter: f, SandboxURL: u.SandboxURL}
	v.Providers = u.providerSlugs()
	return v, err
}

// resourcesView is one page of the Resources inspector.
type resourcesView struct {
	Now        time.Time // the workspace clock
	Page       storage.ResourcePage
	Filter     storage.ResourceFilter
	Cursor     string
	Providers  []string
	Offerings  []string // every offering of the workspace, for the filter
	Tiers      []string // every tier id, for the filter
	SandboxURL string
	Quotas     []osp.QuotaUse // the limits provisioning meets, with their use
}

// resourcesShown is how many resources one page lists.
const resourcesShown = 50

func (v resourcesView) nextURL() string {
	q := url.Values{"cursor": {v.Page.Next}}
	sort := ""
	if v.Filter.Oldest {
		sort = "oldest"
	}
	for k, val := range map[string]string{"provider": v.Filter.Provider, "status": v.Filter.Status, "sandbox": v.Filter.Sandbox,
		"project": v.Filter.Project, "offering": v.Filter.Offering, "tier": v.Filter.Tier, "sort": sort} {
		if val != "" {
			q.Set(k, val)
		}
	}
	return "/ui/resources?" + q.Encode()
}

func (u *UI) resourcesView(r *http.Request) (resourcesView, error) {
	q := r.URL.Query()
	f := storage.ResourceFilter{Provider: q.Get("provider"), Status: q.Get("status"), Sandbox: q.Get("sandbox"),
		Offering: q.Get("offering"), Tier: q.Get("tier"), Oldest: q.Get("sort") == "oldest"}
	if p := strings.TrimSpace(q.Get("project")); p != "" {
		f.Project = "proj_" + strings.TrimPrefix(p, "proj_")
	}
	v := resourcesView{Now: u.Sandbox.Clock().Now, Filter: f, Cursor: q.Get("cursor"), SandboxURL: u.SandboxURL}
	v.Providers = u.providerSlugs()
	tiers := map[string]bool{}
	for _, p := range u.Sandbox.Snapshot().Providers {
		if p.Serving == nil {
			continue
		}
		for _, o := range p.Serving.Manifest.Offerings {
			v.Offerings = append(v.Offerings, o.ID)
			for _, t := range o.Tiers {
				if !tiers[t.ID] {
					tiers[t.ID] = true
					v.Tiers = append(v.Tiers, t.ID)
				}
			}
		}
	}
	slices.Sort(v.Tiers)
	var err error
	if v.Quotas, err = u.Sandbox.OSP().QuotaUsage(r.Context()); err != nil {
		return v, err
	}
	v.Page, err = u.DB.ListResources(r.Context(), f, v.Cursor, resourcesShown)
	return v, err
}

func statusClass(status string) string {
	switch status {
	case "provisioned":
		return "ok"
	case "provisioning":
		return "accent"
	case "error":
		return "err"
	}
	return ""
}

func expiresText(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.Format("Jan 2 15:04:05")
}

// providerSlugs lists the workspace's providers for filter menus.
func (u *UI) providerSlugs() []string {
	var out []string
	for _, p := range u.Sandbox.Snapshot().Providers {
		out = append(out, p.Slug)
	}
	return out
}

// surfaceAPIBase is where a BSP/BEST or OAP surface's service APIs answer.
func surfaceAPIBase(s manifests.Surface) string {
	if s.Protocol == "oap" {
		return "/oap/"
	}
	if len(s.Services) == 1 {
		return "/bsp/" + s.Services[0] + "/"
	}
	return "/bsp/<service>/"
}

// quotaText says what a quota limits.
func quotaText(q osp.QuotaUse) string {
	switch q.Kind {
	case "live_sandboxes":
		return "live sandboxes of agent " + q.Scope
	case "sandboxes_today":
		return "sandboxes made today by agent " + q.Scope
	}
	if q.Scope == "*" {
		return "live resources, all offerings"
	}
	return "live resources of " + q.Scope
}

// statusText is a logged status; 0 is a request that got no answer (a scenario rule's reset or
// hang, or a client that left during a delay).
func statusText(status int) string {
	if status == 0 {
		return "no answer"
	}
	return strconv.Itoa(status)
}

// requestTime is a logged request's time for the table: the time of day when it is the
// workspace clock's day, with the date when it is not (after the clock moved, rows of several
// days sit side by side and the time alone would jump back).
func requestTime(now, at time.Time) string {
	now, at = now.Local(), at.Local()
	switch {
	case at.Year() != now.Year():
		return at.Format("2006-01-02 15:04:05.000")
	case at.YearDay() != now.YearDay():
		return at.Format("Jan 2 15:04:05.000")
	}
	return at.Format("15:04:05.000")
}

// middle shortens a long id to n characters by cutting its middle ("budget_01m8…r3730nzsa1"): its
// start says what it is and its end tells it apart. The caller puts the whole value in a title.
func middle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 5 {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

func (u *UI) glossary(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, glossaryPage(u.meta("Glossary", "glossary")))
}

// joinDot joins the non-empty parts with " · ".
func joinDot(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " · ")
}
