package osp

import (
	"context"
	"time"
)

// What the external tests (package osp_test, which drive a whole sandbox through mocktest) use
// as their oracles: the functions the engine adds up with, checked against sums of their own.
var (
	InCapCurrency = inCapCurrency
	BudgetSpend   = budgetSpend
	RatOr0        = ratOr0
	MonthBounds   = monthBounds
	AccrualRate   = accrualRate
	DecimalString = decimalString
)

// SampleRows is how many rows schema_and_sample_data copies.
const SampleRows = sampleRows

// CapSummary is capSummary, for the rollup test.
func (s *Ledger) CapSummary(ctx context.Context, p *ProviderState) (CapView, error) {
	return s.capSummary(ctx, p)
}

// ProviderSpend is providerSpend, for the rollup test.
func (s *Ledger) ProviderSpend(ctx context.Context, p *ProviderState, now time.Time) (ProviderSpend, error) {
	return s.providerSpend(ctx, p, now)
}
