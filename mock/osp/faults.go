package osp

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests"
)

// injectedFault reads X-Ospbox-Fault ("<code>[; retry_after=<seconds>]") when faults.allow_header
// permits it. It returns nil for no fault, and the code alone for provisioning_failed, which an
// asynchronous provisioning applies later.
func injectedFault(r *http.Request, allowed bool) (*Error, string) {
	h := strings.TrimSpace(r.Header.Get("X-Ospbox-Fault"))
	if h == "" || !allowed {
		return nil, ""
	}
	code, params, _ := strings.Cut(h, ";")
	code = strings.TrimSpace(code)
	retryAfter := -1
	if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "retry_after" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			retryAfter = n
		}
	}
	e, ok := FaultError(code, retryAfter, "")
	if !ok {
		return InvalidRequest("X-Ospbox-Fault names no known error code: " + code), code
	}
	return e, e.Code
}

// FaultError is the error a fault injection answers with (the header, or a scenario rule): the
// code's status from spec/osp.md §20, Retry-After (retryAfter < 0: 5 s for a 503 or 429), and
// a message. ok is false for a code OSP does not have.
func FaultError(code string, retryAfter int, message string) (*Error, bool) {
	code = manifests.OSPCanonicalCode(code)
	status := manifests.OSPErrorStatus(code)
	if status == 0 {
		status = manifests.OSPFaultStatus(code)
	}
	if status == 0 {
		return nil, false
	}
	if message == "" {
		message = "injected fault (" + code + ")"
	}
	e := &Error{Status: status, Code: code, Message: message}
	switch {
	case retryAfter >= 0:
		e.RetryAfter = retryAfter
	case status == 503 || status == 429:
		e.RetryAfter = 5
	}
	if manifests.OSPFaultStatus(code) != 0 {
		yes := status >= 500 || status == 429
		e.Retryable = &yes
	}
	return e, true
}
