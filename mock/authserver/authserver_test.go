package authserver

import (
	"slices"
	"testing"
)

// TestGrantedScopes: the user's ticks narrow what was asked, never widen it; offline_access, if
// asked, stays (it is how the client keeps the grant, not a permission); no choice grants all.
func TestGrantedScopes(t *testing.T) {
	asked := []string{"provision", "resources:read", "offline_access"}
	for _, tc := range []struct {
		ticked []string
		chose  bool
		want   []string
	}{
		{nil, false, asked},
		{[]string{"provision"}, true, []string{"provision", "offline_access"}},
		{[]string{"provision", "resources:delete"}, true, []string{"provision", "offline_access"}}, // not asked: not granted
		{nil, true, []string{"offline_access"}},
	} {
		if got := grantedScopes(asked, tc.ticked, tc.chose); !slices.Equal(got, tc.want) {
			t.Errorf("ticked %v chose %v: %v, want %v", tc.ticked, tc.chose, got, tc.want)
		}
	}
	if got := providerScopes([]string{"openid", "provision", "offline_access"}); !slices.Equal(got, []string{"provision"}) {
		t.Errorf("providerScopes: %v", got)
	}
}

// TestProviderAddresses: the metadata, the issuer and the 401's challenge of a provider, in the
// default namespace and in another (where the UI takes the namespace as ?ns=).
func TestProviderAddresses(t *testing.T) {
	p := Provider{Slug: "skyhost", Mount: "http://127.0.0.1:7410/ns/ci/providers/skyhost", Origin: "http://127.0.0.1:7410/ns/ci", Scopes: DefaultScopes}
	if p.Issuer() != p.Mount+"/oauth" || p.ResourceMetadataURL() != p.Mount+"/.well-known/oauth-protected-resource" {
		t.Errorf("issuer %s, metadata %s", p.Issuer(), p.ResourceMetadataURL())
	}
	if got := p.Challenge(); got != `Bearer resource_metadata="`+p.ResourceMetadataURL()+`", scope="provision resources:read resources:delete"` {
		t.Errorf("challenge %s", got)
	}
	if got := p.ConsentURL("oar_1"); got != "http://127.0.0.1:7410/ui/consent?ns=ci&request=oar_1" {
		t.Errorf("consent URL %s", got)
	}
	if ResourceMetadataOf(p.Challenge()) != p.ResourceMetadataURL() || ResourceMetadataOf(`Bearer realm="osp"`) != "" {
		t.Errorf("the challenge does not read back")
	}
	md := p.ResourceMetadata()
	if md["resource"] != p.Mount || !slices.Equal(md["authorization_servers"].([]string), []string{p.Issuer()}) {
		t.Errorf("metadata %v", md)
	}
}
