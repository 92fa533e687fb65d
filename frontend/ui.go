// Package frontend is ospbox's UI: templ components rendered on the server, htmx fragments, and
// an SSE stream of state changes. One http.Handler serves it in the browser (under /ui/ on the
// sandbox host) and inside the desktop window (through Wails' AssetServer).
//
// It may import manifests, storage, the host (mock) and the engines' exported APIs under mock/;
// never app.
package frontend

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/check"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// Options configures the UI.
type Options struct {
	Sandbox    *mock.Sandbox
	DB         *storage.DB
	Token      string // per-launch token; every request must carry it
	SandboxURL string // e.g. http://127.0.0.1:7410, used in links shown to the user
	Version    string
	Logger     *slog.Logger
	// KeepaliveInterval is how often the SSE stream sends a comment; 15 s when zero.
	KeepaliveInterval time.Duration
}

// UI is the http.Handler for every /ui/ path.
type UI struct {
	Options
	token   string
	csrf    string
	mux     *http.ServeMux
	closing chan struct{}
	once    sync.Once
	*uiState
	// root is the UI of the default namespace; a namespace's UI is made for each request from
	// it, with its own sandbox and state (namespace is then its id, done closes when it stops).
	root      *UI
	namespace string
	done      <-chan struct{}
	states    sync.Map // namespace id → *uiState (the root's)
}

// uiState is what a namespace's pages keep between requests: the long runs and the flashes.
type uiState struct {
	demo        liveRun[string]
	checks      liveRun[check.Result]
	checkReport atomic.Pointer[check.Report]
	flashes     sync.Map // page key → flash
}

// Close ends every open event stream, so a server shutdown does not wait on them.
func (u *UI) Close() { u.once.Do(func() { close(u.closing) }) }

// New builds the UI handler.
func New(o Options) *UI {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.KeepaliveInterval == 0 {
		o.KeepaliveInterval = 15 * time.Second
	}
	u := &UI{Options: o, token: o.Token, csrf: csrfFor(o.Token), closing: make(chan struct{}), uiState: &uiState{}}
	u.root = u
	u.routes()
	return u
}

