package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/ospbox/ospbox/manifests"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// client drives a session over two real pipes, as an editor does.
type client struct {
	t      testing.TB
	in     *os.File // what the client writes
	r      *bufio.Reader
	nextID int
	done   chan error
	// diags are the latest diagnostics per URI; pending holds messages read while waiting.
	diags map[string][]diag
}

// diag is a published diagnostic as the test reads it (glsp's IntegerOrString has a value
// receiver on UnmarshalJSON, so it decodes to nothing; the server only encodes it).
type diag struct {
	Range    protocol.Range `json:"range"`
	Severity int            `json:"severity"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
}

type diagParams struct {
	URI         string `json:"uri"`
	Diagnostics []diag `json:"diagnostics"`
}

type wire struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *responseError  `json:"error"`
}

func startSession(t testing.TB) *client { return startSessionWith(t, map[string]any{}) }

// startSessionWith initializes with the given client capabilities.
func startSessionWith(t testing.TB, capabilities map[string]any) *client {
	t.Helper()
	cr, sw, _ := os.Pipe() // client reads what the server writes
	sr, cw, _ := os.Pipe()
	c := &client{t: t, in: cw, r: bufio.NewReader(cr), done: make(chan error, 1), diags: map[string][]diag{}}
	go func() { c.done <- Serve(context.Background(), sr, sw, Options{Version: "test"}); sw.Close() }()
	t.Cleanup(func() { cw.Close(); cr.Close(); sr.Close() })
	c.call("initialize", map[string]any{"processId": nil, "rootUri": nil, "capabilities": capabilities})
	c.notify("initialized", map[string]any{})
	return c
}

func (c *client) write(body []byte) {
	c.t.Helper()
	if _, err := c.in.Write([]byte("Content-Length: " + itoa(len(body)) + "\r\n\r\n")); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.in.Write(body); err != nil {
		c.t.Fatal(err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (c *client) notify(method string, params any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	c.write(b)
}

// call sends a request and returns its answer, collecting notifications on the way.
func (c *client) call(method string, params any) wire {
	c.t.Helper()
	c.nextID++
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method, "params": params})
	c.write(b)
	return c.until(func(m wire) bool { return string(m.ID) == itoa(c.nextID) })
}

// until reads messages until one satisfies done, recording published diagnostics.
func (c *client) until(done func(wire) bool) wire {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		f, err := readFrame(c.r, MaxMessageBytes)
		if err != nil {
			c.t.Fatalf("reading from the server: %v", err)
		}
		var m wire
		if err := json.Unmarshal(f.body, &m); err != nil {
			c.t.Fatalf("server sent invalid JSON %q: %v", f.body, err)
		}
		if m.Method == "textDocument/publishDiagnostics" {
			var p diagParams
			json.Unmarshal(m.Params, &p)
			c.diags[p.URI] = p.Diagnostics
		}
		if done(m) {
			return m
		}
	}
	c.t.Fatal("no answer in 20 s")
	return wire{}
}

// diagnosticsFor waits for the next diagnostics of uri.
func (c *client) diagnosticsFor(uri string) []diag {
	c.t.Helper()
	m := c.until(func(m wire) bool {
		return m.Method == "textDocument/publishDiagnostics" && strings.Contains(string(m.Params), `"uri":"`+uri+`"`)
	})
	var p diagParams
	json.Unmarshal(m.Params, &p)
	return p.Diagnostics
}

func workspace(t *testing.T) (dir, manifest string, text string) {
	t.Helper()
	dir = t.TempDir()
	if err := manifests.WriteSamples(dir); err != nil {
		t.Fatal(err)
	}
	manifest = filepath.Join(dir, "providers", "acmedb", "osp.json")
	b, _ := os.ReadFile(manifest)
	return dir, manifest, string(b)
}

func rules(ds []diag) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Code)
	}
	return out
}

func TestDiagnosticsFollowTheBufferInUTF16(t *testing.T) {
	dir, path, good := workspace(t)
	c := startSession(t)
	uri := pathURI(path)
	// A name with a character outside the BMP (two UTF-16 units, one code point, four bytes)
	// before a wrong value on the same line, and a required member removed.
	broken := strings.Replace(good, `"provider_name": "AcmeDB",`, ``, 1)
	broken = strings.Replace(broken, `"osp_version": "1.0",`, `"provider_id": "acmé🚀", "osp_version": "9.9",`, 1)
	broken = strings.Replace(broken, `"provider_id": "acmedb.example",`, ``, 1)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": broken}})
	ds := c.diagnosticsFor(uri)

	ws, _ := manifests.OpenWorkspace(dir)
	want := ws.ValidateText("providers/acmedb/osp.json", []byte(broken))
	if len(ds) != len(want.Errors)+len(want.Warnings) || len(want.Errors) < 2 {
		t.Fatalf("diagnostics %v, want the validator's %d errors and %d warnings: %+v", rules(ds), len(want.Errors), len(want.Warnings), want.Errors)
	}
	var enum *diag
	for i, d := range ds {
		if d.Code == "enum" {
			enum = &ds[i]
		}
	}
	if enum == nil {
		t.Fatalf("no enum finding for osp_version 9.9: %v", rules(ds))
	}
	lines := strings.Split(broken, "\n")
	line := lines[enum.Range.Start.Line]
	idx := strings.Index(line, `"9.9"`)
	if idx < 0 {
		t.Fatalf("enum finding on line %d: %q", enum.Range.Start.Line, line)
	}
	wantChar := uint32(len(utf16.Encode([]rune(line[:idx]))))
	if enum.Range.Start.Character != wantChar || enum.Range.End.Character != wantChar+5 {
		t.Errorf("enum range %+v, want characters %d–%d in UTF-16 units (the code-point column would be %d)", enum.Range, wantChar, wantChar+5, len([]rune(line[:idx])))
	}

	// An incremental edit, positioned in UTF-16 units after the rocket, fixes the version.
	start := protocol.Position{Line: enum.Range.Start.Line, Character: enum.Range.Start.Character}
	end := protocol.Position{Line: enum.Range.End.Line, Character: enum.Range.End.Character}
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"range": protocol.Range{Start: start, End: end}, "text": `"1.0"`}}})
	ds = c.diagnosticsFor(uri)
	for _, d := range ds {
		if d.Code == "enum" {
			t.Errorf("after the edit the enum finding is still there: %v", rules(ds))
		}
	}
	if got := rules(ds); !strings.Contains(strings.Join(got, ","), "required") {
		t.Errorf("after the edit the missing provider_name should still be reported: %v", got)
	}

	// The whole good text again: no errors or warnings are left.
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 3},
		"contentChanges": []any{map[string]any{"text": good}}})
	for _, d := range c.diagnosticsFor(uri) {
		if d.Severity != int(protocol.DiagnosticSeverityInformation) {
			t.Errorf("the sample manifest has finding %s: %s", d.Code, d.Message)
		}
	}
}

func TestHoverAndCompletionFromTheSchema(t *testing.T) {
	_, path, good := workspace(t)
	c := startSession(t)
	uri := pathURI(path)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": good}})
	c.diagnosticsFor(uri)
	posOf := func(src, needle string, extra int) protocol.Position {
		i := strings.Index(src, needle) + extra
		return newText([]byte(src)).position(i)
	}
	h := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": posOf(good, `"osp_version"`, 3)})
	if !strings.Contains(string(h.Result), "osp_version") || !strings.Contains(string(h.Result), `\"1.1\"`) {
		t.Errorf("hover on osp_version: %s", h.Result)
	}
	h = c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": posOf(good, `"tier_id": "free"`, 12)})
	if !strings.Contains(string(h.Result), "tier_id") || !strings.Contains(string(h.Result), "within its offering") {
		t.Errorf("hover on a tier's id (a value, three levels down): %s", h.Result)
	}

	// A value inside quotes: the allowed versions.
	comp := c.call("textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": posOf(good, `"1.0"`, 1)})
	var list protocol.CompletionList
	json.Unmarshal(comp.Result, &list)
	var labels []string
	for _, it := range list.Items {
		labels = append(labels, it.Label)
	}
	if strings.Join(labels, " ") != `"1.0" "1.1"` {
		t.Errorf("value completion for osp_version: %v", labels)
	}

	// A new member of the root, mid-typing (the text does not parse): the members not yet there.
	typing := strings.Replace(good, `"osp_version": "1.0",`, `"osp_version": "1.0", "ide`, 1)
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"text": typing}}})
	comp = c.call("textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": posOf(typing, `"ide`, 4)})
	list = protocol.CompletionList{}
	json.Unmarshal(comp.Result, &list)
	labels = nil
	for _, it := range list.Items {
		labels = append(labels, it.Label)
	}
	all := " " + strings.Join(labels, " ") + " "
	if !strings.Contains(all, " identity ") || strings.Contains(all, " osp_version ") {
		t.Errorf("member completion in the root while typing: %v", labels)
	}
}

