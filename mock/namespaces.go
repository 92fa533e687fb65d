package mock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Namespaces (spec/control.md §1): isolated sandboxes inside one process. Each is a Sandbox of
// its own — its own state file, clock, counters and request log — serving the default sandbox's
// manifests under /ns/<id>/. Isolation is structural: a namespace's handlers hold only its own
// database. A namespace is created by copying a state file (the seed, an empty template, or
// another namespace's exported state), so reset is a file swap, not a DELETE over tables; an
// idle namespace is closed (no open database handle) and reopened on its next request.

// namespaceIdle is how long a namespace stays open after its last request.
const namespaceIdle = 30 * time.Second

var namespaceID = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// ErrNamespaceNotFound, ErrNamespaceExists, ErrTooManyNamespaces and ErrNamespaceRequest are
// the registry's errors; the control API answers them as 404, 409, 429 and 400.
var (
	ErrNamespaceNotFound = errors.New("no such namespace")
	ErrNamespaceExists   = errors.New("the namespace id is in use")
	ErrTooManyNamespaces = errors.New("too many namespaces")
	ErrNamespaceRequest  = errors.New("invalid namespace request")
)

// NamespaceRequestError is an ErrNamespaceRequest with the member at fault, which the API's
// 400 and the UI's message both name.
type NamespaceRequestError struct {
	Pointer string // JSON pointer of the member at fault, e.g. /from
	Message string
}

func (e *NamespaceRequestError) Error() string {
	return ErrNamespaceRequest.Error() + ": " + e.Pointer + ": " + e.Message
}

func (e *NamespaceRequestError) Unwrap() error { return ErrNamespaceRequest }

func badNamespaceRequest(pointer, message string) error {
	return &NamespaceRequestError{Pointer: pointer, Message: message}
}

// NamespaceInfo is what the registry keeps of a namespace (namespaces.json).
type NamespaceInfo struct {
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Labels    map[string]string `json:"labels"`
}

// Namespaces is the registry of the default sandbox's namespaces.
type Namespaces struct {
	host *Sandbox
	dir  string // <workspace>/.ospbox/ns

	mu   sync.Mutex
	info map[string]*NamespaceInfo
	open map[string]*openNamespace
	// making holds the ids whose state file is being made: reserved, not yet served.
	making map[string]bool
	// ids is IDs' answer, made again whenever the registry changes.
	ids atomic.Pointer[[]string]

	snapshots *snapshots
}

// openNamespace is a namespace whose state is open. Requests hold use for reading; closing,
// resetting and deleting take it for writing, so they wait for requests in flight.
type openNamespace struct {
	sb       *Sandbox
	db       *storage.DB
	use      sync.RWMutex
	lastUsed time.Time
}

func newNamespaces(host *Sandbox) (*Namespaces, error) {
	n := &Namespaces{host: host, dir: filepath.Join(host.ws.Dir, ".ospbox", "ns"), info: map[string]*NamespaceInfo{}, open: map[string]*openNamespace{}, making: map[string]bool{}}
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return nil, err
	}
	var list []*NamespaceInfo
	if err := readJSONFile(n.registryFile(), &list); err != nil {
		return nil, err
	}
	for _, ni := range list {
		if _, err := os.Stat(n.stateFile(ni.ID)); err == nil {
			n.info[ni.ID] = ni
		}
	}
	n.saveRegistry() // renews IDs (and rewrites the registry without the vanished)
	snaps, err := newSnapshots(host.ws.Dir)
	if err != nil {
		return nil, err
	}
	n.snapshots = snaps
	return n, nil
}

func (n *Namespaces) registryFile() string       { return filepath.Join(n.dir, "namespaces.json") }
func (n *Namespaces) stateFile(id string) string { return filepath.Join(n.dir, id+".db") }
func (n *Namespaces) templateFile() string       { return filepath.Join(n.dir, "empty.template") }
func (n *Namespaces) max() int                   { return n.host.Snapshot().Config.Namespaces.MaxNamespaces() }
func (n *Namespaces) now() time.Time             { return time.Now().UTC() }
func (n *Namespaces) exists(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.info[id] != nil
}

