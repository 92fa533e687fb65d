package manifests

import (
	"strconv"
	"strings"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// ServeOptions says where and how a provider is mounted when its manifest is served.
type ServeOptions struct {
	MountURL    string // e.g. http://127.0.0.1:7410/providers/acmedb (no trailing slash)
	Version     int    // manifest_version to publish
	PublishedAt time.Time
	Style       string // brace, colon or append (spec/osp.md §3.3)
	Key         SigningKey
}

// PaymentMethods is every built-in payment method, in the order served when a manifest lists none.
var PaymentMethods = []string{"free", "sardis_wallet", "stripe_spt", "x402", "mpp", "invoice", "external"}

var trustTierNames = map[string]string{"none": "0", "basic": "1", "verified": "2", "enterprise": "3"}

// ServedManifest builds the compatibility superset of spec/osp.md §3.2 from a valid authored
// manifest: C members first, then the A and B members that do not conflict, URLs rewritten to
// reach ospbox, signed with the provider's key. The result is a fresh tree the caller owns.
func ServedManifest(m *OSPManifest, o ServeOptions) *jsondoc.Node {
	a := m.Doc.Root
	s := jsondoc.NewObject()
	s.Set("osp_version", jsondoc.NewString("1.0"))
	s.Set("provider_id", jsondoc.NewString(m.ProviderID))
	s.Set("provider_name", jsondoc.NewString(m.ProviderName))
	s.Set("osp_base_url", jsondoc.NewString(o.MountURL+"/osp/v1"))
	s.Set("offerings", servedOfferings(a.Get("offerings"), m.Dialect))
	s.Set("manifest_id", jsondoc.NewString(manifestID(m, a)))
	s.Set("manifest_version", jsondoc.NewNumber(strconv.Itoa(o.Version)))
	if pv := a.Get("previous_version"); pv != nil {
		s.Set("previous_version", pv.Clone())
	}
	s.Set("osp_spec_version", jsondoc.NewString("1.1"))
	s.Set("display_name", jsondoc.NewString(m.ProviderName))
	if pu := a.Get("provider_url"); pu != nil {
		s.Set("provider_url", pu.Clone())
	}
	s.Set("published_at", jsondoc.NewString(o.PublishedAt.UTC().Format(time.RFC3339)))
	s.Set("provider", servedProviderObject(m, a, o.MountURL))
	if apm := a.Get("accepted_payment_methods"); apm != nil {
		s.Set("accepted_payment_methods", apm.Clone())
	} else {
		s.Set("accepted_payment_methods", jsondoc.NewStrings(PaymentMethods...))
	}
	s.Set("trust_tier_required", trustTier(a.Get("trust_tier_required")))
	s.Set("endpoints", EndpointMap(o.MountURL, o.Style))
	if id := a.Get("identity"); id != nil {
		s.Set("identity", id.Clone())
	} else {
		idn := jsondoc.NewObject()
		idn.Set("supported_methods", jsondoc.NewStrings("ed25519_did", "oauth2_client", "api_key"))
		s.Set("identity", idn)
	}
	if ext := a.Get("extensions"); ext != nil {
		s.Set("extensions", ext.Clone())
	}
	SignManifest(s, o.Key)
	return s
}

// EndpointMap is the served endpoints object for a mount URL and path style.
func EndpointMap(mountURL, style string) *jsondoc.Node {
	res := "/osp/v1/resources/{resource_id}"
	if style == "colon" {
		res = "/osp/v1/resources/:resource_id"
	}
	e := jsondoc.NewObject()
	e.Set("base_url", jsondoc.NewString(mountURL))
	e.Set("provision", jsondoc.NewString("/osp/v1/provision"))
	if style == "append" {
		for _, op := range []string{"deprovision", "credentials", "rotate", "status", "usage"} {
			e.Set(op, jsondoc.NewString("/osp/v1/"+op))
		}
	} else {
		e.Set("deprovision", jsondoc.NewString(res))
		e.Set("credentials", jsondoc.NewString(res+"/credentials"))
		e.Set("rotate", jsondoc.NewString(res+"/credentials"))
		e.Set("status", jsondoc.NewString(res))
		e.Set("usage", jsondoc.NewString(res+"/usage"))
	}
	e.Set("health", jsondoc.NewString("/osp/v1/health"))
	return e
}

func manifestID(m *OSPManifest, a *jsondoc.Node) string {
	if id := a.Str("manifest_id"); id != "" {
		return id
	}
	var b strings.Builder
	b.WriteString("mf_")
	for _, r := range strings.ToLower(m.ProviderID) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func servedProviderObject(m *OSPManifest, a *jsondoc.Node, mount string) *jsondoc.Node {
	p := jsondoc.NewObject()
	p.Set("provider_id", jsondoc.NewString(m.ProviderID))
	p.Set("display_name", jsondoc.NewString(m.ProviderName))
	home := mount
	authored := a.Get("provider")
	if authored != nil && authored.Str("homepage_url") != "" {
		home = authored.Str("homepage_url")
	}
	p.Set("homepage_url", jsondoc.NewString(home))
	for _, k := range []string{"description", "support_url", "logo_url"} {
		if v := authored.Get(k); v != nil {
			p.Set(k, v.Clone())
		}
	}
	return p
}

func trustTier(n *jsondoc.Node) *jsondoc.Node {
	switch {
	case n == nil:
		return jsondoc.NewNumber("0")
	case n.Kind == jsondoc.String:
		if v, ok := trustTierNames[n.Text]; ok {
			return jsondoc.NewNumber(v)
		}
		return jsondoc.NewNumber("0")
	}
	return n.Clone()
}

func servedOfferings(arr *jsondoc.Node, dialect string) *jsondoc.Node {
	out := arr.Clone()
	for _, o := range out.Items {
		if !o.Has("credentials_schema") {
			cs := jsondoc.NewObject()
			cs.Set("type", jsondoc.NewString("object"))
			o.Set("credentials_schema", cs)
		}
		if t := o.Get("trust_tier_required"); t != nil && t.Kind == jsondoc.String {
			o.Set("trust_tier_required", trustTier(t))
		}
		if dialect != DialectB {
			continue
		}
		for _, t := range o.Get("tiers").Items {
			if tt := t.Get("trust_tier_required"); tt != nil && tt.Kind == jsondoc.String {
				t.Set("trust_tier_required", trustTier(tt))
			}
			if p := t.Get("price"); p != nil {
				if d, ok := bIntervals[p.Str("interval")]; ok {
					if d == "" {
						p.Set("interval", jsondoc.NewNull())
					} else {
						p.Set("interval", jsondoc.NewString(d))
					}
				}
			}
		}
	}
	return out
}
