package kernel

import (
	"context"
	"time"
)

// ProvisioningFailure is a scenario rule's asynchronous provisioning failure (spec/control.md
// §4): the provisioning is accepted with 202 and the resource ends in error after After on the
// workspace clock, with Code and Message.
type ProvisioningFailure struct {
	After         time.Duration
	Code, Message string
}

type provisioningFailureKey struct{}

// WithProvisioningFailure hands a failure to the OSP engine with the request.
func WithProvisioningFailure(ctx context.Context, f ProvisioningFailure) context.Context {
	return context.WithValue(ctx, provisioningFailureKey{}, f)
}

// ProvisioningFailureOf is the failure a request carries, if any.
func ProvisioningFailureOf(ctx context.Context) (ProvisioningFailure, bool) {
	f, ok := ctx.Value(provisioningFailureKey{}).(ProvisioningFailure)
	return f, ok
}
