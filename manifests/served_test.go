package manifests

import (
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// rfc8032Test2 is the provider key of spec/osp.md §23.2.
func rfc8032Test2(t *testing.T) SigningKey {
	seed, _ := hex.DecodeString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	priv := ed25519.NewKeyFromSeed(seed)
	return SigningKey{Private: priv, KeyID: KeyIDFor("acmedb", priv.Public().(ed25519.PublicKey))}
}

func TestServedManifestReproducesTheSpecVector(t *testing.T) {
	data, err := os.ReadFile("testdata/examples-acmedb.json")
	if err != nil {
		t.Fatal(err)
	}
	m, rep := ParseOSP("acmedb", "providers/acmedb/osp.json", data)
	if m == nil {
		t.Fatalf("example manifest did not validate: %+v", rep.Errors)
	}
	if *rep.Dialect != "C" || strings.Join(rep.Signals, ",") != "osp_base_url,provider_name" {
		t.Errorf("dialect %v signals %v", *rep.Dialect, rep.Signals)
	}
	key := rfc8032Test2(t)
	if key.KeyID != "ospbox-acmedb-39f713d0" || key.PublicB64() != "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw" {
		t.Fatalf("key id %s public %s", key.KeyID, key.PublicB64())
	}
	served := ServedManifest(m, ServeOptions{
		MountURL:    "http://127.0.0.1:7410/providers/acmedb",
		Version:     3,
		PublishedAt: time.Date(2026, 4, 10, 8, 0, 0, 0, time.UTC),
		Style:       "brace",
		Key:         key,
	})
	const wantSig = "WLPV6S0WsWNO9Ry-1VnZNLxkzc73uqhYbeabIFf6i6f1q4sB1n74TzgVWjciOj_LcNEwo0sXx1i7cwpWv9I8Dg"
	unsigned := served.Clone()
	unsigned.Delete("provider_signature")
	if c := jsondoc.Canonical(unsigned); len(c) != 1619 || !strings.HasPrefix(string(c), `{"accepted_payment_methods":["free","stripe_spt",`) {
		t.Errorf("canonical form is %d bytes: %.80s", len(c), c)
	}
	if got := served.Str("provider_signature"); got != wantSig {
		t.Errorf("signature %s, want %s", got, wantSig)
	}
	if err := VerifyManifest(served); err != nil {
		t.Error(err)
	}
	var order []string
	for _, mem := range served.Members {
		order = append(order, mem.Name)
	}
	if got := strings.Join(order[:5], ","); got != "osp_version,provider_id,provider_name,osp_base_url,offerings" {
		t.Errorf("C members must come first, got %s", got)
	}
}

func TestEndpointStyles(t *testing.T) {
	for style, want := range map[string]string{
		"brace":  "/osp/v1/resources/{resource_id}",
		"colon":  "/osp/v1/resources/:resource_id",
		"append": "/osp/v1/status",
	} {
		if got := EndpointMap("http://x", style).Str("status"); got != want {
			t.Errorf("%s: status %s, want %s", style, got, want)
		}
	}
}

func TestAuthoredSignatureIsVerified(t *testing.T) {
	data, _ := os.ReadFile("testdata/examples-acmedb.json")
	doc, _ := jsondoc.Parse(data)
	SignManifest(doc.Root, rfc8032Test2(t))
	signed := jsondoc.Indent(doc.Root)
	if _, rep := ParseOSP("acmedb", "osp.json", signed); rep.Signature.Status != "valid" || !rep.Valid {
		t.Fatalf("signed manifest: %+v", rep)
	}
	tampered := strings.Replace(string(signed), `"Managed Postgres"`, `"Managed Postgres!"`, 1)
	m, rep := ParseOSP("acmedb", "osp.json", []byte(tampered))
	if m != nil || rep.Signature.Status != "invalid" || rep.Errors[0].Rule != "signature_invalid" {
		t.Fatalf("tampered manifest must fail: %+v", rep)
	}
	if rep.Errors[0].Line == 0 {
		t.Error("signature error must point at provider_signature")
	}
}
