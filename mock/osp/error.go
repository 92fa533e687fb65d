package osp

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ospbox/ospbox/manifests"
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

// NewError builds an error whose status comes from the code table.
func NewError(code, msg string) *Error {
	e := &Error{Status: manifests.OSPErrorStatus(code), Code: code, Message: msg}
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
		"retryable": manifests.OSPRetryable(e.Code),
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
