// Package manifests holds what a provider declares: the workspace on disk, manifests parsed with
// positions, dialect and generation detection, validation findings, the served form of a manifest,
// and signing. It knows nothing of the rest of ospbox: it imports none of mock, frontend, app or
// storage.
package manifests

import (
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

//go:embed all:samples
var samples embed.FS

// SlugPattern is what a provider folder name must match.
var SlugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Paths inside a workspace.
const (
	ConfigFile   = "ospbox.json"
	ProvidersDir = "providers"
	StateDir     = ".ospbox"
	BSPManifest  = "bsp/manifest.json"
	OAPManifest  = "oap/manifest.json"
)

// Workspace is a folder of authored manifests plus ospbox's state beside them.
type Workspace struct {
	Dir    string
	Config Config
}

// OpenWorkspace reads the workspace at dir. A missing ospbox.json means defaults; a broken one is
// an error with its line and column, because every other setting depends on it.
func OpenWorkspace(dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", abs, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("workspace %s is not a folder", abs)
	}
	cfg, err := LoadConfig(filepath.Join(abs, ConfigFile))
	if err != nil {
		return nil, err
	}
	return &Workspace{Dir: abs, Config: cfg}, nil
}

// StatePath is where the workspace's SQLite state lives.
func (w *Workspace) StatePath() string { return filepath.Join(w.Dir, StateDir, "state.db") }

// KeysDir is where per-provider signing keys live.
func (w *Workspace) KeysDir() string { return filepath.Join(w.Dir, StateDir, "keys") }

// Name is the workspace's display name: the configured one, else the folder name.
func (w *Workspace) Name() string {
	if w.Config.Name != "" {
		return w.Config.Name
	}
	return filepath.Base(w.Dir)
}

// ProviderSlugs lists the provider folders that hold an osp.json, sorted.
func (w *Workspace) ProviderSlugs() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(w.Dir, ProvidersDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var slugs []string
	for _, e := range entries {
		if !e.IsDir() || !SlugPattern.MatchString(e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(w.Dir, ProvidersDir, e.Name(), "osp.json")); err == nil {
			slugs = append(slugs, e.Name())
		}
	}
	sort.Strings(slugs)
	return slugs, nil
}

// OSPPath is the authored manifest of provider slug, relative to the workspace.
func OSPPath(slug string) string {
	return filepath.ToSlash(filepath.Join(ProvidersDir, slug, "osp.json"))
}

// DefaultDir is the per-user default workspace: $XDG_DATA_HOME/ospbox/workspace or the
// platform equivalent.
func DefaultDir() (string, error) {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home folder for the default workspace (pass --workspace): %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "ospbox", "workspace"), nil
}

// SeedIfEmpty writes the embedded sample workspace into dir when dir has no ospbox.json and no
// providers folder. It never overwrites a file. It reports whether it seeded.
func SeedIfEmpty(dir string) (bool, error) {
	if IsWorkspaceDir(dir) {
		return false, nil
	}
	if err := WriteSamples(dir); err != nil {
		return false, err
	}
	return true, nil
}

// IsWorkspaceDir reports whether dir already is an ospbox workspace: it has an ospbox.json or a
// providers folder (otherwise SeedIfEmpty writes the samples into it).
func IsWorkspaceDir(dir string) bool {
	for _, marker := range []string{ConfigFile, ProvidersDir} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return true
		}
	}
	return false
}

// sampleBSPToken stands in the embedded ospbox.json for the BSP credential each new workspace
// gets (spec/bsp.md §5).
const sampleBSPToken = "bsp_sk_created-with-the-workspace"

// NewBSPToken is a fresh BSP credential token: bsp_sk_ and 24 base62 characters.
func NewBSPToken() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "bsp_sk_" + string(b)
}

// WriteSamples copies the embedded sample workspace into dir, leaving existing files alone.
func WriteSamples(dir string) error {
	return fs.WalkDir(samples, "samples", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("samples", path)
		target := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := samples.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == ConfigFile {
			data = bytes.Replace(data, []byte(sampleBSPToken), []byte(NewBSPToken()), 1)
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
