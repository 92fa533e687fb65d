package manifests

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce settings for the workspace watcher: changes are reported once the workspace has been
// quiet for WatchQuiet, and at the latest WatchMaxWait after the first change of a burst, so a
// stream of writes cannot postpone validation forever.
const (
	WatchQuiet   = 40 * time.Millisecond
	WatchMaxWait = 250 * time.Millisecond
)

// Watcher reports changed workspace files. It watches folders, not files, so editors' atomic
// saves (write a temporary file, rename it over the original), deletes and re-creates are all
// seen; folders created later are added as they appear.
type Watcher struct {
	root     string
	fsw      *fsnotify.Watcher
	onChange func(paths []string)
	log      *slog.Logger
	done     chan struct{}
	wg       sync.WaitGroup
}

// skipDir reports whether a folder is never watched: ospbox's own state and tool folders.
func skipDir(rel string) bool {
	base := filepath.Base(rel)
	return rel == StateDir || base == ".git" || base == "node_modules"
}

// Watch starts watching root recursively. onChange receives workspace-relative, slash-separated
// paths of changed files, sorted, from one goroutine, one batch at a time.
func Watch(root string, log *slog.Logger, onChange func(paths []string)) (*Watcher, error) {
	fsw, err := fsnotify.NewBufferedWatcher(1024)
	if err != nil {
		return nil, err
	}
	w := &Watcher{root: root, fsw: fsw, onChange: onChange, log: log, done: make(chan struct{})}
	if _, err := w.addTree(root); err != nil {
		fsw.Close()
		return nil, err
	}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

// Close stops the watcher and waits for its goroutine to end.
func (w *Watcher) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	err := w.fsw.Close()
	w.wg.Wait()
	return err
}

// addTree watches dir and every folder below it, returning the files found (a folder that
// appears with files already in it must report them, since their events came before the watch).
func (w *Watcher) addTree(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(w.root, path)
		if d.IsDir() {
			if rel != "." && skipDir(rel) {
				return filepath.SkipDir
			}
			if err := w.fsw.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	return files, err
}

func (w *Watcher) run() {
	defer w.wg.Done()
	pending := map[string]bool{}
	var quiet, deadline *time.Timer
	var quietC, deadlineC <-chan time.Time
	fire := func() {
		if quiet != nil {
			quiet.Stop()
		}
		if deadline != nil {
			deadline.Stop()
		}
		quietC, deadlineC = nil, nil
		if len(pending) == 0 {
			return
		}
		paths := make([]string, 0, len(pending))
		for p := range pending {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		clear(pending)
		w.onChange(paths)
	}
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			rel, err := filepath.Rel(w.root, ev.Name)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			rel = filepath.ToSlash(rel)
			if rel == StateDir || strings.HasPrefix(rel, StateDir+"/") {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() && !skipDir(rel) {
					files, err := w.addTree(ev.Name)
					if err != nil {
						w.log.Warn("watch: cannot watch new folder", "path", rel, "err", err)
					}
					for _, f := range files {
						pending[f] = true
					}
				}
			}
			pending[rel] = true
			if quiet == nil {
				quiet = time.NewTimer(WatchQuiet)
			} else {
				quiet.Reset(WatchQuiet)
			}
			quietC = quiet.C
			if deadlineC == nil {
				if deadline == nil {
					deadline = time.NewTimer(WatchMaxWait)
				} else {
					deadline.Reset(WatchMaxWait)
				}
				deadlineC = deadline.C
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			// An overflow means events were lost: report everything so nothing stays stale.
			w.log.Warn("watch: error", "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				if files, err := w.addTree(w.root); err == nil {
					for _, f := range files {
						pending[f] = true
					}
				}
				fire()
			}
		case <-quietC:
			fire()
		case <-deadlineC:
			fire()
		}
	}
}
