package mock

import (
	"sync"
	"time"

	"github.com/ospbox/ospbox/mock/kernel"
)

// WorkspaceClock is wall-clock time shifted by whatever it was advanced by, or frozen.
type WorkspaceClock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen *time.Time
	base   func() time.Time
}

// NewWorkspaceClock starts at wall-clock time.
func NewWorkspaceClock() *WorkspaceClock { return &WorkspaceClock{base: kernel.RealClock{}.Now} }

// Now is the sandbox's current time.
func (c *WorkspaceClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return c.base().Add(c.offset)
}

// Advance moves the clock forward by d and returns the new time.
func (c *WorkspaceClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		t := c.frozen.Add(d)
		c.frozen = &t
		return t
	}
	c.offset += d
	return c.base().Add(c.offset)
}

// Freeze stops the clock at its current time.
func (c *WorkspaceClock) Freeze() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen == nil {
		t := c.base().Add(c.offset)
		c.frozen = &t
	}
	return *c.frozen
}

// Resume lets a frozen clock run again from where it stood.
func (c *WorkspaceClock) Resume() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		c.offset = c.frozen.Sub(c.base())
		c.frozen = nil
	}
	return c.base().Add(c.offset)
}

// Frozen reports whether the clock is frozen.
func (c *WorkspaceClock) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen != nil
}

// Reset returns the clock to wall-clock time, running.
func (c *WorkspaceClock) Reset() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.frozen = 0, nil
	return c.base()
}

// Offset is how far the clock is from wall-clock time.
func (c *WorkspaceClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return c.frozen.Sub(c.base())
	}
	return c.offset
}

// Restore sets the clock to a stored state: offset from wall-clock time, or frozen at an instant.
func (c *WorkspaceClock) Restore(offset time.Duration, frozenAt *time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.frozen = offset, nil
	if frozenAt != nil {
		t := *frozenAt
		c.frozen = &t
	}
}

// State is the clock as it is stored: its offset, and the instant it is frozen at (or nil).
func (c *WorkspaceClock) State() (time.Duration, *time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		t := *c.frozen
		return t.Sub(c.base()), &t
	}
	return c.offset, nil
}
