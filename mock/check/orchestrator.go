package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ospbox/ospbox/mock/authserver"
)

// orchestratorChecks are the provider side of the orchestrator profile
// (spec/orchestrator.md §3–4), for a provider developer's own server: it makes an account from
// an orchestrator's attestation and refuses a replayed or misaddressed one, points an
// unauthenticated caller at its OAuth metadata when it wants consent, and redeems a payment
// token once, within its maximum. The orchestrator is a running ospbox: configure the server to
// trust its issuer and to redeem at its /orchestrator/v1 with the key
// GET /orchestrator/v1/providers/{id}/redemption_key gives.
var orchestratorChecks = []definition{
	{id: "orchestrator.issuer", level: Must, description: "the orchestrator publishes its OpenID configuration and keys", run: func(ctx context.Context, s *session) outcome {
		url := s.orchestrator() + "/.well-known/openid-configuration"
		r, err := s.anon(ctx, "GET", url, nil)
		if err != nil {
			return fail("GET "+url, err.Error()+" (is an ospbox running there? --orchestrator names another)")
		}
		return check(r.status == 200 && str(r.json, "jwks_uri") != "", r.req, r.brief())
	}},
	{id: "orchestrator.accounts.attested", level: Must, destructive: true, description: "an attestation of the user makes (or finds) an account with credentials", run: func(ctx context.Context, s *session) outcome {
		att, err := s.attestation(ctx, s.providerID())
		if err != nil {
			return fail("POST "+s.orchestrator()+"/orchestrator/v1/id_token", err.Error())
		}
		r, err := s.anon(ctx, "POST", s.base+"/accounts", map[string]string{"attestation": att})
		if err != nil {
			return fail("POST "+s.base+"/accounts", err.Error())
		}
		if md := authserver.ResourceMetadataOf(r.header.Get("WWW-Authenticate")); r.status == 401 && md != "" {
			s.vars["consent_metadata"] = md
			return skip("the provider links accounts by OAuth consent, not attestation (orchestrator.oauth.consent checks that path)")
		}
		s.vars["attestation"], s.vars["account_key"] = att, str(r.json, "api_key")
		return check((r.status == 200 || r.status == 201) && str(r.json, "account_id") != "" && str(r.json, "api_key") != "", r.req, r.brief())
	}},
	{id: "orchestrator.accounts.replay", level: Must, destructive: true, description: "the same attestation a second time is refused", run: func(ctx context.Context, s *session) outcome {
		att, _ := s.vars["attestation"].(string)
		if att == "" {
			return skip("no account was made (orchestrator.accounts.attested)")
		}
		r, err := s.anon(ctx, "POST", s.base+"/accounts", map[string]string{"attestation": att})
		if err != nil {
			return fail("POST "+s.base+"/accounts", err.Error())
		}
		return check(r.status == 401 || r.status == 403 || r.status == 409, r.req, r.brief())
	}},
	{id: "orchestrator.accounts.audience", level: Must, destructive: true, description: "an attestation for another provider is refused", run: func(ctx context.Context, s *session) outcome {
		att, err := s.attestation(ctx, "someone-else.example")
		if err != nil {
			return fail("POST "+s.orchestrator()+"/orchestrator/v1/id_token", err.Error())
		}
		r, err := s.anon(ctx, "POST", s.base+"/accounts", map[string]string{"attestation": att})
		if err != nil {
			return fail("POST "+s.base+"/accounts", err.Error())
		}
		return check(r.status == 401 || r.status == 403, r.req, r.brief())
	}},
	{id: "orchestrator.oauth.metadata", level: Should, description: "a provider that wants OAuth consent answers 401 pointing at valid RFC 9728 and RFC 8414 metadata", run: func(ctx context.Context, s *session) outcome {
		r, err := s.anon(ctx, "POST", s.base+"/accounts", map[string]string{})
		if err != nil {
			return fail("POST "+s.base+"/accounts", err.Error())
		}
		md := authserver.ResourceMetadataOf(r.header.Get("WWW-Authenticate"))
		if r.status != 401 || md == "" {
			return skip(fmt.Sprintf("the provider does not ask for OAuth consent (an empty account request got %d without resource_metadata)", r.status))
		}
		prm, err := s.anon(ctx, "GET", md, nil)
		if err != nil || prm.status != 200 {
			return fail("GET "+md, "the protected resource metadata cannot be read")
		}
		servers, _ := prm.json["authorization_servers"].([]any)
		if str(prm.json, "resource") == "" || len(servers) == 0 {
			return fail(prm.req, "RFC 9728 metadata needs resource and authorization_servers: "+prm.brief())
		}
		as, _ := servers[0].(string)
		meta, err := s.anon(ctx, "GET", strings.TrimRight(as, "/")+"/.well-known/oauth-authorization-server", nil)
		if err != nil || meta.status != 200 {
			return fail("GET "+as+"/.well-known/oauth-authorization-server", "the authorization server's metadata cannot be read")
		}
		methods, _ := meta.json["code_challenge_methods_supported"].([]any)
		ok := str(meta.json, "authorization_endpoint") != "" && str(meta.json, "token_endpoint") != "" && slices.Contains(methods, any("S256"))
		return check(ok, meta.req, "RFC 8414 metadata needs authorization_endpoint, token_endpoint and code_challenge_methods_supported with S256: "+meta.brief())
	}},
	{id: "orchestrator.oauth.consent", level: Should, destructive: true, description: "after the user's consent, the provider's access token links the account and authenticates provisioning", run: func(ctx context.Context, s *session) outcome {
		md, _ := s.vars["consent_metadata"].(string)
		if md == "" {
			return skip("the provider creates accounts from attestations")
		}
		o := s.orchestrator() + "/orchestrator/v1"
		p, err := s.anon(ctx, "POST", o+"/projects", map[string]string{"name": "ospbox-check"})
		if err != nil || p.status != 201 {
			return fail("POST "+o+"/projects", briefOf(p, err))
		}
		id, token := str(p.json, "id"), str(p.json, "token")
		c, err := s.send(ctx, "POST", o+"/projects/"+id+"/consents", map[string]any{"resource_metadata": md, "provider_id": s.providerID()}, false, "Authorization", bearer(token))
		if err != nil || c.status != 201 {
			return fail("POST "+o+"/projects/"+id+"/consents", "the orchestrator could not start the flow: "+briefOf(c, err))
		}
		consent := str(c.json, "consent_id")
		a, err := s.send(ctx, "POST", o+"/consents/"+consent+"/approve", map[string]any{}, false, "Authorization", bearer(token))
		if err == nil && a.status == 409 && strings.Contains(a.brief(), "approve_in_browser") {
			return skip("the provider asks the user on its own page, which a check cannot answer: open " + str(c.json, "authorization_url") + " to try it by hand")
		}
		if err != nil || a.status != 200 || str(a.json, "status") != "approved" {
			return fail("POST "+o+"/consents/"+consent+"/approve", "the consent was not granted: "+briefOf(a, err))
		}
		t, err := s.send(ctx, "POST", o+"/consents/"+consent+"/token", map[string]any{}, false, "Authorization", bearer(token))
		if err != nil || t.status != 200 {
			return fail("POST "+o+"/consents/"+consent+"/token", briefOf(t, err))
		}
		access := str(t.json, "access_token")
		r, err := s.send(ctx, "POST", s.base+"/accounts", map[string]any{}, false, "Authorization", bearer(access))
		if err != nil {
			return fail("POST "+s.base+"/accounts", err.Error())
		}
		s.vars["account_key"] = access
		return check(r.status == 200 && str(r.json, "account_id") != "", r.req, r.brief())
	}},
	{id: "orchestrator.payment.redeem", level: Must, destructive: true, description: "paid provisioning with an orchestrator payment token redeems it, within its maximum", run: func(ctx context.Context, s *session) outcome {
		offering, tier, price, currency := s.paidTier()
		if offering == "" {
			return skip("the manifest has no paid tier open to a trust tier 0 agent")
		}
		tokURL := s.orchestrator() + "/orchestrator/v1/payment_tokens"
		t, err := s.anon(ctx, "POST", tokURL, map[string]any{"provider_id": s.providerID(), "max_amount": map[string]string{"amount": price, "currency": currency}})
		if err != nil || t.status != 201 {
			return fail("POST "+tokURL, "the orchestrator did not issue a token: "+briefOf(t, err))
		}
		id := str(t.json, "id")
		s.vars["payment_token"], s.vars["paid_offering"], s.vars["paid_tier"] = id, offering, tier
		key, _ := s.vars["account_key"].(string)
		r, err := s.send(ctx, "POST", s.base+"/provision", map[string]any{"offering_id": offering, "tier_id": tier, "payment_method": "orchestrator_token", "payment_proof": id}, false, "Authorization", bearer(key))
		if err != nil {
			return fail("POST "+s.base+"/provision", err.Error())
		}
		if r.status >= 300 {
			return fail(r.req, r.brief())
		}
		after, err := s.anon(ctx, "GET", tokURL+"/"+id, nil)
		if err != nil {
			return fail("GET "+tokURL+"/"+id, err.Error())
		}
		redeemed, _ := after.json["redeemed"].(map[string]any)
		return check(str(after.json, "status") == "redeemed" && redeemed != nil, after.req, "the provider answered "+fmt.Sprint(r.status)+" but the token is "+after.brief())
	}},
	{id: "orchestrator.payment.once", level: Must, destructive: true, description: "a spent payment token is refused", run: func(ctx context.Context, s *session) outcome {
		id, _ := s.vars["payment_token"].(string)
		if id == "" {
			return skip("no token was redeemed (orchestrator.payment.redeem)")
		}
		key, _ := s.vars["account_key"].(string)
		r, err := s.send(ctx, "POST", s.base+"/provision", map[string]any{"offering_id": s.vars["paid_offering"], "tier_id": s.vars["paid_tier"], "payment_method": "orchestrator_token", "payment_proof": id}, false, "Authorization", bearer(key))
		if err != nil {
			return fail("POST "+s.base+"/provision", err.Error())
		}
		return check(r.status == 402 || r.status == 409, r.req, r.brief())
	}},
}

