package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// Options configure a session.
type Options struct {
	Version string    // ospbox's version, told to the client
	Log     io.Writer // diagnostics about the session itself (stderr); nil discards
}

// document is one open file.
type document struct {
	uri     protocol.DocumentUri
	path    string // absolute file path
	version protocol.Integer
	text    *text
	ws      *manifests.Workspace // nil outside a workspace
	rel     string               // workspace-relative path, or the path outside one
	report  manifests.Report
	// schema is the schema of the last text that had one, so hover and completion keep
	// working while the text is broken mid-edit.
	schema string
}

// session is one client's connection.
type session struct {
	out       *writer
	log       io.Writer
	version   string
	handler   protocol.Handler
	docs      map[protocol.DocumentUri]*document
	dirty     map[protocol.DocumentUri]bool
	wsCache   map[string]*manifests.Workspace
	shutdown  bool
	exited    bool
	exitClean bool
	// watchFiles: the client lets servers register file watchers (VS Code does; Neovim 0.7
	// does not, and sends no file events).
	watchFiles bool
}

// ErrExitWithoutShutdown is Serve's answer to an exit notification before shutdown (LSP asks for
// exit code 1 then).
var ErrExitWithoutShutdown = errors.New("lsp: exit without shutdown")

// Serve speaks LSP on in and out until the client sends exit or closes in. Messages are handled
// one at a time, in order; the diagnostics of changed documents are published once no further
// message is waiting, so a burst of keystrokes costs one validation.
func Serve(ctx context.Context, in io.Reader, out io.Writer, o Options) error {
	s := &session{out: &writer{out: out}, log: o.Log, version: o.Version, docs: map[protocol.DocumentUri]*document{},
		dirty: map[protocol.DocumentUri]bool{}, wsCache: map[string]*manifests.Workspace{}}
	if s.log == nil {
		s.log = io.Discard
	}
	s.handler = s.protocolHandler()
	frames := make(chan frame, 256)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(in, 64<<10)
		for {
			f, err := readFrame(r, MaxMessageBytes)
			if err != nil {
				readErr <- err
				close(frames)
				return
			}
			frames <- f
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-frames:
			if !ok {
				err := <-readErr
				if errors.Is(err, io.EOF) {
					return nil
				}
				fmt.Fprintln(s.log, "ospbox lsp:", err)
				return err
			}
			s.handleFrame(f)
			if s.exited {
				if !s.exitClean {
					return ErrExitWithoutShutdown
				}
				return nil
			}
			if len(frames) == 0 {
				s.publishDirty()
			}
		}
	}
}

func (s *session) handleFrame(f frame) {
	if f.body == nil {
		s.out.fail(nil, codeInvalidRequest, fmt.Sprintf("a message of %d bytes is over ospbox's limit of %d; it was skipped", f.skipped, MaxMessageBytes))
		return
	}
	var m message
	if err := json.Unmarshal(f.body, &m); err != nil {
		s.out.fail(nil, codeParseError, "the message is not valid JSON: "+err.Error())
		return
	}
	if m.Method == "" {
		if len(m.ID) == 0 {
			s.out.fail(nil, codeInvalidRequest, "a message needs a method (or an id, for a response)")
		}
		return // a response to a request of ours: ospbox sends none that wait
	}
	isRequest := len(m.ID) > 0 && string(m.ID) != "null"
	result, code, err := s.dispatch(m)
	switch {
	case m.Method == protocol.MethodExit:
		s.exited, s.exitClean = true, s.shutdown
	case !isRequest:
		if err != nil {
			fmt.Fprintf(s.log, "ospbox lsp: %s: %v\n", m.Method, err)
		}
	case err != nil:
		s.out.fail(m.ID, code, err.Error())
	default:
		s.out.reply(m.ID, result)
	}
}

// dispatch hands one message to glsp's dispatcher, turning a panic in ospbox's handlers into an
// error answer: one bad document must not end the user's session.
func (s *session) dispatch(m message) (result any, code int, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(s.log, "ospbox lsp: panic in %s: %v\n%s", m.Method, p, debug.Stack())
			result, code, err = nil, codeInternalError, fmt.Errorf("ospbox failed on %s: %v", m.Method, p)
		}
	}()
	params := m.Params
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	ctx := &glsp.Context{Method: m.Method, Params: params, Notify: s.out.notify,
		Call: func(string, any, any) {}}
	r, validMethod, validParams, err := s.handler.Handle(ctx)
	switch {
	case !validMethod && strings.HasPrefix(m.Method, "$/"):
		return nil, 0, nil // optional notifications may be ignored
	case !validMethod:
		return nil, codeMethodNotFound, fmt.Errorf("ospbox lsp does not handle %s", m.Method)
	case !validParams:
		return nil, codeInvalidParams, fmt.Errorf("bad params for %s: %v", m.Method, err)
	case err != nil && !s.handler.IsInitialized() && m.Method != protocol.MethodInitialize:
		return nil, codeServerNotInitialized, err
	case err != nil:
		return nil, codeInternalError, err
	}
	return r, 0, nil
}

