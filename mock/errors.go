package mock

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/ospbox/ospbox/mock/kernel"
)

// OSPError is an error a client sees in OSP's envelope (spec/osp.md §4.3). Handlers return it;
// writeOSPError is the one place it becomes a response.
type OSPError struct {
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

func (e *OSPError) Error() string { return e.Code + ": " + e.Message }

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
	"not_found":               {404, false},
	"resource_not_found":      {404, false},
	"method_not_allowed":      {405, false},
	"version_not_supported":   {406, false},
	"payload_too_large":       {413, false},
	"provider_error":          {500, true},
	"not_implemented":         {501, false},
	"provider_unavailable":    {503, true},
}

// newOSPError builds an error whose status comes from the code table.
func newOSPError(code, msg string) *OSPError {
	e := &OSPError{Status: ospErrorStatus[code].status, Code: code, Message: msg}
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests {
		e.RetryAfter = 5
	}
	return e
}

// asOSPError is err as the protocol error a handler returned from inside a transaction, or, for
// any other failure, a provider_error carrying its text.
func asOSPError(err error) *OSPError {
	var oe *OSPError
	if errors.As(err, &oe) {
		return oe
	}
	return newOSPError("provider_error", err.Error())
}

func writeOSPError(w http.ResponseWriter, e *OSPError) {
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