// routes registers the pages and fragments.
func (u *UI) routes() {
	u.mux = http.NewServeMux()
	u.mux.HandleFunc("GET /ui/{$}", u.overview)
	u.mux.HandleFunc("GET /ui/overview/live", u.overviewFragment)
	u.mux.HandleFunc("POST /ui/reload", u.reload)
	u.mux.HandleFunc("POST /ui/demo", u.startDemo)
	u.mux.HandleFunc("GET /ui/demo", u.demoFragment)
	u.mux.HandleFunc("GET /ui/catalog", u.catalog)
	u.mux.HandleFunc("GET /ui/catalog/results", u.catalogResults)
	u.mux.HandleFunc("GET /ui/sandbox", u.sandbox)
	u.mux.HandleFunc("GET /ui/sandbox/clock", u.clockFragment)
	u.mux.HandleFunc("POST /ui/sandbox/clock", u.clockAction)
	u.mux.HandleFunc("GET /ui/sandbox/state", u.stateFragment)
	u.mux.HandleFunc("POST /ui/sandbox/reset", u.resetState)
	u.mux.HandleFunc("POST /ui/sandbox/seed", u.saveSeed)
	u.mux.HandleFunc("GET /ui/sandbox/export", u.exportState)
	u.mux.HandleFunc("POST /ui/sandbox/import", u.importState)
	u.mux.HandleFunc("GET /ui/namespaces", u.namespaces)
	u.mux.HandleFunc("GET /ui/namespaces/live", u.namespacesFragment)
	u.mux.HandleFunc("POST /ui/namespaces", u.namespaceAction)
	u.mux.HandleFunc("GET /ui/requests", u.requests)
	u.mux.HandleFunc("GET /ui/requests/live", u.requestsFragment)
	u.mux.HandleFunc("GET /ui/requests/{id}", u.requestDetail)
	u.mux.HandleFunc("GET /ui/glossary", u.glossary)
	u.mux.HandleFunc("GET /ui/orchestrator", u.orchestratorPage)
	u.mux.HandleFunc("GET /ui/orchestrator/live", u.orchestratorFragment)
	u.mux.HandleFunc("GET /ui/consent", u.consentPage)
	u.mux.HandleFunc("POST /ui/consents/answer", u.answerConsent)
	u.mux.HandleFunc("GET /ui/scenarios", u.scenarios)
	u.mux.HandleFunc("GET /ui/scenarios/live", u.scenariosFragment)
	u.mux.HandleFunc("POST /ui/scenarios", u.scenarioAction)
	u.mux.HandleFunc("POST /ui/scenarios/check", u.checkScenario)
	u.mux.HandleFunc("GET /ui/resources", u.resources)
	u.mux.HandleFunc("GET /ui/resources/live", u.resourcesFragment)
	u.mux.HandleFunc("GET /ui/resources/{id}", u.resourceDetail)
	u.mux.HandleFunc("GET /ui/resources/{id}/live", u.resourceLive)
	u.mux.HandleFunc("POST /ui/resources/{id}/action", u.resourceAction)
	u.mux.HandleFunc("GET /ui/resources/{id}/credentials", u.revealCredentials)
	u.mux.HandleFunc("GET /ui/manifests", u.manifests)
	u.mux.HandleFunc("GET /ui/manifests/tree", u.manifestsTree)
	u.mux.HandleFunc("GET /ui/manifests/file", u.manifestFile)
	u.mux.HandleFunc("GET /ui/manifests/status", u.manifestStatus)
	u.mux.HandleFunc("POST /ui/manifests/validate", u.validateText)
	u.mux.HandleFunc("POST /ui/manifests/save", u.saveFile)
	u.mux.HandleFunc("GET /ui/spend", u.spend)
	u.mux.HandleFunc("GET /ui/spend/live", u.spendFragment)
	u.mux.HandleFunc("POST /ui/spend/cap", u.setCap)
	u.mux.HandleFunc("POST /ui/spend/budget", u.addBudget)
	u.mux.HandleFunc("POST /ui/spend/budget/limit", u.setBudgetLimit)
	u.mux.HandleFunc("GET /ui/events", u.events)
	u.mux.HandleFunc("GET /ui/agents", u.agents)
	u.mux.HandleFunc("GET /ui/agents/live", u.agentsFragment)
	u.mux.HandleFunc("POST /ui/agents/event", u.sendAgentEvent)
	u.mux.HandleFunc("POST /ui/agents/{id}/lifecycle", u.agentLifecycle)
	u.mux.HandleFunc("GET /ui/check", u.checkPage)
	u.mux.HandleFunc("POST /ui/check", u.startCheck)
	u.mux.HandleFunc("GET /ui/check/results", u.checkResults)
	u.mux.HandleFunc("GET /ui/event-log", u.eventLog)
	u.mux.HandleFunc("GET /ui/event-log/live", u.eventLogFragment)
	u.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "ospbox UI: no page at "+r.URL.Path, http.StatusNotFound)
	})
}

// namespaceCookie remembers the namespace the UI shows, for the fragments and the event stream
// a page requests; ?ns= on a page's address sets it.
const namespaceCookie = "ospbox_ns"

// namespaceOf is the namespace a request is for ("" for the default one).
func (u *UI) namespaceOf(w http.ResponseWriter, r *http.Request) string {
	if ns, ok := r.URL.Query()["ns"]; ok {
		id := ns[0]
		if id == "default" {
			id = ""
		}
		http.SetCookie(w, &http.Cookie{Name: namespaceCookie, Value: id, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: map[bool]int{true: -1, false: 0}[id == ""]})
		return id
	}
	return RequestNamespace(r)
}

