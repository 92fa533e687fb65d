package check

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/osp"
)

// ospChecks are the OSP checks, in the order they run (later ones use what earlier ones found).
var ospChecks = []definition{
	{id: "osp.discovery.status", level: Must, description: "GET /.well-known/osp.json answers 200", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.opts.Target+"/.well-known/osp.json", nil)
		if err != nil {
			return fail("GET "+s.opts.Target+"/.well-known/osp.json", err.Error())
		}
		return check(r.status == http.StatusOK, r.req, r.brief())
	}},
	{id: "osp.discovery.content-type", level: Must, description: "the manifest is served as application/json", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.opts.Target+"/.well-known/osp.json", nil)
		if err != nil {
			return fail("", err.Error())
		}
		mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		return check(mt == "application/json", r.req, "Content-Type: "+r.header.Get("Content-Type"))
	}},
	{id: "osp.discovery.public", level: Must, description: "the manifest needs no credentials", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.opts.Target+"/.well-known/osp.json", nil, "Authorization", "")
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status != http.StatusUnauthorized && r.status != http.StatusForbidden, r.req+" (no Authorization)", r.brief())
	}},
	{id: "osp.discovery.schema", level: Must, description: "the manifest is valid for its dialect (ospbox's schemas and rules)", run: func(ctx context.Context, s *session) outcome {
		if s.manifest == nil {
			return fail("GET "+s.opts.Target+"/.well-known/osp.json", "no manifest was served")
		}
		_, rep := manifests.ParseOSP("target", "osp.json", s.manifest)
		var msgs []string
		for _, d := range rep.Errors {
			if strings.Contains(d.Rule, "signature") { // osp.discovery.signature's business
				continue
			}
			if len(msgs) < 5 {
				msgs = append(msgs, fmt.Sprintf("%d:%d %s [%s]", d.Line, d.Column, d.Message, d.Rule))
			}
		}
		return check(len(msgs) == 0, "GET "+s.opts.Target+"/.well-known/osp.json", strings.Join(msgs, "; "))
	}},
	{id: "osp.discovery.signature", level: Should, description: "a signed manifest's provider_signature verifies", run: func(ctx context.Context, s *session) outcome {
		doc, err := jsondoc.Parse(s.manifest)
		if err != nil || doc.Root.Get("provider_signature") == nil {
			return skip("the manifest is not signed")
		}
		if err := manifests.VerifyManifest(doc.Root); err != nil {
			return fail("GET "+s.opts.Target+"/.well-known/osp.json", err.Error())
		}
		return pass("GET " + s.opts.Target + "/.well-known/osp.json")
	}},
	{id: "osp.headers.request-id", level: Should, description: "API responses carry X-Request-Id", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.base+"/health", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.header.Get("X-Request-Id") != "", r.req, "no X-Request-Id header")
	}},
	{id: "osp.provision.method", level: Should, description: "GET on the provision endpoint is 405 with Allow", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "GET", s.base+"/provision", nil)
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusMethodNotAllowed && strings.Contains(r.header.Get("Allow"), "POST"), r.req, r.brief()+" Allow: "+r.header.Get("Allow"))
	}},
	{id: "osp.errors.unknown-offering", level: Must, description: "provisioning an unknown offering is 400 invalid_offering", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "POST", s.base+"/provision", map[string]any{"offering_id": "ospbox-check/no-such-offering", "tier_id": "free"})
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == 400 && r.errorCode() == "invalid_offering", r.req, r.brief())
	}},
	{id: "osp.errors.unknown-tier", level: Must, description: "provisioning an unknown tier is 400 invalid_tier", run: func(ctx context.Context, s *session) outcome {
		off, _ := s.sandboxOffering()
		if off == "" {
			return skip("the manifest lists no offering")
		}
		r, err := s.do(ctx, "POST", s.base+"/provision", map[string]any{"offering_id": off, "tier_id": "ospbox-check-no-such-tier"})
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == 400 && r.errorCode() == "invalid_tier", r.req, r.brief())
	}},
	{id: "osp.errors.malformed-json", level: Must, description: "a malformed body is 400 invalid_request in the error envelope", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "POST", s.base+"/provision", []byte(`{"offering_id": `), "Content-Type", "application/json")
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == 400 && r.errorCode() == "invalid_request", r.req, r.brief())
	}},
	{id: "osp.errors.envelope", level: Must, description: "errors have error.code and error.message", run: func(ctx context.Context, s *session) outcome {
		r, err := s.do(ctx, "POST", s.base+"/provision", map[string]any{"offering_id": "ospbox-check/no-such-offering", "tier_id": "free"})
		if err != nil {
			return fail("", err.Error())
		}
		e, _ := r.json["error"].(map[string]any)
		msg, _ := e["message"].(string)
		return check(r.errorCode() != "" && msg != "", r.req, r.brief())
	}},
	{id: "osp.errors.oversize", level: Should, description: "a body over 1 MiB is 413", run: func(ctx context.Context, s *session) outcome {
		big := []byte(`{"offering_id":"` + strings.Repeat("x", 2<<20) + `"}`)
		r, err := s.do(ctx, "POST", s.base+"/provision", big, "Content-Type", "application/json")
		if err != nil {
			return fail("POST "+s.base+"/provision (2 MiB)", err.Error())
		}
		return check(r.status == http.StatusRequestEntityTooLarge, r.req+" (2 MiB)", r.brief())
	}},
	{id: "osp.sandbox.round-trip", level: Must, destructive: true, description: "a sandbox provisions with an encrypted bundle that decrypts, reports status and usage, rotates and deprovisions", run: ospRoundTrip},
	{id: "osp.auth.wrong-token", level: Must, destructive: true, description: "a resource route with a wrong access token is 401", run: func(ctx context.Context, s *session) outcome {
		id, _ := s.vars["resource_id"].(string)
		if id == "" {
			return skip("no resource from the round trip")
		}
		r, err := s.do(ctx, "GET", s.base+"/resources/"+id, nil, "Authorization", "Bearer osp_rat_ospboxcheckwrongtoken000000000000")
		if err != nil {
			return fail("", err.Error())
		}
		return check(r.status == http.StatusUnauthorized, r.req, r.brief())
	}},
	{id: "osp.nonce.replay", level: Should, destructive: true, description: "a provision replaying a nonce is 409 nonce_reused", run: func(ctx context.Context, s *session) outcome {
		off, tier := s.sandboxOffering()
		if off == "" {
			return skip("no offering with a free tier and sandboxes")
		}
		nonce := "ospbox-check-" + randomHex(8)
		body := map[string]any{"offering_id": off, "tier_id": tier, "nonce": nonce, "sandbox": map[string]any{"enabled": true}}
		first, err := s.do(ctx, "POST", s.base+"/provision", body)
		if err != nil {
			return fail("", err.Error())
		}
		if first.status >= 300 {
			return fail(first.req, "the first provision failed: "+first.brief())
		}
		s.cleanup(ctx, first)
		second, err := s.do(ctx, "POST", s.base+"/provision", body)
		if err != nil {
			return fail("", err.Error())
		}
		s.cleanup(ctx, second)
		return check(second.status == http.StatusConflict && second.errorCode() == "nonce_reused", second.req+" (same nonce)", second.brief())
	}},
}