// orchestrator is the orchestrator's base URL for the run.
func (s *session) orchestrator() string {
	if s.opts.Orchestrator != "" {
		return strings.TrimRight(s.opts.Orchestrator, "/")
	}
	// An ospbox provider's base is <origin>/providers/<slug> or the origin itself.
	t := s.opts.Target
	if i := strings.Index(t, "/providers/"); i > 0 {
		t = t[:i]
	}
	return t
}

// providerID is the provider's id from its manifest.
func (s *session) providerID() string { return str(s.doc, "provider_id") }

// attestation is the user's ID token from the orchestrator, for audience.
func (s *session) attestation(ctx context.Context, audience string) (string, error) {
	r, err := s.anon(ctx, "POST", s.orchestrator()+"/orchestrator/v1/id_token", map[string]string{"audience": audience})
	if err != nil {
		return "", err
	}
	if r.status != 201 || str(r.json, "id_token") == "" {
		return "", fmt.Errorf("no ID token: %s", r.brief())
	}
	return str(r.json, "id_token"), nil
}

// paidTier is the first tier with a price that an agent without a trust tier may provision.
func (s *session) paidTier() (offering, tier, price, currency string) {
	offerings, _ := s.doc["offerings"].([]any)
	for _, o := range offerings {
		om, _ := o.(map[string]any)
		tiers, _ := om["tiers"].([]any)
		for _, t := range tiers {
			tm, _ := t.(map[string]any)
			p, _ := tm["price"].(map[string]any)
			amount := str(p, "amount")
			if amount == "" || strings.Trim(amount, "0.") == "" {
				continue
			}
			if need, ok := tm["trust_tier_required"].(float64); ok && need > 0 {
				continue
			}
			return str(om, "offering_id"), str(tm, "tier_id"), amount, str(p, "currency")
		}
	}
	return "", "", "", ""
}

// str is m[key] when it is a string.
func str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

func briefOf(r *response, err error) string {
	if err != nil {
		return err.Error()
	}
	return r.brief()
}