// RequestNamespace is the namespace a UI request is for, by its ?ns= or the remembered choice
// ("" for the default one). The desktop menu acts on it.
func RequestNamespace(r *http.Request) string {
	if ns, ok := r.URL.Query()["ns"]; ok {
		if ns[0] == "default" {
			return ""
		}
		return ns[0]
	}
	if c, err := r.Cookie(namespaceCookie); err == nil {
		return c.Value
	}
	return ""
}

// shownNamespaceKey carries the namespace the pages show to a request served without it open.
type shownNamespaceKey struct{}

// scoped is the UI of the namespace sc holds open, for one request.
func (u *UI) scoped(sc mock.Scope) *UI {
	st, _ := u.states.LoadOrStore(sc.ID, &uiState{})
	nu := &UI{Options: u.Options, token: u.token, csrf: u.csrf, closing: u.closing, uiState: st.(*uiState),
		root: u, namespace: sc.ID, done: sc.Done}
	nu.Sandbox, nu.DB, nu.SandboxURL = sc.Sandbox, sc.DB, u.SandboxURL+"/ns/"+sc.ID
	nu.routes()
	return nu
}

// ServeHTTP serves assets without a token (they are public files) and everything else behind
// the guard.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	if name, ok := strings.CutPrefix(r.URL.Path, "/ui/assets/"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		serveAsset(w, r, name)
		return
	}
	if !u.guard(w, r) {
		return
	}
	if r.Header.Get(WindowHeader) != "" {
		r = r.WithContext(context.WithValue(r.Context(), inWindowKey{}, true))
	}
	ns := u.namespaceOf(w, r)
	if ns != "" && r.Method == http.MethodPost && r.URL.Path == "/ui/namespaces" {
		// Managing namespaces holds none open: deleting or resetting the one shown waits for
		// its requests to end, and this one would be among them.
		u.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), shownNamespaceKey{}, ns)))
		return
	}
	if ns != "" && u.Sandbox.Namespaces() != nil {
		sc, err := u.Sandbox.Namespaces().Open(r.Context(), ns)
		if err == nil {
			defer sc.Release()
			u.scoped(sc).mux.ServeHTTP(w, r)
			return
		}
		// The namespace is gone: show the default one.
		http.SetCookie(w, &http.Cookie{Name: namespaceCookie, Path: "/ui/", MaxAge: -1})
	}
	u.mux.ServeHTTP(w, r)
}

func (u *UI) meta(title, active string) pageMeta {
	m := pageMeta{Title: title, Active: active, CSRF: u.csrf, AssetsBuilt: assetsBuilt(),
		Workspace: u.Sandbox.Workspace().Name(), Version: u.Version, Namespace: "default"}
	if u.namespace != "" {
		m.Namespace = u.namespace
	}
	if ns := u.root.Sandbox.Namespaces(); ns != nil {
		m.Namespaces = ns.IDs()
	}
	if off := u.Sandbox.Clock().Offset; off/time.Second != 0 {
		m.ClockOffset = offsetText(off)
	}
	m.Consents = u.consentPrompts()
	return m
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.Render(r.Context(), w); err != nil {
		u.Logger.Error("render", "path", r.URL.Path, "err", err)
	}
}

func (u *UI) fail(w http.ResponseWriter, err error) {
	u.Logger.Error("ui", "err", err)
	http.Error(w, "ospbox UI: could not read the sandbox state: "+err.Error(), http.StatusInternalServerError)
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request) {
	v, err := u.overviewView(r.Context())
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, overviewPage(u.meta("Overview", "overview"), v))
}

func (u *UI) overviewFragment(w http.ResponseWriter, r *http.Request) {
	v, err := u.overviewView(r.Context())
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, overviewLive(v))
}

func (u *UI) reload(w http.ResponseWriter, r *http.Request) {
	if err := u.Sandbox.Reload(r.Context()); err != nil {
		u.fail(w, err)
		return
	}
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	u.overviewFragment(w, r)
}

func (u *UI) catalog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	c := catalogMatches(u.Sandbox.OSP().BuildCatalog(r.Context(), u.SandboxURL, osp.CatalogQuery{}), q)
	u.render(w, r, catalogPage(u.meta("Catalog", "catalog"), c, q, u.provisionCommands(c)))
}