// sandboxOffering picks an offering with sandboxes and a free tier — one that provisions at once
// when there is one — else any offering's first tier.
func (s *session) sandboxOffering() (offering, tier string) {
	offerings, _ := s.doc["offerings"].([]any)
	sorted := make([]any, 0, len(offerings))
	async := func(o any) bool {
		om, _ := o.(map[string]any)
		secs, _ := om["estimated_provision_seconds"].(float64)
		return secs > 0
	}
	for _, o := range offerings { // offerings that provision at once first
		if !async(o) {
			sorted = append(sorted, o)
		}
	}
	for _, o := range offerings {
		if async(o) {
			sorted = append(sorted, o)
		}
	}
	for _, o := range sorted {
		om, _ := o.(map[string]any)
		id, _ := om["offering_id"].(string)
		if sb, ok := om["sandbox_available"].(bool); ok && !sb {
			continue
		}
		tiers, _ := om["tiers"].([]any)
		for _, t := range tiers {
			tm, _ := t.(map[string]any)
			price, _ := tm["price"].(map[string]any)
			amount, _ := price["amount"].(string)
			if strings.Trim(strings.ReplaceAll(amount, ".", ""), "0") == "" {
				tid, _ := tm["tier_id"].(string)
				return id, tid
			}
		}
		if offering == "" && len(tiers) > 0 {
			tm, _ := tiers[0].(map[string]any)
			offering, _ = om["offering_id"].(string)
			tier, _ = tm["tier_id"].(string)
		}
	}
	return offering, tier
}

