package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ospbox/ospbox/manifests"
)

// ErrWorkspaceInUse is Start's error when another ospbox process serves the workspace: two
// processes on one state database would fight over its writer and keep two clocks.
var ErrWorkspaceInUse = errors.New("workspace in use")

// lockFile is where the process serving a workspace holds its lock and says who it is.
func lockFile(dir string) string { return filepath.Join(dir, ".ospbox", "ospbox.lock") }

// holderURL is the address the process holding dir's lock announced, or "".
func holderURL(dir string) string {
	raw, _ := os.ReadFile(lockFile(dir))
	_, url, ok := strings.Cut(strings.TrimSpace(string(raw)), " at ")
	if !ok || !strings.HasPrefix(url, "http") {
		return ""
	}
	return url
}

// workspaceDir is the workspace cfg names, or the per-user default one.
func workspaceDir(cfg Config) (string, error) {
	if cfg.Workspace != "" {
		return cfg.Workspace, nil
	}
	return manifests.DefaultDir()
}

// workspaceLock is the held lock of one workspace.
type workspaceLock struct {
	f *os.File
}

// lockWorkspace takes the workspace's lock, or says which process holds it.
func lockWorkspace(dir string) (*workspaceLock, error) {
	path := lockFile(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another ospbox process"
		}
		return nil, fmt.Errorf("%w: %s is served by %s; stop it, or start this one with another --workspace", ErrWorkspaceInUse, dir, who)
	}
	return &workspaceLock{f: f}, nil
}

// announce writes who holds the lock, for the message a second process prints.
func (l *workspaceLock) announce(url string) {
	l.f.Truncate(0)
	l.f.WriteAt([]byte(fmt.Sprintf("ospbox (pid %d) at %s\n", os.Getpid(), url)), 0)
}

// release gives the lock up (the process ending does too, even after kill -9).
func (l *workspaceLock) release() {
	if l != nil {
		l.f.Truncate(0)
		l.f.Close()
	}
}
