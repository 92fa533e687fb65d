package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds ospbox once per test run, the way a user gets it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ospbox")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer safe for the exec copier and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var uiLine = regexp.MustCompile(`UI\s+(http://127\.0\.0\.1:\d+)/ui/\?token=(\S+)`)

// startServe runs the binary and waits for its banner; it returns the sandbox URL and token.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=")
	stdout, _ := cmd.StdoutPipe()
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := uiLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
		close(found)
	}()
	select {
	case m, ok := <-found:
		if !ok {
			t.Fatalf("ospbox exited before printing its UI link; stderr:\n%s", stderr.String())
		}
		return cmd, m[1], m[2], stderr
	case <-time.After(30 * time.Second):
		t.Fatalf("no UI link within 30s; stderr:\n%s", stderr.String())
	}
	return nil, "", "", nil
}

func TestServeEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	ws := t.TempDir()
	cmd, base, token, stderr := startServe(t, bin, "serve", "--workspace", ws, "--addr", "127.0.0.1:0")
	resp, err := http.Get(base + "/.well-known/osp.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"provider_id": "acmedb.example"`) {
		t.Fatalf("manifest: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", base+"/ui/", nil)
	req.Header.Set("X-Ospbox-Token", token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("UI with token: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ospbox did not stop within 15s of SIGTERM")
	}
	if st, err := os.Stat(filepath.Join(ws, ".ospbox", "state.db-wal")); err == nil && st.Size() > 0 {
		t.Error("WAL left behind after a clean shutdown")
	}
	if _, err := os.Stat(filepath.Join(ws, ".ospbox", "state.db")); err != nil {
		t.Errorf("state database missing: %v", err)
	}
}

func TestBareCommandFallsBackToBrowserModeWithoutADisplay(t *testing.T) {
	bin := buildBinary(t)
	_, base, _, stderr := startServe(t, bin, "--workspace", t.TempDir(), "--addr", "127.0.0.1:0")
	resp, err := http.Get(base + "/providers/skyhost/.well-known/osp.json")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("manifest in fallback mode: %v %v", err, resp)
	}
	resp.Body.Close()
	if !strings.Contains(stderr.String(), "serving the UI in the browser instead") {
		t.Errorf("fallback not announced; stderr:\n%s", stderr)
	}
}

func TestVersionAndHelp(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^sqlite  3\.\d+\.\d+$`).Match(out) || !strings.Contains(string(out), "go      go1.") {
		t.Errorf("version: %v\n%s", err, out)
	}
	out, _ = exec.Command(bin, "serve", "--help").CombinedOutput()
	for _, want := range []string{"--workspace", "--addr", "--open", "/ui/"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	out, err = exec.Command(bin, "serve", "--addr", "0.0.0.0:0", "--workspace", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to listen") {
		t.Errorf("non-loopback listen must be refused: %v %s", err, out)
	}
}

// TestHelpReadsWell: every command's help fits a terminal (no line over 110 characters), says
// what the command does, and a mistyped command line points at --help.
func TestHelpReadsWell(t *testing.T) {
	root := rootCommand()
	for _, c := range append(root.Commands(), root) {
		var out bytes.Buffer
		cmd := rootCommand()
		cmd.SetOut(&out)
		args := []string{"--help"}
		if c != root {
			args = []string{c.Name(), "--help"}
		}
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if len([]rune(line)) > 110 {
				t.Errorf("ospbox %s: a %d-character line: %s", strings.Join(args, " "), len([]rune(line)), line)
			}
		}
		if c.Name() == "mcp" && (!strings.Contains(out.String(), "BSP") || !strings.Contains(out.String(), "(default: a free loopback port")) {
			t.Errorf("mcp help omits the BSP tools or its --addr default:\n%s", out.String())
		}
	}
	cmd := rootCommand()
	cmd.SetArgs([]string{"bogus"})
	if err := cmd.Execute(); err == nil || !usageMistake(err) {
		t.Errorf("ospbox bogus: %v is not taken for a usage mistake", err)
	}
}

// TestREADMEFirstFiveMinutes runs the README's "An agent's first five minutes" as it stands
// against a fresh `ospbox serve`: the walkthrough a new user copies must work.
func TestREADMEFirstFiveMinutes(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("the walkthrough uses jq; .ci/run installs it")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## An agent's first five minutes")
	_, block, ok2 := strings.Cut(section, "```sh\n")
	script, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no shell block under \"An agent's first five minutes\"")
	}
	bin := buildBinary(t)
	_, base, _, _ := startServe(t, bin, "serve", "--workspace", t.TempDir(), "--addr", "127.0.0.1:0")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "OSPBOX="+base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{`{"offering_id":"acmedb/postgres","tiers":["free","pro","scale"]}`, "provisioning\n" + base + "/osp/v1/resources/res_",
		"credentials_bundle with the resource access token", "\nprovisioned\n", "\nplaintext\n", base + "/ui/resources/res_"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, out)
		}
	}
}

