// Package check is a conformance checker for live providers: it discovers what a server speaks
// and runs checks against it, each with an id, a level, a one-line description, the request it
// made and, when it fails, the evidence. It is an ordinary HTTP client of the server under test.
//
// It may import the host (mock), the protocol packages, the kernel and manifests.
package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Level is how binding a check is (RFC 2119).
type Level string

// The levels, strongest first.
const (
	Must   Level = "MUST"
	Should Level = "SHOULD"
	May    Level = "MAY"
)

// Status is a check's outcome.
type Status string

// The outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is one check's outcome.
type Result struct {
	ID          string        `json:"id"`
	Level       Level         `json:"level"`
	Description string        `json:"description"`
	Status      Status        `json:"status"`
	Request     string        `json:"request,omitempty"`  // the request that decided it, as "METHOD URL"
	Evidence    string        `json:"evidence,omitempty"` // why it failed or was skipped
	Duration    time.Duration `json:"duration_ns"`
}

// Options configures a run.
type Options struct {
	Target         string // the server's base URL
	Protocol       string // osp, bsp, best, oap or auto
	Level          string // must, should or all: the levels to run
	NonDestructive bool   // skip checks that create or change resources
	APIKey         string
	Tenant         string
	Timeout        time.Duration // per request
	Client         *http.Client
	// InPlace checks an ospbox's root as it is, instead of in a throwaway namespace.
	InPlace bool
	// Orchestrator is the orchestrator the orchestrator checks use (its base URL); "" is the
	// target's own ospbox when the target is one, else the default ospbox address.
	Orchestrator string
}

// Report is a whole run.
type Report struct {
	Target   string   `json:"target"`
	Protocol string   `json:"protocol"`
	Results  []Result `json:"results"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Skipped  int      `json:"skipped"`
	// MustFailed counts failed MUST checks: the exit status is 1 when it is not zero.
	MustFailed int `json:"must_failed"`
}

// ErrUnreachable is returned when the target cannot be reached at all (exit status 2).
var ErrUnreachable = errors.New("the target cannot be reached")

// definition is one check of a protocol.
type definition struct {
	id          string
	level       Level
	description string
	destructive bool
	run         func(ctx context.Context, s *session) outcome
}

// outcome is what a check's run found.
type outcome struct {
	status   Status
	request  string
	evidence string
}

func pass(req string) outcome { return outcome{status: Pass, request: req} }
func fail(req, evidence string) outcome {
	return outcome{status: Fail, request: req, evidence: evidence}
}
func skip(evidence string) outcome { return outcome{status: Skip, evidence: evidence} }
func check(ok bool, req, evidence string) outcome {
	if ok {
		return pass(req)
	}
	return fail(req, evidence)
}

// Run checks opts.Target and reports each result to progress as it is decided.
func Run(ctx context.Context, opts Options, progress func(Result)) (*Report, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if progress == nil {
		progress = func(Result) {}
	}
	opts.Target = strings.TrimRight(opts.Target, "/")
	// Against an ospbox, the checks run in a throwaway namespace (spec/control.md §1), so they
	// never touch the user's state, quotas or clock.
	if ns, cleanup := throwawayNamespace(ctx, opts); ns != "" && !opts.InPlace {
		defer cleanup()
		opts.Target = ns
	}
	protocols := []string{opts.Protocol}
	if p := strings.ToLower(opts.Protocol); p == "" || p == "auto" {
		found, err := discover(ctx, opts)
		if err != nil {
			return nil, err
		}
		protocols = found
	}
	rep := &Report{Target: opts.Target}
	for i, p := range protocols {
		o := opts
		o.Protocol = p
		if len(protocols) > 1 && !keyFor(p, opts.APIKey) {
			o.APIKey = "" // checking several protocols, the key goes to the one whose form it has
		}
		s := &session{opts: o, vars: map[string]any{}}
		protocol, err := s.detect(ctx)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			rep.Protocol += "+"
		}
		rep.Protocol += protocol
		rep.run(ctx, s, protocol, progress)
	}
	return rep, nil
}

// discover lists the protocols the target serves a discovery document for (200), in the order
// OSP, BSP or BEST (the generation's own path; a 0.9 legacy alias is not checked twice), OAP.
func discover(ctx context.Context, opts Options) ([]string, error) {
	s := &session{opts: opts, vars: map[string]any{}}
	var found []string
	reached := false
	for _, p := range []string{"osp", "best", "bsp", "oap"} {
		r, err := s.do(ctx, "GET", opts.Target+discoveryPaths[p], nil)
		if err != nil {
			continue
		}
		reached = true
		if r.status != http.StatusOK || p == "bsp" && slices.Contains(found, "best") {
			continue
		}
		found = append(found, p)
	}
	switch {
	case !reached:
		return nil, fmt.Errorf("%w: %s", ErrUnreachable, opts.Target)
	case len(found) == 0:
		return nil, errors.New("no discovery document at " + opts.Target + " (tried /.well-known/osp.json, /bsp, /best, /oap)")
	}
	slices.SortStableFunc(found, func(a, b string) int { return order(a) - order(b) })
	return found, nil
}

// keyFor reports whether an API key of this form belongs to protocol: OSP's API keys are
// osp_ak_…, every other key is a BSP/BEST credential (OAP declares none).
func keyFor(protocol, key string) bool {
	if strings.HasPrefix(key, "osp_ak_") {
		return protocol == "osp"
	}
	return protocol == "bsp" || protocol == "best"
}

func order(protocol string) int {
	return map[string]int{"osp": 0, "bsp": 1, "best": 1, "oap": 2}[protocol]
}

// run runs a protocol's checks in s and adds their results.
func (rep *Report) run(ctx context.Context, s *session, protocol string, progress func(Result)) {
	opts := s.opts
	for _, d := range definitionsFor(protocol) {
		if !levelWanted(opts.Level, d.level) {
			continue
		}
		start := time.Now()
		var o outcome
		if d.destructive && opts.NonDestructive {
			o = skip("--non-destructive: this check creates or changes resources")
		} else {
			o = d.run(ctx, s)
		}
		r := Result{ID: d.id, Level: d.level, Description: d.description, Status: o.status, Request: o.request, Evidence: o.evidence, Duration: time.Since(start)}
		switch r.Status {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
			if r.Level == Must {
				rep.MustFailed++
			}
		default:
			rep.Skipped++
		}
		rep.Results = append(rep.Results, r)
		progress(r)
	}
}

func levelWanted(filter string, l Level) bool {
	switch strings.ToLower(filter) {
	case "must":
		return l == Must
	case "should":
		return l == Must || l == Should
	}
	return true
}

func definitionsFor(protocol string) []definition {
	switch protocol {
	case "osp":
		return ospChecks
	case "oap":
		return oapChecks
	case "bsp", "best":
		return bspChecks
	case "orchestrator":
		return orchestratorChecks
	}
	return nil
}