// cleanup deprovisions what a check provisioned, best effort.
func (s *session) cleanup(ctx context.Context, r *response) {
	id, _ := r.json["resource_id"].(string)
	if id == "" {
		return
	}
	token := bundleToken(r.json)
	s.do(ctx, "DELETE", s.base+"/resources/"+id, nil, "Authorization", bearer(token))
}

func bundleToken(body map[string]any) string {
	b, _ := body["credentials_bundle"].(map[string]any)
	m, _ := b["metadata"].(map[string]any)
	t, _ := m["resource_access_token"].(string)
	return t
}

func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// ospRoundTrip provisions a sandbox with a throwaway agent key and walks it through its life.
func ospRoundTrip(ctx context.Context, s *session) outcome {
	off, tier := s.sandboxOffering()
	if off == "" {
		return skip("the manifest lists no offering")
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	body := map[string]any{"offering_id": off, "tier_id": tier, "agent_public_key": manifests.B64(key.Public().(ed25519.PublicKey)),
		"sandbox": map[string]any{"enabled": true, "ttl_hours": 1}, "project_name": "ospbox-check"}
	r, err := s.do(ctx, "POST", s.base+"/provision", body)
	if err != nil {
		return fail("POST "+s.base+"/provision", err.Error())
	}
	if r.status != http.StatusCreated && r.status != http.StatusAccepted {
		return fail(r.req, "provision: "+r.brief())
	}
	id, _ := r.json["resource_id"].(string)
	if id == "" {
		return fail(r.req, "no resource_id in "+r.brief())
	}
	s.vars["resource_id"] = id
	token := bundleToken(r.json)
	status, err := s.do(ctx, "GET", s.base+"/resources/"+id, nil, "Authorization", bearer(token))
	if bad := unexpected(status, err, "status", http.StatusOK); bad != nil {
		return *bad
	}
	// Asynchronous provisioning: poll the status (once a second, within --timeout × 3) until the
	// resource is provisioned; the bundle comes with the first status read that has it.
	for deadline := time.Now().Add(3 * s.opts.Timeout); token == "" && status.json["status"] == "provisioning" && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return fail(status.req, ctx.Err().Error())
		case <-time.After(time.Second):
		}
		if status, err = s.do(ctx, "GET", s.base+"/resources/"+id, nil); err != nil {
			return fail("GET "+s.base+"/resources/"+id, err.Error())
		}
	}
	if token == "" {
		token = bundleToken(status.json)
		r = status
	}
	bundle, _ := r.json["credentials_bundle"].(map[string]any)
	if bundle == nil {
		return skip("the resource is still provisioning; its bundle is not out yet")
	}
	raw, _ := json.Marshal(bundle["encrypted_credentials"])
	var ec osp.EncryptedCredentials
	if json.Unmarshal(raw, &ec) != nil || ec.Ciphertext == "" {
		return fail(r.req, "the bundle is not encrypted to agent_public_key: format "+fmt.Sprint(bundle["format"]))
	}
	if _, err := osp.DecryptCredentials(key.Seed(), ec); err != nil {
		return fail(r.req, "the encrypted bundle does not open with the agent's key: "+err.Error())
	}
	usage, err := s.do(ctx, "GET", s.base+"/resources/"+id+"/usage", nil, "Authorization", bearer(token))
	if bad := unexpected(usage, err, "usage", http.StatusOK); bad != nil {
		return *bad
	}
	rot, err := s.do(ctx, "POST", s.base+"/resources/"+id+"/credentials", map[string]any{}, "Authorization", bearer(token))
	if bad := unexpected(rot, err, "rotate", http.StatusOK); bad != nil {
		return *bad
	}
	if t := bundleToken(rot.json); t != "" {
		token = t
	}
	s.vars["token"] = token
	del, err := s.do(ctx, "DELETE", s.base+"/resources/"+id, nil, "Authorization", bearer(token))
	if bad := unexpected(del, err, "deprovision", http.StatusOK, http.StatusAccepted, http.StatusNoContent); bad != nil {
		return *bad
	}
	return pass("POST " + s.base + "/provision … DELETE " + s.base + "/resources/" + id)
}

// unexpected is a failed outcome when a step of a multi-step check did not answer one of want.
func unexpected(r *response, err error, step string, want ...int) *outcome {
	if err != nil {
		o := fail("", step+": "+err.Error())
		return &o
	}
	for _, w := range want {
		if r.status == w {
			return nil
		}
	}
	o := fail(r.req, step+": "+r.brief())
	return &o
}
