package osp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"math/big"

	"filippo.io/edwards25519"
	"github.com/ospbox/ospbox/manifests"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// EncryptedCredentials is the encrypted_credentials member of a bundle (spec/osp.md §7.2).
type EncryptedCredentials struct {
	Algorithm                  string `json:"algorithm"`
	AgentPublicKey             string `json:"agent_public_key"`
	ProviderEphemeralPublicKey string `json:"provider_ephemeral_public_key"`
	Nonce                      string `json:"nonce"`
	Ciphertext                 string `json:"ciphertext"`
}

// spkiPrefix is the DER prefix of an Ed25519 SubjectPublicKeyInfo (44 bytes in all).
var spkiPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// ParseAgentKey accepts an Ed25519 public key as 32 raw bytes or the 44-byte SPKI DER form, in
// base64url or base64, padded or not (spec/osp.md §6.1).
func ParseAgentKey(s string) (ed25519.PublicKey, error) {
	raw, err := manifests.DecodeB64(s)
	if err != nil {
		return nil, errors.New("agent_public_key is not base64url or base64")
	}
	if len(raw) == 44 && string(raw[:12]) == string(spkiPrefix) {
		raw = raw[12:]
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("agent_public_key must be a 32-byte Ed25519 key (or its 44-byte SPKI form)")
	}
	if _, err := edwardsToMontgomery(raw); err != nil {
		return nil, err
	}
	return ed25519.PublicKey(raw), nil
}

var fieldPrime = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// edwardsToMontgomery maps an Ed25519 public key to its X25519 form, u = (1 + y) / (1 − y) mod p,
// rejecting encodings that are not on the curve.
func edwardsToMontgomery(pub []byte) ([32]byte, error) {
	var out [32]byte
	// Reject keys that do not decode to a point: ed25519.Verify would treat them as invalid too.
	if !validPoint(pub) {
		return out, errors.New("agent_public_key is not a valid Ed25519 point")
	}
	le := make([]byte, 32)
	copy(le, pub)
	le[31] &= 0x7f
	y := new(big.Int).SetBytes(reverse(le))
	if y.Cmp(fieldPrime) >= 0 {
		return out, errors.New("agent_public_key is not a valid Ed25519 point")
	}
	one := big.NewInt(1)
	num := new(big.Int).Add(one, y)
	den := new(big.Int).Sub(one, y)
	den.Mod(den, fieldPrime)
	if den.Sign() == 0 {
		return out, errors.New("agent_public_key cannot be mapped to X25519")
	}
	u := new(big.Int).Mul(num, new(big.Int).ModInverse(den, fieldPrime))
	u.Mod(u, fieldPrime)
	b := u.FillBytes(make([]byte, 32))
	copy(out[:], reverse(b))
	return out, nil
}

// validPoint reports whether pub is the encoding of a point on the Edwards curve.
func validPoint(pub []byte) bool {
	_, err := new(edwards25519.Point).SetBytes(pub)
	return err == nil
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

// X25519SecretFromSeed derives an agent's X25519 secret from its Ed25519 seed the way
// libsodium's crypto_sign_ed25519_sk_to_curve25519 does (spec/osp.md §7.2, how an agent decrypts).
func X25519SecretFromSeed(seed []byte) [32]byte {
	h := sha512.Sum512(seed)
	var s [32]byte
	copy(s[:], h[:32])
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
	return s
}

// EncryptCredentials seals plaintext to the agent's Ed25519 key with NaCl crypto_box from a fresh
// ephemeral X25519 key and nonce drawn from random.
func EncryptCredentials(agent ed25519.PublicKey, plaintext []byte, random io.Reader) (EncryptedCredentials, []byte, error) {
	recipient, err := edwardsToMontgomery(agent)
	if err != nil {
		return EncryptedCredentials{}, nil, err
	}
	var ephSecret [32]byte
	if _, err := io.ReadFull(random, ephSecret[:]); err != nil {
		return EncryptedCredentials{}, nil, err
	}
	var nonce [24]byte
	if _, err := io.ReadFull(random, nonce[:]); err != nil {
		return EncryptedCredentials{}, nil, err
	}
	ephPublic, err := curve25519.X25519(ephSecret[:], curve25519.Basepoint)
	if err != nil {
		return EncryptedCredentials{}, nil, err
	}
	ct := box.Seal(nil, plaintext, &nonce, &recipient, &ephSecret)
	return EncryptedCredentials{
		Algorithm:                  "x25519-xsalsa20-poly1305",
		AgentPublicKey:             manifests.B64(agent),
		ProviderEphemeralPublicKey: manifests.B64(ephPublic),
		Nonce:                      manifests.B64(nonce[:]),
		Ciphertext:                 manifests.B64(ct),
	}, ct, nil
}

// DecryptCredentials opens a bundle with the agent's Ed25519 seed, as an agent would.
func DecryptCredentials(seed []byte, ec EncryptedCredentials) ([]byte, error) {
	secret := X25519SecretFromSeed(seed)
	eph, err1 := manifests.DecodeB64(ec.ProviderEphemeralPublicKey)
	nonceBytes, err2 := manifests.DecodeB64(ec.Nonce)
	ct, err3 := manifests.DecodeB64(ec.Ciphertext)
	if err1 != nil || err2 != nil || err3 != nil || len(eph) != 32 || len(nonceBytes) != 24 {
		return nil, errors.New("malformed encrypted credentials")
	}
	var ephKey [32]byte
	var nonce [24]byte
	copy(ephKey[:], eph)
	copy(nonce[:], nonceBytes)
	out, ok := box.Open(nil, ct, &nonce, &ephKey, &secret)
	if !ok {
		return nil, errors.New("the bundle was not encrypted to this key or was altered")
	}
	return out, nil
}

// KeyFingerprint is base64url(SHA-256(raw public key)), the A mirror's agent_public_key_fingerprint.
func KeyFingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return manifests.B64(sum[:])
}

// cryptoRandom is where bundle randomness comes from; tests substitute a fixed stream.
var cryptoRandom io.Reader = rand.Reader

func base64URL(s string) ([]byte, error) { return manifests.DecodeB64(s) }
