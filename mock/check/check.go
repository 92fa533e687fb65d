// Package check is a conformance checker for live providers: it discovers what a server speaks
// and runs checks against it, each with an id, a level, a one-line description, the request it
// made and, when it fails, the evidence. It is an ordinary HTTP client of the server under test.
//
// It may import the host (mock), the protocol packages, the kernel and manifests.
package check

import (
	"context"
	"errors"
	"net/http"
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
	s := &session{opts: opts, vars: map[string]any{}}
	protocol, err := s.detect(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Target: opts.Target, Protocol: protocol}
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
	return rep, nil
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
	}
	return nil
}
