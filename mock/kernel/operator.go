package kernel

import (
	"context"
	"net/http"
)

// The UI acts on resources as the sandbox's operator: it sends the provider API the same
// requests an agent would (rotate, change tier, promote, deprovision, read credentials and
// usage), marked by a context value no network request can carry, which an engine's
// authorisation accepts in place of the resource's token. So the UI goes through exactly the
// engine the API uses.

type operatorKey struct{}

// AsOperator marks r as the sandbox operator's own request.
func AsOperator(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), operatorKey{}, true))
}

// IsOperator reports whether r was marked by AsOperator.
func IsOperator(r *http.Request) bool {
	v, _ := r.Context().Value(operatorKey{}).(bool)
	return v
}
