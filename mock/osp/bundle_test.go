package osp

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/ospbox/ospbox/manifests"
)

// TestEncryptionReproducesTheSpecVector is spec/osp.md §23.4 with the keys of §23.2.
func TestEncryptionReproducesTheSpecVector(t *testing.T) {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	agent := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if manifests.B64(agent) != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" {
		t.Fatal("agent key")
	}
	x, err := edwardsToMontgomery(agent)
	if err != nil || manifests.B64(x[:]) != "2F4H7CKwrYgVN8L0TWYtGhQ8-DDFespDBdhcepD2ti4" {
		t.Fatalf("X25519 public %s %v", manifests.B64(x[:]), err)
	}
	if s := X25519SecretFromSeed(seed); hex.EncodeToString(s[:]) != "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f" {
		t.Fatalf("X25519 secret %x", s)
	}
	if KeyFingerprint(agent) != "If4x36FUomFia_hUBG_SJxt77UtqvkWqWId-9H-XIbk" {
		t.Errorf("fingerprint %s", KeyFingerprint(agent))
	}
	eph, _ := hex.DecodeString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	nonce, _ := hex.DecodeString("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
	plaintext := []byte(`{"connection_uri":"postgresql://demo_app_u7k2:Zq4vX9pL2mR8sT1w@127.0.0.1:54321/demo_app","password":"Zq4vX9pL2mR8sT1w"}`)
	ec, ct, err := EncryptCredentials(agent, plaintext, bytes.NewReader(append(eph, nonce...)))
	if err != nil {
		t.Fatal(err)
	}
	if ec.ProviderEphemeralPublicKey != "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo" || ec.Nonce != "aWlu6VW2K3PNYr2odfxz1oIZ4ANregs3" {
		t.Errorf("ephemeral %s nonce %s", ec.ProviderEphemeralPublicKey, ec.Nonce)
	}
	const wantCT = "tgEDntKfdNepm-eBw9gyB4VeC_o0ez7maOdFg6MXS8z21FV9yWki3F7GNmSbnpX9KEzgAivTglsJYhCo-ckQxA5A3lncr6ROtJmxgSaiZqgMvvKddsUo7NEQXdFYUgVLIsAKqVLw5wY3Wc4DwYWwyVwbDmJ9NIk_uQV-OfK8h1kWnaKXyL0L"
	if ec.Ciphertext != wantCT || len(ct) != 135 {
		t.Errorf("ciphertext %s (%d bytes)", ec.Ciphertext, len(ct))
	}
	providerSeed, _ := hex.DecodeString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(providerSeed), ct)
	if manifests.B64(sig) != "jcTxTytIBuZGllgVHJDf0bUNRbhSi5IW6IZd3lO8BYmR0IZsc3mKc00X6FJIRA9jJMJ2XFGBOIaHvEXZiHkPCg" {
		t.Errorf("A mirror signature %s", manifests.B64(sig))
	}
	got, err := DecryptCredentials(seed, ec)
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Errorf("decrypt: %v %s", err, got)
	}
}

func TestParseAgentKey(t *testing.T) {
	const raw = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	k, err := ParseAgentKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	spki := manifests.B64(append(append([]byte{}, spkiPrefix...), k...))
	std := "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	for _, form := range []string{spki, std} {
		if k2, err := ParseAgentKey(form); err != nil || !bytes.Equal(k2, k) {
			t.Errorf("form %s: %v", form, err)
		}
	}
	notAPoint := manifests.B64(bytes.Repeat([]byte{0xff}, 31)) // too short
	for _, bad := range []string{"", "!!!", notAPoint, manifests.B64(append([]byte{2}, make([]byte, 31)...))} {
		if _, err := ParseAgentKey(bad); err == nil {
			t.Errorf("ParseAgentKey(%q) must fail", bad)
		}
	}
}
