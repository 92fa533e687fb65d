package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ospbox/ospbox/manifests"
)

// TestNeovimSeesWhatValidateReports runs `ospbox lsp` under a client nobody here wrote: Debian's
// Neovim, headless, with its built-in LSP client (testdata/nvim/lsp.lua). Its diagnostics after
// opening a broken manifest, and after an edit, must be exactly `ospbox validate --format json`'s
// findings for the same text, at the same places in LSP's UTF-16 positions.
func TestNeovimSeesWhatValidateReports(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		t.Fatal("this test needs Debian's neovim (apt-get install neovim; .ci/run installs it)")
	}
	bin := buildBinary(t)
	ws := t.TempDir()
	if err := manifests.WriteSamples(ws); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ws, "providers", "acmedb", "osp.json")
	good, _ := os.ReadFile(path)
	// Broken: a required member gone, a non-ASCII name before an unknown member on one line.
	broken := strings.Replace(string(good), `"provider_name": "AcmeDB",`, `"provider_nme": "Acmé 🚀", "extra_field": 1,`, 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(broken, "\n")
	editLine, editText := 1, `  "osp_version": "9.9",`
	if !strings.Contains(lines[editLine], "osp_version") {
		t.Fatalf("line %d of the sample is %q", editLine, lines[editLine])
	}
	out := filepath.Join(t.TempDir(), "diagnostics.json")
	cmd := exec.Command(nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", "luafile testdata/nvim/lsp.lua")
	cmd.Env = append(os.Environ(), "OSPBOX_BIN="+bin, "WORKSPACE="+ws, "MANIFEST="+path, "OUT="+out,
		fmt.Sprintf("EDIT_LINE=%d", editLine), "EDIT_TEXT="+editText, "HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nvim: %v\n%s", err, b)
	}
	var got struct {
		Opened, Edited struct {
			Diagnostics []struct {
				Range struct {
					Start struct{ Line, Character int }
				}
				Code    string
				Message string
			}
		}
	}
	data, err := os.ReadFile(out)
	if err != nil || json.Unmarshal(data, &got) != nil {
		t.Fatalf("nvim wrote %q (%v)", data, err)
	}
	lspFindings := func(ds []struct {
		Range struct {
			Start struct{ Line, Character int }
		}
		Code    string
		Message string
	}) []string {
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%d:%d %s %s", d.Range.Start.Line, d.Range.Start.Character, d.Code, d.Message))
		}
		slices.Sort(out)
		return out
	}
	// validate reads the file: give it the text each set of diagnostics was for.
	validate := func(text string) []string {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := exec.Command(bin, "validate", "--format", "json", ws).Output()
		var reps []struct {
			File                    string
			Errors, Warnings, Infos []manifests.Diagnostic
		}
		if err := json.Unmarshal(b, &reps); err != nil {
			t.Fatalf("validate --format json: %v\n%s", err, b)
		}
		var out []string
		textLines := strings.Split(text, "\n")
		for _, r := range reps {
			if !strings.HasSuffix(r.File, "providers/acmedb/osp.json") {
				continue
			}
			for _, d := range append(append(r.Errors, r.Warnings...), r.Infos...) {
				// The code-point column, in UTF-16 units as LSP counts.
				runes := []rune(textLines[d.Line-1])
				char := len(utf16.Encode(runes[:d.Column-1]))
				out = append(out, fmt.Sprintf("%d:%d %s %s", d.Line-1, char, d.Rule, d.Message))
			}
		}
		slices.Sort(out)
		return out
	}
	if want, have := validate(broken), lspFindings(got.Opened.Diagnostics); !slices.Equal(want, have) || len(want) < 3 {
		t.Errorf("after opening, Neovim has\n  %s\nvalidate says\n  %s", strings.Join(have, "\n  "), strings.Join(want, "\n  "))
	}
	lines[editLine] = editText
	if want, have := validate(strings.Join(lines, "\n")), lspFindings(got.Edited.Diagnostics); !slices.Equal(want, have) || !strings.Contains(strings.Join(have, " "), " enum ") {
		t.Errorf("after the edit, Neovim has\n  %s\nvalidate says\n  %s", strings.Join(have, "\n  "), strings.Join(want, "\n  "))
	}
}