// apply applies one code action's edits to text, as an editor does.
func apply(t *testing.T, src string, edits []protocol.TextEdit) string {
	t.Helper()
	for i := len(edits) - 1; i >= 0; i-- {
		tx := newText([]byte(src))
		s, e := tx.offset(edits[i].Range.Start), tx.offset(edits[i].Range.End)
		src = src[:s] + edits[i].NewText + src[e:]
	}
	return src
}

// action is the code action whose title starts with prefix, or nil.
func action(acts []protocol.CodeAction, prefix string) *protocol.CodeAction {
	for i, a := range acts {
		if strings.HasPrefix(a.Title, prefix) {
			return &acts[i]
		}
	}
	return nil
}

func codeActions(t *testing.T, c *client, uri string, r protocol.Range) []protocol.CodeAction {
	t.Helper()
	res := c.call("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": uri}, "range": r, "context": map[string]any{"diagnostics": []any{}}})
	var acts []protocol.CodeAction
	if err := json.Unmarshal(res.Result, &acts); err != nil {
		t.Fatalf("code actions %s: %v", res.Result, err)
	}
	return acts
}

func TestCodeActionsFixWhatTheyName(t *testing.T) {
	dir, path, good := workspace(t)
	c := startSession(t)
	uri := pathURI(path)
	// provider_name misspelt: a required member missing and an unknown one.
	broken := strings.Replace(good, `"provider_name"`, `"provider_nme"`, 1)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": broken}})
	ds := c.diagnosticsFor(uri)
	var unknown, required diag
	for _, d := range ds {
		switch d.Code {
		case "unknown_field":
			unknown = d
		case "required":
			required = d
		}
	}
	if unknown.Message == "" || required.Message == "" {
		t.Fatalf("want unknown_field and required: %v", rules(ds))
	}
	ws, _ := manifests.OpenWorkspace(dir)
	check := func(name, fixed string) {
		t.Helper()
		rep := ws.ValidateText("providers/acmedb/osp.json", []byte(fixed))
		if len(rep.Errors) > 0 {
			t.Errorf("%s: the fixed text still has errors: %+v", name, rep.Errors)
		}
	}
	acts := codeActions(t, c, uri, unknown.Range)
	rename := action(acts, "Rename")
	if rename == nil || !strings.Contains(rename.Title, `"provider_name"`) {
		t.Fatalf("no rename to provider_name among %+v", acts)
	}
	check("rename", apply(t, broken, rename.Edit.Changes[uri]))

	acts = codeActions(t, c, uri, required.Range)
	add := action(acts, "Add the required member")
	if add == nil {
		t.Fatalf("no add-member action among %+v", acts)
	}
	added := apply(t, broken, add.Edit.Changes[uri])
	if !strings.Contains(added, `"provider_name": "",`) {
		t.Errorf("added member: %s", added[:200])
	}

	// Signing: the sample is unsigned; the action signs with the workspace key, once there is
	// one (asking for actions never writes a key).
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"text": good}}})
	c.diagnosticsFor(uri)
	line1 := protocol.Range{Start: protocol.Position{Line: 1}, End: protocol.Position{Line: 1}}
	if acts := codeActions(t, c, uri, line1); action(acts, "Sign") != nil {
		t.Errorf("a sign action without a key: %+v", acts)
	}
	if _, err := os.Stat(filepath.Join(dir, ".ospbox", "keys", "acmedb.jwk")); err == nil {
		t.Fatal("listing code actions wrote a key")
	}
	if _, err := ws.ProviderKey("acmedb"); err != nil { // what ospbox serve or ospbox sign does
		t.Fatal(err)
	}
	acts = codeActions(t, c, uri, line1)
	sign := action(acts, "Sign")
	if sign == nil {
		t.Fatalf("no sign action among %+v", acts)
	}
	signed := apply(t, good, sign.Edit.Changes[uri])
	rep := ws.ValidateText("providers/acmedb/osp.json", []byte(signed))
	if rep.Signature == nil || rep.Signature.Status != "valid" {
		t.Errorf("signed text's signature: %+v", rep.Signature)
	}
}

