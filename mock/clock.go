package mock

import "time"

// Clock is the workspace clock: every time-driven behaviour reads it, so tests and demos can
// move time (spec/README.md, Time).
type Clock interface {
	Now() time.Time
}

// RealClock is wall-clock time.
type RealClock struct{}

// Now returns the current UTC time.
func (RealClock) Now() time.Time { return time.Now().UTC() }
