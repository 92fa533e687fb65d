package mock

import (
	"context"
	"sync"

	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
)

// ospBridge is the sink OSP publishes its events to (kernel.EventSink), connected to the BSP
// event streams: the OSP write path only appends to a list after its commit, and one background
// update publishes what has gathered, in commit order. OSP and BSP never import each other; the
// host is the only place that knows both.
type ospBridge struct {
	mu      sync.Mutex
	pending []bsp.OSPEvent
	wake    chan struct{}
	// served reports whether a BSP manifest is served: without one there is nowhere to publish.
	served func() bool
}

// Wants reports whether a BSP manifest is being served.
func (b *ospBridge) Wants() bool { return b.served() }

// Publish queues an OSP event for the BSP streams; it never blocks.
func (b *ospBridge) Publish(typ string, body []byte) {
	b.mu.Lock()
	b.pending = append(b.pending, bsp.OSPEvent{Type: typ, Body: body})
	b.mu.Unlock()
	kernel.Signal(b.wake)
}

func (b *ospBridge) take() []bsp.OSPEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.pending
	b.pending = nil
	return out
}

// runOSPBridge publishes gathered OSP events until the sandbox stops (then once more).
func (s *Sandbox) runOSPBridge() {
	defer s.ticking.Done()
	for {
		select {
		case <-s.bridge.wake:
			s.flushOSPBridge()
		case <-s.stop:
			s.flushOSPBridge()
			return
		}
	}
}

func (s *Sandbox) flushOSPBridge() {
	events := s.bridge.take()
	if len(events) == 0 {
		return
	}
	if err := s.bsp.PublishOSPEvents(context.Background(), events); err != nil && !kernel.Closed(s.stop) {
		s.log.Error("publishing OSP events on the BSP streams", "err", err)
	}
}
