package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/manifests"
)

// session is one run's state: the options, what discovery found, and values one check leaves
// for the next (the provisioned resource, its token).
type session struct {
	opts     Options
	manifest []byte         // the discovery document as served
	doc      map[string]any // … decoded
	base     string         // the OSP API base URL (osp_base_url, else <target>/osp/v1)
	vars     map[string]any
	// auth presents the credential the way the protocol asks (BSP: as its manifest declares);
	// nil sends --api-key as a Bearer token.
	auth func(*http.Request)
	bsp  *bspTarget
}

// response is one exchange, read in full.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
	req    string // "METHOD URL", for the report
}

// errorCode is the code of an error envelope, "" without one.
func (r *response) errorCode() string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// brief describes a response for the evidence of a failure.
func (r *response) brief() string {
	body := strings.TrimSpace(string(r.body))
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d %s", r.status, body)
}

// do sends one request (JSON body unless raw) with the configured API key and timeout.
func (s *session) do(ctx context.Context, method, url string, body any, header ...string) (*response, error) {
	return s.send(ctx, method, url, body, true, header...)
}

// anon sends one request without any credential.
func (s *session) anon(ctx context.Context, method, url string, body any) (*response, error) {
	return s.send(ctx, method, url, body, false)
}

// with is the session presenting the credential as scheme asks.
func (s *session) with(scheme manifests.BSPScheme) *session {
	c := *s
	c.auth = s.credential(scheme)
	return &c
}

// head makes a GET and reads only the status and headers (for streams that never end).
func (s *session) head(ctx context.Context, url string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ospbox-check/1")
	req.Header.Set("Accept", "text/event-stream")
	s.authorize(req)
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return &response{status: resp.StatusCode, header: resp.Header, req: "GET " + url}, nil
}

// authorize adds the credential to a request.
func (s *session) authorize(req *http.Request) {
	switch {
	case s.auth != nil:
		s.auth(req)
	case s.opts.APIKey != "" && s.bsp == nil:
		req.Header.Set("Authorization", "Bearer "+s.opts.APIKey)
	}
}

func (s *session) send(ctx context.Context, method, url string, body any, withCredential bool, header ...string) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ospbox-check/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if withCredential {
		s.authorize(req)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: raw, req: method + " " + url}
	json.Unmarshal(raw, &r.json)
	return r, nil
}

// discoveryPaths is where each protocol's discovery document is.
var discoveryPaths = map[string]string{"osp": "/.well-known/osp.json", "bsp": "/.well-known/bsp", "best": "/.well-known/best", "oap": "/.well-known/oap"}

// detect finds the protocol to check (Options.Protocol, or the first discovery document the
// target serves) and reads the OSP discovery document.
func (s *session) detect(ctx context.Context) (string, error) {
	want := strings.ToLower(s.opts.Protocol)
	if want == "" {
		want = "auto"
	}
	if want == "orchestrator" {
		// The provider side of the orchestrator profile: an OSP provider, checked against an
		// orchestrator (this ospbox's, or --orchestrator).
		s.opts.Protocol = "osp"
		if _, err := s.detect(ctx); err != nil {
			return "", err
		}
		return "orchestrator", nil
	}
	paths := discoveryPaths
	order := []string{"osp", "bsp", "best", "oap"}
	if want != "auto" {
		if _, ok := paths[want]; !ok {
			return "", fmt.Errorf("unknown protocol %q: osp, bsp, best, oap, orchestrator or auto", want)
		}
		order = []string{want}
	}
	var reached bool
	for _, p := range order {
		r, err := s.do(ctx, "GET", s.opts.Target+paths[p], nil)
		if err != nil {
			continue
		}
		reached = true
		if r.status != http.StatusOK && want == "auto" {
			continue
		}
		s.manifest, s.doc = r.body, r.json
		if p == "bsp" || p == "best" {
			return p, s.detectBSP(ctx, paths[p])
		}
		if p == "oap" {
			s.base = s.opts.Target + "/oap"
			inner, _ := s.doc["oap"].(map[string]any)
			services, _ := inner["services"].(map[string]any)
			agents, _ := services["io.oap.agents"].(map[string]any)
			rest, _ := agents["rest"].(map[string]any)
			if e, ok := rest["endpoint"].(string); ok && strings.HasPrefix(e, "http") {
				s.base = strings.TrimRight(e, "/")
			}
			return p, nil
		}
		s.base = s.opts.Target + "/osp/v1"
		if b, ok := s.doc["osp_base_url"].(string); ok && strings.HasPrefix(b, "http") {
			s.base = strings.TrimRight(b, "/")
		}
		return p, nil
	}
	if !reached {
		return "", fmt.Errorf("%w: %s", ErrUnreachable, s.opts.Target)
	}
	return "", errors.New("no discovery document at " + s.opts.Target + " (tried /.well-known/osp.json, /bsp, /best, /oap)")
}
