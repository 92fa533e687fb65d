// Package manifesttest makes manifests for tests and benchmarks of the validator and its
// clients (the language server), so each measures the same input.
package manifesttest

import (
	"fmt"
	"strings"
)

// Large is a valid dialect C manifest with n offerings of two tiers each; 2,000 make about 1 MB,
// the size the validator's performance target names.
func Large(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"osp_version": "1.0", "provider_id": "big.example", "provider_name": "Big", "osp_base_url": "https://api.big.example/osp/v1", "accepted_payment_methods": ["free", "stripe_spt"], "offerings": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"offering_id": "big/service-%d", "name": "Service %d", "category": "compute", "description": "Service %d.",
 "credentials_schema": {"type": "object", "required": ["api_key"], "properties": {"api_key": {"type": "string"}}},
 "tiers": [{"tier_id": "free", "name": "Free", "price": {"amount": "0", "currency": "USD"}, "limits": {"rps": 10}},
  {"tier_id": "pro", "name": "Pro", "price": {"amount": "%d.00", "currency": "USD", "interval": "P1M"}, "limits": {"rps": 900}}]}`, i, i, i, 5+i%50)
	}
	b.WriteString("]}")
	return []byte(b.String())
}
