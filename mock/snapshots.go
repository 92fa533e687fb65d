package mock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// Snapshots (spec/control.md §2): a namespace's whole state, its clock included, kept as one
// state file under .ospbox/snapshots/ to create or reset namespaces from, export and import.

// ErrSnapshotNotFound is the snapshot store's answer for an unknown id (404).
var ErrSnapshotNotFound = errors.New("no such snapshot")

// SnapshotInfo is one snapshot.
type SnapshotInfo struct {
	ID        string    `json:"id"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Bytes     int64     `json:"bytes"`
}

// snapshots is the workspace's snapshot store.
type snapshots struct {
	dir  string
	mu   sync.Mutex
	info map[string]*SnapshotInfo
}

func newSnapshots(workspaceDir string) (*snapshots, error) {
	s := &snapshots{dir: filepath.Join(workspaceDir, ".ospbox", "snapshots"), info: map[string]*SnapshotInfo{}}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	var list []*SnapshotInfo
	if err := readJSONFile(s.registryFile(), &list); err != nil {
		return nil, err
	}
	for _, si := range list {
		if _, err := os.Stat(s.file(si.ID)); err == nil {
			s.info[si.ID] = si
		}
	}
	return s, nil
}

func (s *snapshots) registryFile() string  { return filepath.Join(s.dir, "snapshots.json") }
func (s *snapshots) file(id string) string { return filepath.Join(s.dir, id+".db") }
func (s *snapshots) saveLocked() error {
	list := make([]*SnapshotInfo, 0, len(s.info))
	for _, si := range s.info {
		list = append(list, si)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return writeJSONFile(s.registryFile(), list)
}

// take stores the state export writes (to the path it is given) as a new snapshot.
func (s *snapshots) take(ctx context.Context, namespace, name string, export func(path string) error) (SnapshotInfo, error) {
	now := time.Now().UTC()
	si := &SnapshotInfo{ID: kernel.NewID("snap_", now), Namespace: namespace, Name: name, CreatedAt: now}
	if err := export(s.file(si.ID)); err != nil {
		removeState(s.file(si.ID))
		return SnapshotInfo{}, err
	}
	if st, err := os.Stat(s.file(si.ID)); err == nil {
		si.Bytes = st.Size()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.info[si.ID] = si
	return *si, s.saveLocked()
}

// importFile checks, migrates and stores an uploaded state file as a snapshot.
func (s *snapshots) importFile(ctx context.Context, src, name string) (SnapshotInfo, error) {
	return s.take(ctx, "", name, func(path string) error { return storage.PrepareStateFile(ctx, src, path) })
}

func (s *snapshots) get(id string) (SnapshotInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if si := s.info[id]; si != nil {
		return *si, nil
	}
	return SnapshotInfo{}, ErrSnapshotNotFound
}

func (s *snapshots) list() []SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SnapshotInfo, 0, len(s.info))
	for _, si := range s.info {
		out = append(out, *si)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].ID < out[j].ID
	})
	return out
}

func (s *snapshots) remove(id string) (SnapshotInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := s.info[id]
	if si == nil {
		return SnapshotInfo{}, ErrSnapshotNotFound
	}
	delete(s.info, id)
	removeState(s.file(id))
	return *si, s.saveLocked()
}

// copyTo writes snapshot id's state to path.
func (s *snapshots) copyTo(id, path string) error {
	if _, err := s.get(id); err != nil {
		return badNamespaceRequest("/from", "no snapshot "+id)
	}
	return copyFile(s.file(id), path)
}

// readJSONFile decodes path into v; a missing file leaves v as it is.
func readJSONFile(path string, v any) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSONFile writes v to path atomically.
func writeJSONFile(path string, v any) error {
	raw, _ := json.MarshalIndent(v, "", "  ")
	tmp := path + ".saving"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// maxSnapshotBytes bounds an uploaded snapshot.
const maxSnapshotBytes = 256 << 20

// serveSnapshots answers /ospbox/v1/snapshots[/{id}[/export]].
func (n *Namespaces) serveSnapshots(w http.ResponseWriter, r *http.Request) {
	if n == nil {
		osp.WriteError(w, osp.NewError("not_found", "snapshots are managed at the sandbox host's root, not inside a namespace"))
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/ospbox/v1/snapshots"), "/")
	id, action, _ := strings.Cut(rest, "/")
	fail := func(err error) {
		if errors.Is(err, ErrSnapshotNotFound) {
			osp.WriteError(w, &osp.Error{Status: 404, Code: "not_found", Message: "no snapshot " + id})
			return
		}
		if errors.Is(err, storage.ErrNotState) {
			osp.WriteError(w, osp.InvalidRequest("the body is not an ospbox state file: "+err.Error(), map[string]any{"pointer": "", "message": err.Error()}))
			return
		}
		osp.WriteError(w, osp.NewError("provider_error", err.Error()))
	}
	switch {
	case id == "":
		if !osp.Allow(w, r, http.MethodGet, http.MethodHead, http.MethodPost) {
			return
		}
		if r.Method != http.MethodPost {
			kernel.WriteJSON(w, http.StatusOK, map[string]any{"snapshots": n.snapshots.list()})
			return
		}
		if osp.RefuseBrowser(w, r) {
			return
		}
		upload, err := os.CreateTemp(n.snapshots.dir, "upload-")
		if err != nil {
			fail(err)
			return
		}
		defer os.Remove(upload.Name())
		upload.Write(kernel.ReadBody(r))
		upload.Close()
		si, err := n.snapshots.importFile(r.Context(), upload.Name(), r.URL.Query().Get("name"))
		if err != nil {
			fail(err)
			return
		}
		kernel.WriteJSON(w, http.StatusCreated, si)
	case action == "":
		if !osp.Allow(w, r, http.MethodGet, http.MethodHead, http.MethodDelete) {
			return
		}
		var si SnapshotInfo
		var err error
		if r.Method == http.MethodDelete {
			if osp.RefuseBrowser(w, r) {
				return
			}
			si, err = n.snapshots.remove(id)
		} else {
			si, err = n.snapshots.get(id)
		}
		if err != nil {
			fail(err)
			return
		}
		kernel.WriteJSON(w, http.StatusOK, si)
	case action == "export":
		if !osp.Allow(w, r, http.MethodGet) {
			return
		}
		if _, err := n.snapshots.get(id); err != nil {
			fail(err)
			return
		}
		raw, err := os.ReadFile(n.snapshots.file(id))
		if err != nil {
			fail(err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.sqlite3")
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.db"`)
		w.WriteHeader(http.StatusOK)
		w.Write(raw)
	default:
		osp.WriteError(w, osp.NewError("not_found", "no snapshots API at "+r.URL.Path))
	}
}

// snapshot takes a snapshot of namespace id.
func (n *Namespaces) snapshot(ctx context.Context, id, name string) (SnapshotInfo, error) {
	if id != "default" && !n.exists(id) {
		return SnapshotInfo{}, ErrNamespaceNotFound
	}
	return n.snapshots.take(ctx, id, name, func(path string) error {
		return n.withSandbox(ctx, id, func(sb *Sandbox) error { return sb.ExportState(ctx, path) })
	})
}
