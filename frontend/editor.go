package frontend

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/kernel"
)

// maxEditorBody bounds what the editor may post: a manifest (1 MiB) plus the JSON around it.
const maxEditorBody = manifests.MaxManifestBytes + 64<<10

// fileEntry is one file in the Manifests page's tree.
type fileEntry struct {
	Path     string
	Errors   int
	Warnings int // warnings only; notices (info) do not count as problems here
	Current  bool
}

// fileStatus says what the mock does with a file: the served version against what is on disk.
type fileStatus struct {
	Served      bool   `json:"served"`       // the file is something the mock serves
	Serving     bool   `json:"serving"`      // a version is being served
	Version     int    `json:"version"`      // OSP manifest_version being served (0 when not OSP)
	ServingFrom string `json:"serving_from"` // when the served version was loaded, HH:MM:SS
	DiskErrors  int    `json:"disk_errors"`
}

// fileView is GET /ui/manifests/file.
type fileView struct {
	Path   string           `json:"path"`
	Text   string           `json:"text"`
	Hash   string           `json:"hash"`
	Report manifests.Report `json:"report"`
	Status fileStatus       `json:"status"`
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// reportsByFile indexes the reports of the current snapshot by file.
func reportsByFile(snap *mock.Snapshot) map[string]manifests.Report {
	out := map[string]manifests.Report{}
	for _, r := range reportsOf(snap) {
		out[r.File] = r
	}
	return out
}

func (u *UI) statusOf(snap *mock.Snapshot, path string, rep manifests.Report) fileStatus {
	st := fileStatus{DiskErrors: len(rep.Errors)}
	for _, p := range snap.Providers {
		if p.Report.File == path {
			st.Served = true
			if p.Serving != nil {
				st.Serving, st.Version = true, p.Serving.Version
				st.ServingFrom = p.Serving.LoadedAt.Local().Format(time.TimeOnly)
			}
		}
	}
	for _, s := range []kernel.SurfaceState{snap.BSP, snap.OAP} {
		if s.Disk.File == path {
			st.Served = true
			if s.Serving != nil {
				st.Serving = true
				st.ServingFrom = snap.LoadedAt.Local().Format(time.TimeOnly)
			}
		}
	}
	for _, f := range snap.Scenarios {
		if f.Report.File == path {
			st.Served = true
			st.Serving = f.Rules != nil // its rules, or its last good ones, are loaded
			st.ServingFrom = snap.LoadedAt.Local().Format(time.TimeOnly)
		}
	}
	return st
}

// fileEntries lists the workspace files with their problem counts.
func (u *UI) fileEntries(current string) []fileEntry {
	ws := u.Sandbox.Workspace()
	reports := reportsByFile(u.Sandbox.Snapshot())
	var out []fileEntry
	for _, f := range ws.EditableFiles() {
		rep, ok := reports[f]
		if !ok {
			if data, err := os.ReadFile(filepath.Join(ws.Dir, filepath.FromSlash(f))); err == nil {
				rep = ws.ValidateText(f, data)
			}
		}
		warnings := 0
		for _, d := range rep.Warnings {
			if d.Severity == manifests.SeverityWarning {
				warnings++
			}
		}
		out = append(out, fileEntry{Path: f, Errors: len(rep.Errors), Warnings: warnings, Current: f == current})
	}
	return out
}

func (u *UI) manifests(w http.ResponseWriter, r *http.Request) {
	files := u.fileEntries("")
	current := r.URL.Query().Get("file")
	if current == "" && len(files) > 0 {
		current = files[0].Path
		for _, f := range files {
			if f.Path != manifests.ConfigFile {
				current = f.Path
				break
			}
		}
	}
	for i := range files {
		files[i].Current = files[i].Path == current
	}
	v, err := u.readFile(current)
	if err != nil && current != "" {
		http.Error(w, "ospbox UI: "+err.Error(), http.StatusNotFound)
		return
	}
	u.render(w, r, manifestsPage(u.meta("Manifests", "manifests"), files, v))
}

func (u *UI) manifestStatus(w http.ResponseWriter, r *http.Request) {
	v, err := u.readFile(r.URL.Query().Get("path"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	u.render(w, r, statusLine(v.Status))
}

func (u *UI) manifestsTree(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, fileTree(u.fileEntries(r.URL.Query().Get("file"))))
}

func (u *UI) readFile(path string) (fileView, error) {
	ws := u.Sandbox.Workspace()
	abs, err := ws.ResolveFile(path)
	if err != nil {
		return fileView{}, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return fileView{}, err
	}
	snap := u.Sandbox.Snapshot()
	rep := ws.ValidateText(path, data)
	return fileView{Path: path, Text: string(data), Hash: hashOf(data), Report: rep, Status: u.statusOf(snap, path, rep)}, nil
}

func (u *UI) manifestFile(w http.ResponseWriter, r *http.Request) {
	v, err := u.readFile(r.URL.Query().Get("path"))
	switch {
	case errors.Is(err, manifests.ErrOutsideWorkspace):
		jsonError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, fs.ErrNotExist):
		jsonError(w, http.StatusNotFound, "no such file in the workspace")
	case err != nil:
		jsonError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSONResponse(w, http.StatusOK, v)
	}
}

// editorRequest is the body of the editor's validate and save calls.
type editorRequest struct {
	Path     string `json:"path"`
	Text     string `json:"text"`
	BaseHash string `json:"base_hash"`
}

func decodeEditorRequest(w http.ResponseWriter, r *http.Request) (editorRequest, bool) {
	var req editorRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEditorBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			jsonError(w, http.StatusRequestEntityTooLarge, "the file is larger than 1 MiB")
		} else {
			jsonError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		}
		return req, false
	}
	if _, err := dec.Token(); err != io.EOF {
		jsonError(w, http.StatusBadRequest, "bad request body: data after the JSON object")
		return req, false
	}
	return req, true
}

func (u *UI) validateText(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeEditorRequest(w, r)
	if !ok {
		return
	}
	ws := u.Sandbox.Workspace()
	if _, err := ws.ResolveFile(req.Path); err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSONResponse(w, http.StatusOK, ws.ValidateText(req.Path, []byte(req.Text)))
}

// saveFile writes the editor's text atomically, unless the file changed on disk since the
// editor loaded it (base_hash): then it answers 409 with what is on disk now.
func (u *UI) saveFile(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeEditorRequest(w, r)
	if !ok {
		return
	}
	ws := u.Sandbox.Workspace()
	abs, err := ws.ResolveFile(req.Path)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	current, err := os.ReadFile(abs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err == nil && hashOf(current) != req.BaseHash {
		writeJSONResponse(w, http.StatusConflict, map[string]any{
			"error": "the file changed on disk since you opened it",
			"text":  string(current), "hash": hashOf(current),
		})
		return
	}
	data := []byte(req.Text)
	if err := writeAtomic(abs, data); err != nil {
		jsonError(w, http.StatusInternalServerError, "could not save: "+err.Error())
		return
	}
	u.Logger.Info("saved from the editor", "file", req.Path, "bytes", len(data))
	writeJSONResponse(w, http.StatusOK, map[string]any{"hash": hashOf(data), "report": ws.ValidateText(req.Path, data)})
}

// writeAtomic writes data to a temporary file beside path and renames it over path, so a reader
// (the watcher, the mock) never sees half a file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	os.Chmod(tmp.Name(), mode)
	return os.Rename(tmp.Name(), path)
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSONResponse(w, status, map[string]string{"error": msg})
}
