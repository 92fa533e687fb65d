package storage

import (
	"context"
	"time"
)

// SandboxUse is one agent's sandboxes at one provider: live now and provisioned since a day's
// start, the two counts the per-agent sandbox limits apply to (spec/osp.md §6.2).
type SandboxUse struct {
	Provider, Client string
	Live, Today      int
}

// LiveResourceCounts counts the live resources per provider and offering, what osp.quotas
// limits.
func (db *DB) LiveResourceCounts(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT provider, offering_id, COUNT(*) FROM resources WHERE status != 'deprovisioned' GROUP BY provider, offering_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var provider, offering string
		var n int
		if err := rows.Scan(&provider, &offering, &n); err != nil {
			return nil, err
		}
		if out[provider] == nil {
			out[provider] = map[string]int{}
		}
		out[provider][offering] = n
	}
	return out, rows.Err()
}

// SandboxUsage lists every agent with a live sandbox or one provisioned since dayStart, by
// provider and agent.
func (db *DB) SandboxUsage(ctx context.Context, dayStart time.Time) ([]SandboxUse, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT provider, COALESCE(json_extract(data, '$.client'), ''),
		COUNT(*) FILTER (WHERE status != 'deprovisioned'), COUNT(*) FILTER (WHERE created_at >= ?)
		FROM resources WHERE sandbox = 1 AND (status != 'deprovisioned' OR created_at >= ?)
		GROUP BY 1, 2 ORDER BY 1, 2`, ts(dayStart), ts(dayStart))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SandboxUse
	for rows.Next() {
		var u SandboxUse
		if err := rows.Scan(&u.Provider, &u.Client, &u.Live, &u.Today); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
