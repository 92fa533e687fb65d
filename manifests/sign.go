package manifests

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// SigningKey is a provider's Ed25519 key as stored in .ospbox/keys/<slug>.jwk.
type SigningKey struct {
	Private ed25519.PrivateKey
	KeyID   string
}

// PublicB64 is the public key, base64url without padding.
func (k SigningKey) PublicB64() string {
	return B64(k.Private.Public().(ed25519.PublicKey))
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	D   string `json:"d"`
}

// B64 encodes as base64url without padding, the form of every key and signature on the wire.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeB64 accepts base64url or standard base64, padded or not (spec/README.md, Signing keys).
func DecodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// KeyIDFor is the key id ospbox gives a workspace key: ospbox-<slug>-<8 hex of SHA-256(pub)>.
func KeyIDFor(slug string, pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ospbox-" + slug + "-" + hex.EncodeToString(sum[:])[:8]
}

// ProviderKey loads provider slug's signing key, generating and saving one on first use.
func (w *Workspace) ProviderKey(slug string) (SigningKey, error) {
	if !SlugPattern.MatchString(slug) {
		return SigningKey{}, fmt.Errorf("invalid provider slug %q", slug)
	}
	path := filepath.Join(w.KeysDir(), slug+".jwk")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return SigningKey{}, gerr
		}
		if err := writeJWK(path, priv); err != nil {
			return SigningKey{}, err
		}
		return SigningKey{Private: priv, KeyID: KeyIDFor(slug, priv.Public().(ed25519.PublicKey))}, nil
	}
	if err != nil {
		return SigningKey{}, err
	}
	var k jwk
	if err := json.Unmarshal(data, &k); err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", path, err)
	}
	seed, err := DecodeB64(k.D)
	if err != nil || len(seed) != ed25519.SeedSize || k.Kty != "OKP" || k.Crv != "Ed25519" {
		return SigningKey{}, fmt.Errorf("%s: not an Ed25519 private key in JWK form", path)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return SigningKey{Private: priv, KeyID: KeyIDFor(slug, priv.Public().(ed25519.PublicKey))}, nil
}

func writeJWK(path string, priv ed25519.PrivateKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	body, _ := json.Marshal(jwk{Kty: "OKP", Crv: "Ed25519", X: B64(priv.Public().(ed25519.PublicKey)), D: B64(priv.Seed())})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(body, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SignManifest sets provider_public_key, provider_key_id and provider_signature on an object so
// that the signature covers the canonical form of everything but provider_signature (OSP spec §8.1).
func SignManifest(m *jsondoc.Node, key SigningKey) {
	m.Delete("provider_signature")
	m.Set("provider_public_key", jsondoc.NewString(key.PublicB64()))
	m.Set("provider_key_id", jsondoc.NewString(key.KeyID))
	sig := ed25519.Sign(key.Private, jsondoc.Canonical(m))
	m.Set("provider_signature", jsondoc.NewString(B64(sig)))
}

// VerifyManifest checks provider_signature against provider_public_key over the canonical form of
// the object without provider_signature.
func VerifyManifest(m *jsondoc.Node) error {
	pub, err := DecodeB64(m.Str("provider_public_key"))
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return errors.New("provider_public_key must be 32 bytes of base64url")
	}
	sig, err := DecodeB64(m.Str("provider_signature"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("provider_signature must be 64 bytes of base64url")
	}
	c := m.Clone()
	c.Delete("provider_signature")
	if !ed25519.Verify(ed25519.PublicKey(pub), jsondoc.Canonical(c), sig) {
		return errors.New("provider_signature does not verify with provider_public_key over the canonical manifest")
	}
	return nil
}

func verifySignature(r *reporter) *Signature {
	root := r.doc.Root
	s := &Signature{Status: "unsigned"}
	if id := root.Get("provider_key_id"); id != nil && id.Kind == jsondoc.String {
		s.KeyID = &id.Text
	}
	hasSig, hasKey := root.Has("provider_signature"), root.Has("provider_public_key")
	switch {
	case !hasSig && !hasKey:
		r.at(SeverityInfo, "", "unsigned", "manifest is unsigned; ospbox signs the served copy with the workspace key (ospbox sign signs the file)")
	case hasSig != hasKey:
		s.Status = "incomplete"
		r.at(SeverityError, "", "signature_incomplete", "provider_signature and provider_public_key must both be present or both absent")
	default:
		if err := VerifyManifest(root); err != nil {
			s.Status = "invalid"
			r.at(SeverityError, "/provider_signature", "signature_invalid", err.Error()+"; re-sign with ospbox sign")
		} else {
			s.Status = "valid"
		}
	}
	return s
}