// TestEphemeralServeForTestHarnesses: `serve --ephemeral --ready json` serves a throwaway copy
// of the workspace, announces itself in one JSON line, writes nothing to the workspace it was
// given, and on SIGTERM exits 0 and removes its copy (spec/control.md §5).
func TestEphemeralServeForTestHarnesses(t *testing.T) {
	bin := buildBinary(t)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "providers"), 0o755)
	os.WriteFile(filepath.Join(src, "ospbox.json"), []byte(`{"name": "harness"}`), 0o644)
	cmd := exec.Command(bin, "serve", "--ephemeral", "--ready", "json", "--workspace", src, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready     bool   `json:"ready"`
		BaseURL   string `json:"base_url"`
		UIURL     string `json:"ui_url"`
		PID       int    `json:"pid"`
		Workspace string `json:"workspace"`
	}
	if err := json.Unmarshal([]byte(line), &ready); err != nil || !ready.Ready || ready.PID != cmd.Process.Pid || !strings.HasPrefix(ready.UIURL, ready.BaseURL+"/ui/") {
		t.Fatalf("ready line %q: %+v %v", line, ready, err)
	}
	resp, err := http.Get(ready.BaseURL + "/ospbox/v1/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ready.Workspace == src {
		t.Errorf("served the given workspace itself, not a copy")
	}
	if _, err := os.Stat(filepath.Join(ready.Workspace, "ospbox.json")); err != nil {
		t.Errorf("the copy lacks the workspace's files: %v", err)
	}
	// A scenario rule holds a request open forever; SIGTERM must not wait on it (nor on the
	// 10 s shutdown deadline, which would exit non-zero).
	rule, _ := http.Post(ready.BaseURL+"/ospbox/v1/scenarios", "application/json", strings.NewReader(`{"match": {"operation": "ospbox.control"}, "effect": {"network": "hang"}}`))
	rule.Body.Close()
	hung := make(chan error, 1)
	go func() {
		_, err := (&http.Client{Timeout: time.Minute}).Get(ready.BaseURL + "/ospbox/v1/clock")
		hung <- err
	}()
	// Wait until the request is held (the rule has hit it), not for a fixed time.
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(ready.BaseURL + "/ospbox/v1/scenarios")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Scenarios []struct{ Hits int } `json:"scenarios"`
		}
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if len(list.Scenarios) == 1 && list.Scenarios[0].Hits == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hanging request never reached the rule: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: %v, want exit 0", err)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("SIGTERM took %v with a hanging request open", took)
	}
	if err := <-hung; err == nil {
		t.Errorf("the hanging request got an answer")
	}
	if _, err := os.Stat(ready.Workspace); !os.IsNotExist(err) {
		t.Errorf("the ephemeral workspace %s is still there: %v", ready.Workspace, err)
	}
	if _, err := os.Stat(filepath.Join(src, ".ospbox")); !os.IsNotExist(err) {
		t.Errorf("the given workspace was written to: %v", err)
	}
}