func (s *session) protocolHandler() protocol.Handler {
	return protocol.Handler{
		Initialize:  s.initialize,
		Initialized: s.initialized,
		Shutdown:    func(*glsp.Context) error { s.shutdown = true; return nil },
		Exit:        func(*glsp.Context) error { return nil },
		SetTrace:    func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		CancelRequest: func(*glsp.Context, *protocol.CancelParams) error {
			return nil // requests are answered in order and quickly; nothing to cancel
		},
		TextDocumentDidOpen:            s.didOpen,
		TextDocumentDidChange:          s.didChange,
		TextDocumentDidClose:           s.didClose,
		TextDocumentDidSave:            func(*glsp.Context, *protocol.DidSaveTextDocumentParams) error { return nil },
		WorkspaceDidChangeWatchedFiles: s.didChangeWatchedFiles,
		WorkspaceDidChangeConfiguration: func(*glsp.Context, *protocol.DidChangeConfigurationParams) error {
			return nil // ospbox's settings live in ospbox.json, watched as a file
		},
		TextDocumentHover:      s.hover,
		TextDocumentCompletion: s.completion,
		TextDocumentCodeAction: s.codeAction,
	}
}

func (s *session) initialize(_ *glsp.Context, p *protocol.InitializeParams) (any, error) {
	if w := p.Capabilities.Workspace; w != nil && w.DidChangeWatchedFiles != nil && w.DidChangeWatchedFiles.DynamicRegistration != nil {
		s.watchFiles = *w.DidChangeWatchedFiles.DynamicRegistration
	}
	sync := protocol.TextDocumentSyncKindIncremental
	yes := true
	version := s.version
	return protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync:   protocol.TextDocumentSyncOptions{OpenClose: &yes, Change: &sync},
			HoverProvider:      true,
			CompletionProvider: &protocol.CompletionOptions{TriggerCharacters: []string{`"`, ":"}},
			CodeActionProvider: protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.CodeActionKindQuickFix}},
		},
		ServerInfo: &protocol.InitializeResultServerInfo{Name: "ospbox", Version: &version},
	}, nil
}

// initialized asks the client to report changes to the files other files' findings depend on:
// every JSON file (BSP command schemas, the OAP manifest, ospbox.json) and the signing keys.
func (s *session) initialized(*glsp.Context, *protocol.InitializedParams) error {
	if !s.watchFiles {
		return nil
	}
	s.out.send(request{JSONRPC: "2.0", ID: json.RawMessage(`"ospbox-watch"`), Method: protocol.ServerClientRegisterCapability,
		Params: protocol.RegistrationParams{Registrations: []protocol.Registration{{
			ID: "ospbox-watched-files", Method: protocol.MethodWorkspaceDidChangeWatchedFiles,
			RegisterOptions: protocol.DidChangeWatchedFilesRegistrationOptions{Watchers: []protocol.FileSystemWatcher{
				{GlobPattern: "**/*.json"}, {GlobPattern: "**/.ospbox/keys/*.jwk"}}},
		}}}})
	return nil
}

func (s *session) didOpen(_ *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	d := &document{uri: p.TextDocument.URI, path: path, version: p.TextDocument.Version, text: newText([]byte(p.TextDocument.Text))}
	d.ws, d.rel = s.workspaceOf(path)
	s.docs[d.uri] = d
	s.dirty[d.uri] = true
	return nil
}

func (s *session) didChange(_ *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		return fmt.Errorf("%s is not open", p.TextDocument.URI)
	}
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case protocol.TextDocumentContentChangeEventWhole:
			d.text = newText([]byte(c.Text))
		case protocol.TextDocumentContentChangeEvent:
			if c.Range == nil {
				d.text = newText([]byte(c.Text))
				continue
			}
			start, end := d.text.offset(c.Range.Start), d.text.offset(c.Range.End)
			if end < start {
				start, end = end, start
			}
			src := make([]byte, 0, len(d.text.src)-(end-start)+len(c.Text))
			src = append(append(append(src, d.text.src[:start]...), c.Text...), d.text.src[end:]...)
			d.text = newText(src)
		}
	}
	d.version = p.TextDocument.Version
	s.dirty[d.uri] = true
	return nil
}

func (s *session) didClose(_ *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	delete(s.docs, p.TextDocument.URI)
	delete(s.dirty, p.TextDocument.URI)
	s.out.notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{URI: p.TextDocument.URI, Diagnostics: []protocol.Diagnostic{}})
	return nil
}

// didChangeWatchedFiles: a file on disk changed (a BSP command's schema, ospbox.json, a key), so
// every open document's cross-file findings may have; all are checked again.
func (s *session) didChangeWatchedFiles(_ *glsp.Context, _ *protocol.DidChangeWatchedFilesParams) error {
	s.wsCache = map[string]*manifests.Workspace{}
	for uri, d := range s.docs {
		d.ws, d.rel = s.workspaceOf(d.path)
		s.dirty[uri] = true
	}
	return nil
}

