package osp

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/storage"
)

// Error is an error a client sees in OSP's envelope (spec/osp.md §4.3). Handlers return it;
// WriteError is the one place it becomes a response.
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter int            // seconds; 0 for none
	Extra      map[string]any // members beside code/message at the error level (§4.2's 406)
	// Retryable overrides the code table where one code is retryable in one case only (a
	// soft-block budget).
	Retryable *bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ospErrorStatus maps each code ospbox emits to its status and retryability (spec/osp.md §20.1).
var ospErrorStatus = map[string]struct {
	status    int
	retryable bool
}{
	"invalid_request":         {400, false},
	"invalid_offering":        {400, false},
	"invalid_tier":            {400, false},
	"invalid_region":          {400, false},
	"invalid_configuration":   {400, false},
	"sandbox_not_available":   {400, false},
	"tier_change_not_allowed": {400, false},
	"unauthorized":            {401, false},
	"credentials_rotated":     {401, false},
	"payment_required":        {402, true},
	"payment_declined":        {402, true},
	"payment_failed":          {402, true},
	"insufficient_funds":      {402, true},
	"forbidden":               {403, false},
	"conflict":                {409, false},
	"nonce_reused":            {409, true},
	"deprecated_offering":     {410, false},
	"rate_limit_exceeded":     {429, true},
	"quota_exceeded":          {429, false},
	"not_found":               {404, false},
	"resource_not_found":      {404, false},
	"method_not_allowed":      {405, false},
	"version_not_supported":   {406, false},
	"payload_too_large":       {413, false},
	"provider_error":          {500, true},
	"not_implemented":         {501, false},
	"provider_unavailable":    {503, true},
}

// NewError builds an error whose status comes from the code table.
func NewError(code, msg string) *Error {
	e := &Error{Status: ospErrorStatus[code].status, Code: code, Message: msg}
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests {
		e.RetryAfter = 5
	}
	return e
}

// asError is err as the protocol error a handler returned from inside a transaction; a busy
// database (another process holding the state file) as a retryable 503 provider_unavailable,
// never a 500; any other failure as a provider_error carrying its text.
func asError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	if storage.IsBusy(err) {
		e := NewError("provider_unavailable", "the sandbox state is busy (another process holds the state file); retry shortly")
		e.RetryAfter = 1
		return e
	}
	return NewError("provider_error", err.Error())
}

// WriteError writes e in OSP's error envelope with its status (and Retry-After when it has one).
func WriteError(w http.ResponseWriter, e *Error) {
	body := map[string]any{
		"code":      e.Code,
		"message":   e.Message,
		"retryable": ospErrorStatus[e.Code].retryable || faultStatus[e.Code] >= 500,
	}
	if e.Retryable != nil {
		body["retryable"] = *e.Retryable
	}
	for k, v := range e.Extra {
		body[k] = v
	}
	if e.Details != nil {
		body["details"] = e.Details
	}
	if e.RetryAfter > 0 {
		body["retry_after_seconds"] = e.RetryAfter
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	kernel.WriteJSON(w, e.Status, map[string]any{"error": body})
}

// RefuseBrowser guards ospbox's state-changing API: a browser on another origin must never move
// the clock or change state (CSRF), while agents and scripts, which send no Origin, may.
func RefuseBrowser(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			WriteError(w, &Error{Status: 403, Code: "forbidden", Message: "ospbox's API refuses cross-origin browser requests"})
			return true
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		WriteError(w, &Error{Status: 403, Code: "forbidden", Message: "ospbox's API refuses cross-site browser requests"})
		return true
	}
	return false
}
