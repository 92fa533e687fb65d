package kernel

// EventSink receives one protocol's events after their commit, for another protocol to
// publish: the host wires OSP's sink to the BSP event streams, so neither imports the other.
type EventSink interface {
	// Wants reports whether anything would receive an event now; a publisher may skip the
	// work of handing one over when it does not.
	Wants() bool
	// Publish hands over an event of type typ with its encoded body. It must not block: it is
	// called after a commit, on the writer's path.
	Publish(typ string, body []byte)
}