// workspaceOf finds the workspace of a file from the nearest ospbox.json above it.
func (s *session) workspaceOf(path string) (*manifests.Workspace, string) {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, manifests.ConfigFile)); err == nil {
			ws, ok := s.wsCache[dir]
			if !ok {
				var err error
				if ws, err = manifests.OpenWorkspace(dir); err != nil {
					// A broken ospbox.json is itself a finding (on that file); the others are
					// still checked against the workspace's files with default settings.
					ws = &manifests.Workspace{Dir: dir}
				}
				s.wsCache[dir] = ws
			}
			rel, _ := filepath.Rel(dir, path)
			return ws, filepath.ToSlash(rel)
		}
		if filepath.Dir(dir) == dir {
			return nil, path
		}
	}
}

func (s *session) publishDirty() {
	for uri := range s.dirty {
		if d := s.docs[uri]; d != nil {
			s.validate(d)
			version := protocol.UInteger(max(d.version, 0))
			s.out.notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{
				URI: uri, Version: &version, Diagnostics: s.diagnostics(d)})
		}
		delete(s.dirty, uri)
	}
}

// validate checks a document's current text as `ospbox validate` and the running sandbox do.
func (s *session) validate(d *document) {
	switch {
	case d.ws != nil && manifests.IsWorkspaceFile(d.rel):
		d.report = d.ws.ValidateText(d.rel, d.text.src)
	case looksLikeManifest(d.text.src):
		d.report = manifests.ValidateData(filepath.ToSlash(d.path), "", d.text.src)
	default:
		d.report = manifests.Report{} // some other JSON file: not ospbox's to judge
	}
	if sc := manifests.SchemaOf(d.report); sc != "" {
		d.schema = sc
	} else if d.report.Protocol == "settings" {
		d.schema = "settings"
	}
}

// looksLikeManifest tells a manifest outside a workspace from any other JSON file an editor
// opens: a BSP/BEST or OAP root key, or the members every OSP dialect starts with.
func looksLikeManifest(src []byte) bool {
	if p := manifests.ProtocolOf(src); p != "osp" {
		return true
	}
	doc, err := jsondoc.Parse(src)
	if err != nil || doc.Root.Kind != jsondoc.Object {
		return false
	}
	for _, k := range []string{"osp_version", "offerings", "manifest_id", "provider_id"} {
		if doc.Root.Get(k) != nil {
			return true
		}
	}
	return false
}

// diagnostics turns the document's report into LSP diagnostics.
func (s *session) diagnostics(d *document) []protocol.Diagnostic {
	out := []protocol.Diagnostic{}
	others := map[string]*text{}
	source := "ospbox"
	for _, f := range append(append([]manifests.Diagnostic{}, d.report.Errors...), d.report.Warnings...) {
		sev := protocol.DiagnosticSeverityWarning
		switch f.Severity {
		case manifests.SeverityError:
			sev = protocol.DiagnosticSeverityError
		case manifests.SeverityInfo:
			sev = protocol.DiagnosticSeverityInformation
		}
		diag := protocol.Diagnostic{Range: findingRange(d.text, f), Severity: &sev, Source: &source,
			Code: &protocol.IntegerOrString{Value: f.Rule}, Message: f.Message}
		for _, rel := range f.Related {
			diag.RelatedInformation = append(diag.RelatedInformation, s.relatedLocation(d, rel, others))
		}
		out = append(out, diag)
	}
	return out
}

func findingRange(t *text, f manifests.Diagnostic) protocol.Range {
	start := t.fromValidator(f.Line, f.Column)
	end := start
	if f.EndLine > 0 {
		end = t.fromValidator(f.EndLine, f.EndColumn)
	}
	return protocol.Range{Start: start, End: end}
}

// relatedLocation places a related finding in its file, whose text comes from the editor when
// it is open there and from disk otherwise.
func (s *session) relatedLocation(d *document, l manifests.Location, cache map[string]*text) protocol.DiagnosticRelatedInformation {
	path := l.File
	if d.ws != nil && !filepath.IsAbs(path) {
		path = filepath.Join(d.ws.Dir, filepath.FromSlash(l.File))
	}
	uri := pathURI(path)
	t := cache[path]
	if t == nil {
		for _, od := range s.docs {
			if od.path == path {
				t, uri = od.text, od.uri
			}
		}
		if t == nil {
			data, _ := os.ReadFile(path) // a file that is gone has its finding at its start
			t = newText(data)
		}
		cache[path] = t
	}
	pos := t.fromValidator(l.Line, l.Column)
	msg := l.Message
	if msg == "" {
		msg = l.Pointer
	}
	return protocol.DiagnosticRelatedInformation{Location: protocol.Location{URI: uri, Range: protocol.Range{Start: pos, End: pos}}, Message: msg}
}

// uriPath is the file path of a file: URI.
func uriPath(uri protocol.DocumentUri) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("ospbox lsp reads file: URIs only, not %q", uri)
	}
	return filepath.FromSlash(u.Path), nil
}

// pathURI is the file: URI of an absolute path.
func pathURI(path string) protocol.DocumentUri {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
