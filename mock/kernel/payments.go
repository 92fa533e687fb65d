package kernel

import (
	"context"

	"github.com/ospbox/ospbox/storage"
)

// Payments redeems the orchestrator's payment tokens for a provider's paid provisioning
// (spec/orchestrator.md §4): the host wires the orchestrator here, so OSP never imports it. The
// redemption runs inside the provisioning's own transaction, so the charge, the redemption and
// the resource commit together or not at all.
type Payments interface {
	// RedeemInTx settles token for provider at amount (a decimal string) in currency, for the
	// resource being made. A refusal is a *Refusal.
	RedeemInTx(ctx context.Context, tx *storage.Tx, token, provider, amount, currency, resourceID string) error
}

// Refusal is a refused redemption, with the status and code the provider answers.
type Refusal struct {
	Status        int
	Code, Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }
