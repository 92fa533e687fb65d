package frontend

import "sync"

// liveRun is a long task a page starts and follows (the demo, a conformance check): at most one
// runs at a time, and its progress items and outcome are kept for the page to render.
type liveRun[T any] struct {
	mu      sync.Mutex
	running bool
	label   string // what the run is about (the checked URL)
	items   []T
	err     string
}

// runState is a copy of a liveRun for rendering.
type runState[T any] struct {
	Running bool
	Label   string
	Items   []T
	Err     string
}

func (l *liveRun[T]) state() runState[T] {
	l.mu.Lock()
	defer l.mu.Unlock()
	return runState[T]{Running: l.running, Label: l.label, Items: append([]T(nil), l.items...), Err: l.err}
}

// start runs task in the background unless a run is under way; task reports each item with
// report, and notify is called after each item and at the end, so pages refresh live.
func (l *liveRun[T]) start(label string, task func(report func(T)) error, notify func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return
	}
	l.running, l.label, l.items, l.err = true, label, nil, ""
	go func() {
		err := task(func(item T) {
			l.mu.Lock()
			l.items = append(l.items, item)
			l.mu.Unlock()
			notify()
		})
		l.mu.Lock()
		l.running = false
		if err != nil {
			l.err = err.Error()
		}
		l.mu.Unlock()
		notify()
	}()
}

// fail records an error without running anything (bad input).
func (l *liveRun[T]) fail(label, err string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running {
		l.label, l.items, l.err = label, nil, err
	}
}