func (u *UI) catalogResults(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	c := catalogMatches(u.Sandbox.OSP().BuildCatalog(r.Context(), u.SandboxURL, osp.CatalogQuery{}), q)
	u.render(w, r, catalogResults(c, q, u.provisionCommands(c)))
}

func (u *UI) clockFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, clockCard(u.Sandbox.Clock()))
}

// clockAction freezes, resumes, resets or advances the clock from the UI (through the same
// engine calls as the API).
func (u *UI) clockAction(w http.ResponseWriter, r *http.Request) {
	var err error
	switch op := r.PostFormValue("op"); op {
	case "advance":
		secs, perr := strconv.Atoi(r.PostFormValue("seconds"))
		if perr != nil || secs < 1 {
			http.Error(w, "seconds must be a whole number of at least 1", http.StatusBadRequest)
			return
		}
		err = u.Sandbox.AdvanceClock(r.Context(), time.Duration(secs)*time.Second)
	default:
		err = u.Sandbox.SetClock(op)
	}
	if err != nil {
		http.Error(w, "ospbox UI: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/ui/sandbox", http.StatusSeeOther)
		return
	}
	u.clockFragment(w, r)
}

func (u *UI) requests(w http.ResponseWriter, r *http.Request) {
	v, err := u.requestsView(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, requestsPage(u.meta("Requests", "requests"), v))
}

func (u *UI) requestDetail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "no such request", http.StatusNotFound)
		return
	}
	req, err := u.DB.RequestByID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		http.Error(w, "request "+strconv.FormatInt(id, 10)+" is not in the log (it keeps the last "+strconv.Itoa(storage.RequestLogLimit)+")", http.StatusNotFound)
		return
	}
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, requestDetailPage(u.meta("Request", "requests"), requestDetailOf(req, u.SandboxURL)))
}

func (u *UI) resources(w http.ResponseWriter, r *http.Request) {
	v, err := u.resourcesView(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, resourcesPage(u.meta("Resources", "resources"), v))
}

func (u *UI) resourcesFragment(w http.ResponseWriter, r *http.Request) {
	v, err := u.resourcesView(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, resourcesTable(v))
}

func (u *UI) requestsFragment(w http.ResponseWriter, r *http.Request) {
	v, err := u.requestsView(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, requestsTable(v))
}

// events streams "changed" whenever committed state changes, coalescing bursts so a busy agent
// costs the browser one re-render per interval, not one per request.
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	// Inside the desktop window the writer is a pipe with no Flush; writes reach the page as
	// they happen, so a missing Flusher is fine.
	rc := http.NewResponseController(w)
	flush := func() { _ = rc.Flush() }
	changes, cancel := u.DB.Feed.Subscribe()
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 2000\n: connected\n\n"))
	flush()
	keepalive := time.NewTicker(u.KeepaliveInterval)
	defer keepalive.Stop()
	var pending <-chan time.Time
	for {
		select {
		case <-r.Context().Done():
			return
		case <-u.closing:
			return
		case <-u.done: // the namespace shown was reset or deleted: the page reconnects
			return
		case _, open := <-changes:
			if !open {
				return
			}
			if pending == nil {
				pending = time.After(150 * time.Millisecond)
			}
		case <-pending:
			pending = nil
			if _, err := w.Write([]byte("event: changed\ndata: {}\n\n")); err != nil {
				return
			}
			flush()
		case <-keepalive.C:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return
			}
			flush()
		}
	}
}

// provisionCommands is each service's copy-ready provision command, made from the provider it
// is served by now.
func (u *UI) provisionCommands(c osp.Catalog) map[string]string {
	snap := u.Sandbox.Snapshot()
	out := map[string]string{}
	for _, s := range c.Data.Services {
		out[s.ID] = provisionCurl(snap.Provider(s.ProviderSlug), s)
	}
	return out
}