func TestBadMessagesGetErrorsAndTheSessionGoesOn(t *testing.T) {
	_, path, _ := workspace(t)
	c := startSession(t)
	c.write([]byte(`{"jsonrpc":"2.0","id":7,"method":`))
	if m := c.until(func(m wire) bool { return m.Error != nil }); m.Error.Code != codeParseError {
		t.Errorf("malformed JSON: %+v", m.Error)
	}
	if m := c.call("workspace/symbolz", map[string]any{}); m.Error == nil || m.Error.Code != codeMethodNotFound {
		t.Errorf("unknown method: %+v", m)
	}
	if m := c.call("textDocument/hover", "not an object"); m.Error == nil || m.Error.Code != codeInvalidParams {
		t.Errorf("bad params: %+v", m)
	}
	if m := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": "file:///nowhere.json"}, "position": map[string]any{"line": 0, "character": 0}}); m.Error == nil {
		t.Errorf("hover on a document that is not open: %+v", m)
	}
	// A 10 MB document is answered with a finding, not read as a manifest.
	uri := pathURI(path)
	big := `{"osp_version":"1.0","x":"` + strings.Repeat("a", 10<<20) + `"}`
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": big}})
	if got := rules(c.diagnosticsFor(uri)); len(got) != 1 || got[0] != "file_too_large" {
		t.Errorf("10 MB document: %v", got)
	}
	// Still serving, and shutdown then exit ends it cleanly.
	if m := c.call("shutdown", nil); m.Error != nil {
		t.Errorf("shutdown: %+v", m.Error)
	}
	c.notify("exit", nil)
	if err := <-c.done; err != nil {
		t.Errorf("Serve after shutdown and exit: %v", err)
	}
}

