package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ospbox/ospbox/manifests"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestValidateOutputFormatsMatchGoldenFiles(t *testing.T) {
	for _, format := range []string{"text", "json", "sarif"} {
		var out, errOut bytes.Buffer
		code := Validate(ValidateOptions{Paths: []string{"testdata/broken"}, Format: format, Version: "test", Out: &out, Err: &errOut})
		if code != ValidateErrors {
			t.Errorf("%s: exit %d, want %d (stderr %s)", format, code, ValidateErrors, errOut.String())
		}
		golden := filepath.Join("testdata", "golden", "validate."+format)
		if *update {
			os.WriteFile(golden, out.Bytes(), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./app -run Golden -update)", err)
		}
		if out.String() != string(want) {
			t.Errorf("%s output differs from %s:\n%s", format, golden, out.String())
		}
		if format != "text" && !json.Valid(out.Bytes()) {
			t.Errorf("%s output is not JSON", format)
		}
	}
}

func TestValidatePositionsCountCharactersInCRLFFiles(t *testing.T) {
	var out bytes.Buffer
	Validate(ValidateOptions{Paths: []string{"testdata/broken/providers/acme/osp.json"}, Format: "text", Out: &out, Err: &out})
	// The file has CRLF line breaks; line 9's duplicate tier_id value starts at character 19.
	if !strings.Contains(out.String(), "osp.json:9:19: error: tier_id \"free\" is already used at 8:19") {
		t.Errorf("positions:\n%s", out.String())
	}
	// On line 8 the currency follows "Frèi—Größe": it is character 86 but byte 91, and editors
	// count characters.
	if !strings.Contains(out.String(), "osp.json:8:86: error: currency") {
		t.Errorf("currency position:\n%s", out.String())
	}
}

func TestValidateExitCodes(t *testing.T) {
	var out, errOut bytes.Buffer
	ws := t.TempDir()
	manifests.WriteSamples(ws)
	if code := Validate(ValidateOptions{Paths: []string{ws}, Out: &out, Err: &errOut}); code != ValidateClean {
		t.Errorf("sample workspace: exit %d\n%s", code, out.String())
	}
	if code := Validate(ValidateOptions{Paths: []string{filepath.Join(ws, "missing.json")}, Out: &out, Err: &errOut}); code != ValidateFailed {
		t.Errorf("missing file: exit %d", code)
	}
	if code := Validate(ValidateOptions{Paths: []string{ws}, Format: "xml", Out: &out, Err: &errOut}); code != ValidateFailed {
		t.Errorf("bad format: exit %d", code)
	}
}

func TestSignThenTamper(t *testing.T) {
	ws := t.TempDir()
	manifests.WriteSamples(ws)
	res, err := Sign(ws, "skyhost")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(res.File)
	if m, rep := manifests.ParseOSP("skyhost", "osp.json", data); m == nil || rep.Signature.Status != "valid" || *rep.Signature.KeyID != res.KeyID {
		t.Fatalf("signed file: %+v", rep)
	}
	// Signing again (already signed) must still verify, and by file path too.
	if _, err := Sign("", res.File); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(res.File, bytes.Replace(data, []byte(`"Team"`), []byte(`"Teams"`), 1), 0o644)
	data, _ = os.ReadFile(res.File)
	if _, rep := manifests.ParseOSP("skyhost", "osp.json", data); rep.Signature.Status != "invalid" {
		t.Errorf("tampered file: %+v", rep.Signature)
	}
	os.WriteFile(filepath.Join(ws, "providers", "acmedb", "osp.json"), []byte(`{"provider_name": 1}`), 0o644)
	if _, err := Sign(ws, "acmedb"); err == nil || !strings.Contains(err.Error(), "fix them before signing") {
		t.Errorf("an invalid manifest must not be signed: %v", err)
	}
}
