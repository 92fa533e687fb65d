package mock

import (
	"context"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// The registry's operations for the UI's Namespaces page: the same calls the namespaces API
// (spec/control.md §1) makes, so the page and a test harness can never disagree.

// NamespaceSummary is a namespace with its clock and counts, as the Namespaces page lists it.
type NamespaceSummary struct {
	NamespaceInfo
	Clock  ClockState
	Counts storage.Counts
}

// Summaries lists every namespace, the default one first; one deleted meanwhile is left out.
func (n *Namespaces) Summaries(ctx context.Context) []NamespaceSummary {
	var out []NamespaceSummary
	for _, id := range n.IDs() {
		ni, ok := NamespaceInfo{ID: "default"}, true
		if id != "default" {
			ni, ok = n.infoOf(id)
		}
		if !ok {
			continue
		}
		if s, err := n.summary(ctx, ni); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// summary reads a namespace's clock and counts.
func (n *Namespaces) summary(ctx context.Context, ni NamespaceInfo) (NamespaceSummary, error) {
	s := NamespaceSummary{NamespaceInfo: ni}
	if ni.ID != "default" {
		// A closed namespace is read from its file (the registry held, so no reset swaps it
		// meanwhile): listing or creating namespaces must not open them all.
		n.mu.Lock()
		if n.open[ni.ID] == nil && n.info[ni.ID] != nil {
			counts, clock, err := storage.ReadStateFile(ctx, n.stateFile(ni.ID))
			n.mu.Unlock()
			s.Counts, s.Clock = counts, storedClockState(clock)
			return s, err
		}
		n.mu.Unlock()
	}
	err := n.withSandbox(ctx, ni.ID, func(sb *Sandbox) error {
		c, err := sb.db.Counts(ctx)
		s.Clock, s.Counts = sb.Clock(), c
		return err
	})
	return s, err
}

// Create makes a namespace from the seed, empty or a snapshot (from: "", "seed", "empty",
// "snapshot:<id>"); ttl 0 keeps it until deleted.
func (n *Namespaces) Create(ctx context.Context, id, from string, ttl time.Duration, labels map[string]string) (NamespaceInfo, error) {
	return n.create(ctx, id, from, ttl, labels)
}

// Reset puts a namespace back to the seed, empty or a snapshot, and its clock to real time.
func (n *Namespaces) Reset(ctx context.Context, id, to string) (NamespaceInfo, error) {
	return n.reset(ctx, id, to)
}

// Delete removes a namespace and its state; the default one cannot be deleted.
func (n *Namespaces) Delete(id string) (NamespaceInfo, error) { return n.remove(id) }

// Snapshot saves a namespace's whole state under a name.
func (n *Namespaces) Snapshot(ctx context.Context, id, name string) (SnapshotInfo, error) {
	return n.snapshot(ctx, id, name)
}

// Snapshots lists the saved snapshots, oldest first.
func (n *Namespaces) Snapshots() []SnapshotInfo { return n.snapshots.list() }

// Max is namespaces.max: how many namespaces (the default one included) may exist at once;
// creating one more is refused with 429 quota_exceeded.
func (n *Namespaces) Max() int { return n.max() }

// storedClockState is a stored clock as ClockState reports it: a WorkspaceClock restored to it.
func storedClockState(c storage.ClockState) ClockState {
	clock := NewWorkspaceClock()
	clock.Restore(c.Offset, c.FrozenAt)
	return ClockState{Now: clock.Now(), Frozen: clock.Frozen(), Offset: clock.Offset(), Movable: true}
}