func TestOversizedMessageIsSkipped(t *testing.T) {
	in := "Content-Length: 10\r\n\r\n0123456789Content-Length: 2\r\n\r\n{}"
	r := bufio.NewReader(strings.NewReader(in))
	f, err := readFrame(r, 5)
	if err != nil || f.body != nil || f.skipped != 10 {
		t.Fatalf("over the limit: %+v %v", f, err)
	}
	if f, err = readFrame(r, 5); err != nil || string(f.body) != "{}" {
		t.Fatalf("the next message after a skipped one: %+v %v", f, err)
	}
}

// FuzzReadFrame: any bytes on the wire end in messages or an error, never a panic, and a body is
// never longer than its Content-Length or the limit.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("Content-Length: 2\r\n\r\n{}"))
	f.Add([]byte("Content-Length: 99999999999\r\n\r\n"))
	f.Add([]byte("content-length:3\n\n[1]Content-Type: x\r\nContent-Length: 1\r\n\r\n1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(strings.NewReader(string(data)))
		for range 100 {
			fr, err := readFrame(r, 1<<10)
			if err != nil {
				return
			}
			if len(fr.body) > 1<<10 {
				t.Fatalf("a body of %d bytes over the limit", len(fr.body))
			}
		}
	})
}

// FuzzSession: any byte stream into a session ends it without a panic.
func FuzzSession(f *testing.F) {
	f.Add([]byte("Content-Length: 52\r\n\r\n" + `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`[:52]))
	f.Add([]byte("Content-Length: 5\r\n\r\n{\"a\":"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Serve(context.Background(), strings.NewReader(string(data)), discard{}, Options{})
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestWatchedFilesRecheckOpenDocuments: a file on disk that an open document's findings depend
// on changes; the client reports it (after the server registered for it) and the document's
// diagnostics follow, with the related place in the other file.
func TestWatchedFilesRecheckOpenDocuments(t *testing.T) {
	dir, _, _ := workspace(t)
	c := startSessionWith(t, map[string]any{"workspace": map[string]any{"didChangeWatchedFiles": map[string]any{"dynamicRegistration": true}}})
	reg := c.until(func(m wire) bool { return m.Method == "client/registerCapability" })
	if !strings.Contains(string(reg.Params), `"workspace/didChangeWatchedFiles"`) || !strings.Contains(string(reg.Params), `**/*.json`) {
		t.Errorf("registration: %s", reg.Params)
	}
	c.write([]byte(`{"jsonrpc":"2.0","id":` + string(reg.ID) + `,"result":null}`)) // the client's answer is ignored

	side := filepath.Join(dir, "oap", "agents", "triage.rules.json")
	text, _ := os.ReadFile(side)
	uri := pathURI(side)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": string(text)}})
	if got := rules(c.diagnosticsFor(uri)); strings.Contains(strings.Join(got, ","), "unknown_agent") {
		t.Fatalf("the sample's side file already has unknown_agent: %v", got)
	}
	manifest := filepath.Join(dir, "oap", "manifest.json")
	m, _ := os.ReadFile(manifest)
	os.WriteFile(manifest, []byte(strings.Replace(string(m), `"id": "triage"`, `"id": "sorter"`, 1)), 0o644)
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []any{map[string]any{"uri": pathURI(manifest), "type": 2}}})
	m2 := c.until(func(m wire) bool {
		return m.Method == "textDocument/publishDiagnostics" && strings.Contains(string(m.Params), `"uri":"`+uri+`"`)
	})
	if !strings.Contains(string(m2.Params), `"unknown_agent"`) || !strings.Contains(string(m2.Params), `"relatedInformation":[{"location":{"uri":"`+pathURI(manifest)+`"`) {
		t.Errorf("after the manifest lost the agent: %s", m2.Params)
	}
}

// TestScenarioFilesInTheEditor: a scenarios/*.json file gets the validator's findings and
// completion from the scenario schema.
func TestScenarioFilesInTheEditor(t *testing.T) {
	dir, _, _ := workspace(t)
	os.MkdirAll(filepath.Join(dir, "scenarios"), 0o755)
	path := filepath.Join(dir, "scenarios", "flaky.json")
	text := `{"rules": [{"match": {"operation": "osp.provison"}, "effect": {"error": "provider_unavailable"}}]}`
	c := startSession(t)
	uri := pathURI(path)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": text}})
	ds := c.diagnosticsFor(uri)
	if len(ds) != 1 || ds[0].Code != "scenario_rule" || !strings.Contains(ds[0].Message, "osp.provision") {
		t.Fatalf("diagnostics: %+v", ds)
	}
	at := newText([]byte(text)).position(strings.Index(text, `"osp.provison"`) + 1)
	comp := c.call("textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": at})
	if !strings.Contains(string(comp.Result), `"osp.provision"`) || !strings.Contains(string(comp.Result), `"bsp.stream"`) {
		t.Errorf("operation completion: %s", comp.Result)
	}
}

// TestHoverOnABSPManifest: the BSP/BEST schema describes its members too.
func TestHoverOnABSPManifest(t *testing.T) {
	dir, _, _ := workspace(t)
	path := filepath.Join(dir, "bsp", "manifest.json")
	text, _ := os.ReadFile(path)
	c := startSession(t)
	uri := pathURI(path)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "json", "version": 1, "text": string(text)}})
	c.diagnosticsFor(uri)
	at := newText(text).position(strings.Index(string(text), `"capabilities"`) + 2)
	h := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": at})
	if !strings.Contains(string(h.Result), "capabilities") || !strings.Contains(string(h.Result), "active, partial or planned") {
		t.Errorf("hover on capabilities: %s", h.Result)
	}
}
