package storage

import "sync"

// Change is the notice published after a commit: which table, which row, what happened.
type Change struct {
	Table string `json:"table"`
	ID    string `json:"id"`
	Kind  string `json:"kind"` // insert, update, delete
}

// Feed fans committed changes out to subscribers. Publishing never blocks: a subscriber that
// falls behind loses notices (it is told nothing more than "something changed", so it re-reads).
type Feed struct {
	mu     sync.Mutex
	subs   map[chan Change]struct{}
	closed bool
}

// NewFeed makes an empty feed.
func NewFeed() *Feed { return &Feed{subs: map[chan Change]struct{}{}} }

// Subscribe returns a channel of changes and a function that ends the subscription.
func (f *Feed) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(ch)
		return ch, func() {}
	}
	f.subs[ch] = struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// Publish sends c to every subscriber that has room.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- c:
		default:
		}
	}
}

// Close ends every subscription.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}