// infoOf is what the registry keeps of id; ok is false when there is no such namespace.
func (n *Namespaces) infoOf(id string) (NamespaceInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ni := n.info[id]; ni != nil {
		return *ni, true
	}
	return NamespaceInfo{}, false
}

// saveRegistry writes namespaces.json atomically and renews IDs; the caller holds mu.
func (n *Namespaces) saveRegistry() error {
	ids := []string{"default"}
	for id := range n.info {
		ids = append(ids, id)
	}
	sort.Strings(ids[1:])
	n.ids.Store(&ids)
	list := make([]*NamespaceInfo, 0, len(n.info))
	for _, ni := range n.info {
		list = append(list, ni)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return writeJSONFile(n.registryFile(), list)
}

// IDs lists the namespaces, default first.
// It takes no lock: a page of a namespace lists them while a reset of that namespace, holding
// the registry, waits for the page's request to end.
func (n *Namespaces) IDs() []string {
	if ids := n.ids.Load(); ids != nil {
		return *ids
	}
	return []string{"default"}
}

// create makes namespace id (a generated one when "") from source: "seed", "empty", or
// "namespace:<id>".
func (n *Namespaces) create(ctx context.Context, id, from string, ttl time.Duration, labels map[string]string) (NamespaceInfo, error) {
	now := n.now()
	if id == "" {
		id = kernel.NewID("ns_", now)
	}
	if !namespaceID.MatchString(id) {
		return NamespaceInfo{}, badNamespaceRequest("/id", "namespace ids are 1–64 characters of a-z, 0-9, _ and -")
	}
	n.mu.Lock()
	if id == "default" || n.info[id] != nil || n.making[id] {
		n.mu.Unlock()
		return NamespaceInfo{}, fmt.Errorf("%w: %s", ErrNamespaceExists, id)
	}
	if len(n.info)+len(n.making)+1 >= n.max() {
		n.mu.Unlock()
		return NamespaceInfo{}, fmt.Errorf("%w: at most %d namespaces live at once (namespaces.max)", ErrTooManyNamespaces, n.max())
	}
	// Reserve the id while the state file is made; it is served once the file is complete.
	ni := &NamespaceInfo{ID: id, CreatedAt: now, Labels: labels}
	if ttl > 0 {
		exp := now.Add(ttl)
		ni.ExpiresAt = &exp
	}
	n.making[id] = true
	n.mu.Unlock()
	realTime, err := n.makeState(ctx, n.stateFile(id), from)
	if err == nil && realTime {
		err = n.resetClock(ctx, id)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.making, id)
	if err != nil {
		removeState(n.stateFile(id))
		return NamespaceInfo{}, err
	}
	n.info[id] = ni
	return *ni, n.saveRegistry()
}

// makeState writes the state file path from source; realTime reports whether the clock starts
// at wall-clock time (seed and empty) rather than as the source's (another namespace).
func (n *Namespaces) makeState(ctx context.Context, path, from string) (bool, error) {
	removeState(path)
	switch {
	case from == "" || from == "seed":
		if seed := n.host.Seed(); seed.Exists {
			return true, copyFile(seed.Path, path)
		}
		return true, n.copyTemplate(ctx, path)
	case from == "empty":
		return true, n.copyTemplate(ctx, path)
	case strings.HasPrefix(from, "snapshot:"):
		return false, n.snapshots.copyTo(strings.TrimPrefix(from, "snapshot:"), path)
	case len(from) > len("namespace:") && strings.HasPrefix(from, "namespace:"):
		src := strings.TrimPrefix(from, "namespace:")
		if src != "default" && !n.exists(src) {
			return false, badNamespaceRequest("/from", "no namespace "+src)
		}
		return false, n.withSandbox(ctx, src, func(sb *Sandbox) error { return sb.ExportState(ctx, path) })
	}
	return false, badNamespaceRequest("/from", "from is seed, empty, snapshot:<id> or namespace:<id>")
}

// copyTemplate copies an empty state (made once, migrated) to path.
func (n *Namespaces) copyTemplate(ctx context.Context, path string) error {
	tmpl := n.templateFile()
	if _, err := os.Stat(tmpl); err != nil {
		db, err := storage.Open(ctx, tmpl+".making")
		if err != nil {
			return err
		}
		err = db.ExportTo(ctx, tmpl+".vacuum")
		db.Close()
		removeState(tmpl + ".making")
		if err != nil {
			return err
		}
		if err := os.Rename(tmpl+".vacuum", tmpl); err != nil {
			return err
		}
	}
	return copyFile(tmpl, path)
}

// resetClock sets namespace id's stored clock to wall-clock time; the namespace is closed, so
// the file is changed as it lies and nothing is opened.
func (n *Namespaces) resetClock(ctx context.Context, id string) error {
	return storage.ResetClockFile(ctx, n.stateFile(id))
}

// acquire opens namespace id when it is not open and holds it for a request; release it.
func (n *Namespaces) acquire(ctx context.Context, id string) (*openNamespace, error) {
	n.mu.Lock()
	if n.info[id] == nil {
		n.mu.Unlock()
		return nil, ErrNamespaceNotFound
	}
	o := n.open[id]
	if o == nil {
		db, err := storage.Open(ctx, n.stateFile(id))
		if err != nil {
			n.mu.Unlock()
			return nil, err
		}
		sb, err := New(ctx, n.host.ws, db, Options{Logger: n.host.log.With("namespace", id), Manifests: n.host})
		if err != nil {
			db.Close()
			n.mu.Unlock()
			return nil, err
		}
		o = &openNamespace{sb: sb, db: db}
		n.open[id] = o
	}
	o.lastUsed = time.Now()
	o.use.RLock()
	n.mu.Unlock()
	return o, nil
}

func (o *openNamespace) release() { o.use.RUnlock() }

// with runs fn on namespace id's sandbox, held like a request.
func (n *Namespaces) with(ctx context.Context, id string, fn func(*Sandbox) error) error {
	o, err := n.acquire(ctx, id)
	if err != nil {
		return err
	}
	defer o.release()
	return fn(o.sb)
}

// withSandbox runs fn on the namespace's sandbox (the host's for "default").
func (n *Namespaces) withSandbox(ctx context.Context, id string, fn func(*Sandbox) error) error {
	if id == "default" {
		return fn(n.host)
	}
	return n.with(ctx, id, fn)
}

// closeLocked stops an open namespace and closes its state; the caller holds mu. It waits for
// the requests in flight (their streams end when the sandbox stops).
func (n *Namespaces) closeLocked(id string) {
	o := n.open[id]
	if o == nil {
		return
	}
	delete(n.open, id)
	o.sb.Close()
	o.use.Lock()
	o.db.Close()
	o.use.Unlock()
}

// reset replaces namespace id's state with source's ("seed", "empty"); its clock returns to
// wall-clock time.
func (n *Namespaces) reset(ctx context.Context, id, to string) (NamespaceInfo, error) {
	if to != "" && to != "seed" && to != "empty" && !strings.HasPrefix(to, "snapshot:") {
		return NamespaceInfo{}, badNamespaceRequest("/to", "to is seed, empty or snapshot:<id>")
	}
	if snap, ok := strings.CutPrefix(to, "snapshot:"); ok {
		if _, err := n.snapshots.get(snap); err != nil {
			return NamespaceInfo{}, badNamespaceRequest("/to", "no snapshot "+snap)
		}
	}
	if id == "default" {
		switch {
		case to == "empty":
			return NamespaceInfo{ID: id}, n.host.replaceState(ctx, n.host.db.Reset, true)
		case strings.HasPrefix(to, "snapshot:"):
			path := n.snapshots.file(strings.TrimPrefix(to, "snapshot:"))
			return NamespaceInfo{ID: id}, n.host.replaceState(ctx, func(ctx context.Context) error { return n.host.db.ImportFrom(ctx, path) }, true)
		}
		return NamespaceInfo{ID: id}, n.host.ResetToSeed(ctx)
	}
	// The file is swapped with the registry held: no request opens the namespace half-made.
	// A swap is a file copy (milliseconds), and the sources here never need the registry.
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.info[id] == nil {
		return NamespaceInfo{}, ErrNamespaceNotFound
	}
	n.closeLocked(id)
	ni := *n.info[id]
	if _, err := n.makeState(ctx, n.stateFile(id), to); err != nil {
		return ni, err
	}
	return ni, n.resetClock(ctx, id)
}

// remove deletes namespace id and its state.
func (n *Namespaces) remove(id string) (NamespaceInfo, error) {
	if id == "default" {
		return NamespaceInfo{}, fmt.Errorf("%w: the default namespace cannot be deleted", ErrNamespaceExists)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ni := n.info[id]
	if ni == nil {
		return NamespaceInfo{}, ErrNamespaceNotFound
	}
	n.closeLocked(id)
	delete(n.info, id)
	removeState(n.stateFile(id))
	return *ni, n.saveRegistry()
}

// each runs fn on every open namespace.
func (n *Namespaces) each(fn func(*Sandbox)) {
	if n == nil {
		return
	}
	n.mu.Lock()
	open := make([]*Sandbox, 0, len(n.open))
	for _, o := range n.open {
		open = append(open, o.sb)
	}
	n.mu.Unlock()
	for _, sb := range open {
		fn(sb)
	}
}

// sweep closes namespaces idle for namespaceIdle (and without delayed BSP events still to come)
// and deletes those whose TTL has passed.
func (n *Namespaces) sweep() {
	now := n.now()
	n.mu.Lock()
	var expired []string
	for id, ni := range n.info {
		if ni.ExpiresAt != nil && !now.Before(*ni.ExpiresAt) {
			expired = append(expired, id)
		}
	}
	for id, o := range n.open {
		if time.Since(o.lastUsed) > namespaceIdle && o.sb.bsp.Delayed() == 0 && o.use.TryLock() {
			o.use.Unlock()
			n.closeLocked(id)
		}
	}
	n.mu.Unlock()
	for _, id := range expired {
		if _, err := n.remove(id); err != nil && !errors.Is(err, ErrNamespaceNotFound) {
			n.host.log.Error("deleting an expired namespace", "namespace", id, "err", err)
		}
	}
}

// closeAll stops every open namespace (the host is closing).
func (n *Namespaces) closeAll() {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for id := range n.open {
		n.closeLocked(id)
	}
}

// copyFile copies src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeState removes a state file with its WAL and shared-memory files.
func removeState(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// Scope is one namespace held open for a client of the host (the UI): its sandbox and state,
// closed Done when the namespace stops (a reset or a delete), and Release to let it go.
type Scope struct {
	ID      string
	Sandbox *Sandbox
	DB      *storage.DB
	Done    <-chan struct{}
	Release func()
}

// Open holds namespace id ("" or "default" for the default one) for a client; it answers
// ErrNamespaceNotFound for an unknown id.
func (n *Namespaces) Open(ctx context.Context, id string) (Scope, error) {
	if id == "" || id == "default" {
		return Scope{ID: "default", Sandbox: n.host, DB: n.host.db, Done: n.host.stop, Release: func() {}}, nil
	}
	o, err := n.acquire(ctx, id)
	if err != nil {
		return Scope{}, err
	}
	return Scope{ID: id, Sandbox: o.sb, DB: o.db, Done: o.sb.stop, Release: o.release}, nil
}
