package osp_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// TestRollupAgreesWithTheLedger posts random charges — several projects, days, kinds, currencies
// and credits — and checks that every number read from the rollup equals the one added up
// charge by charge.
func TestRollupAgreesWithTheLedger(t *testing.T) {
	f := mocktest.New(t)
	os.WriteFile(filepath.Join(f.Dir, "ospbox.json"), []byte(`{"name":"sample","osp":{"default_provider":"acmedb"},
		"caps":{"default_monthly_limit":{"amount":"100000.00","currency":"USD"},"fx_rates":{"EUR":"1.0850"}}}`), 0o644)
	f.ReloadPaths(context.Background(), []string{"ospbox.json"})
	ctx := context.Background()
	now := f.Clock().Now
	from, to := osp.MonthBounds(now)
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"base", "metered", "one_time", "proration"}
	for round := range 2 { // the second round adds credits
		err := f.DB.Update(ctx, func(tx *storage.Tx) error {
			for i := range 300 {
				id := fmt.Sprintf("res_r%d_%03d", round, i%40)
				project := fmt.Sprintf("proj_p%d", i%5)
				at := from.Add(time.Duration(rng.Int64N(int64(now.Sub(from)) + 1)))
				if err := tx.PutResource(ctx, storage.Resource{ID: id, Provider: "acmedb", OfferingID: "acmedb/postgres", TierID: "pro",
					ProjectID: project, Status: "provisioned", CreatedAt: at, UpdatedAt: at, Data: []byte(`{}`)}); err != nil {
					return err
				}
				cents := rng.Int64N(5000)
				kind := kinds[rng.IntN(len(kinds))]
				if round == 1 && kind == "proration" {
					cents = -cents
				}
				currency := "USD" // one currency per resource, as its tier has
				if (i%40)%7 == 0 {
					currency = "EUR"
				}
				amount := osp.Cents(big.NewRat(cents, 100))
				if err := tx.PostCharge(ctx, storage.Charge{ResourceID: id, ProjectID: project, Provider: "acmedb", Kind: kind, Amount: amount, Currency: currency, At: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p := f.Snapshot().Provider("acmedb")
		cfg := f.Snapshot().Config
		charges, _ := f.DB.ProviderCharges(ctx, "acmedb", from, to)
		want := new(big.Rat)
		for _, c := range charges {
			if v, ok := osp.InCapCurrency(c.Amount, c.Currency, "USD", cfg); ok {
				want.Add(want, v)
			}
		}
		cv, err := f.OSP().Ledger().CapSummary(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if cv.CurrentSpend.Amount != osp.Cents(want) {
			t.Errorf("round %d: cap spend %s from the rollup, %s charge by charge", round, cv.CurrentSpend.Amount, osp.Cents(want))
		}
		ps, err := f.OSP().Ledger().ProviderSpend(ctx, p, now)
		if err != nil {
			t.Fatal(err)
		}
		a := agenttest.Agent{T: t, Base: f.URL + "/providers/acmedb/osp/v1"}
		_, _, summary := a.Call("GET", "/cost-summary", "", nil)
		if ps.Total.Amount != summary["total_cost"] {
			t.Errorf("round %d: Spend total %s, cost summary %v", round, ps.Total.Amount, summary["total_cost"])
		}
		for _, project := range []string{"proj_p0", "proj_p3"} {
			b := storage.Budget{Provider: "acmedb", Scope: "project", ScopeID: project, Currency: "USD", Period: "monthly"}
			var got *big.Rat
			f.DB.View(ctx, func(tx *storage.Tx) error {
				got, err = osp.BudgetSpend(ctx, tx, "acmedb", b, now)
				return err
			})
			exact := new(big.Rat)
			for _, c := range charges {
				if c.ProjectID == project && c.Currency == "USD" {
					exact.Add(exact, osp.RatOr0(c.Amount))
				}
			}
			if got == nil || got.Cmp(exact) != 0 {
				t.Errorf("round %d: budget spend of %s %v from the rollup, %s charge by charge", round, project, got, osp.Cents(exact))
			}
		}
	}
}
