package osp

import (
	"context"
	"maps"
	"slices"
	"time"
)

// QuotaUse is one limit provisioning runs into, with how much of it is used now: the numbers
// an agent's 429 quotes, shown before it gets one.
type QuotaUse struct {
	Provider string
	// Kind is "live_resources" (osp.quotas; Scope is an offering id or "*" for all the
	// provider's offerings), "live_sandboxes" or "sandboxes_today" (per agent; Scope is the
	// agent, as the sandbox limits tell agents apart).
	Kind        string
	Scope       string
	Used, Limit int
	// Setting says where the limit comes from.
	Setting string
}

// Full says the next provisioning against this limit is refused.
func (q QuotaUse) Full() bool { return q.Used >= q.Limit }

// QuotaUsage lists the limits in force with their use: every osp.quotas entry for every served
// provider, and the sandbox limits of every agent holding sandboxes (or having made some today).
func (s *Engine) QuotaUsage(ctx context.Context) ([]QuotaUse, error) {
	v := s.view()
	live, err := s.db.LiveResourceCounts(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	sandboxes, err := s.db.SandboxUsage(ctx, now.Truncate(24*time.Hour))
	if err != nil {
		return nil, err
	}
	var out []QuotaUse
	scopes := slices.Sorted(maps.Keys(v.Config.OSP.Quotas))
	for _, p := range v.Providers {
		if p.Serving == nil {
			continue
		}
		for _, scope := range scopes {
			used := live[p.Slug][scope]
			if scope == "*" {
				used = 0
				for _, n := range live[p.Slug] {
					used += n
				}
			}
			out = append(out, QuotaUse{Provider: p.Slug, Kind: "live_resources", Scope: scope, Used: used,
				Limit: v.Config.OSP.Quotas[scope], Setting: `osp.quotas["` + scope + `"]`})
		}
	}
	for _, u := range sandboxes {
		p := v.Provider(u.Provider)
		if p == nil || p.Serving == nil {
			continue
		}
		maxConcurrent, maxPerDay, setting := providerSandboxLimits(p)
		agent := u.Client
		if agent == "" {
			agent = "anonymous"
		}
		out = append(out,
			QuotaUse{Provider: u.Provider, Kind: "live_sandboxes", Scope: agent, Used: u.Live, Limit: maxConcurrent, Setting: setting + ".max_concurrent"},
			QuotaUse{Provider: u.Provider, Kind: "sandboxes_today", Scope: agent, Used: u.Today, Limit: maxPerDay, Setting: setting + ".max_per_day"})
	}
	return out, nil
}

// providerSandboxLimits is the tightest sandbox limits among the provider's offerings: the ones
// an agent meets first, as the counts are per agent across the provider.
func providerSandboxLimits(p *ProviderState) (maxConcurrent, maxPerDay int, setting string) {
	maxConcurrent, maxPerDay, setting = defaultMaxConcurrentSandboxes, defaultMaxSandboxesPerDay, "the default sandbox_limits"
	var concurrent, perDay []int
	for _, on := range p.Serving.Manifest.Doc.Root.Get("offerings").List() {
		c, d := sandboxLimitsOf(on)
		concurrent, perDay = append(concurrent, c), append(perDay, d)
	}
	if len(concurrent) > 0 {
		maxConcurrent, maxPerDay = slices.Min(concurrent), slices.Min(perDay)
		setting = "the offerings' sandbox_limits"
	}
	return maxConcurrent, maxPerDay, setting
}
