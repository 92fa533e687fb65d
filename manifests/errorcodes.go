package manifests

// The error codes each protocol defines, with their HTTP status: what ospbox answers with, what
// a fault injection (the X-Ospbox-Fault header, a scenario rule) may name, and what the
// validator checks a scenario file's codes against.

// ErrorCode is one of OSP's error codes: its status and whether a client may retry.
type ErrorCode struct {
	Status    int
	Retryable bool
}

// ospErrorCodes are the codes ospbox emits (spec/osp.md §20.1).
var ospErrorCodes = map[string]ErrorCode{
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

// ospFaultCodes are the codes reserved for fault injection (spec/osp.md §20.1).
var ospFaultCodes = map[string]int{
	"approval_required":         403,
	"delegation_unauthorized":   403,
	"delegation_depth_exceeded": 400,
	"migration_in_progress":     409,
	"provisioning_failed":       500,
	"offering_unavailable":      503,
	"region_unavailable":        503,
	"capacity_exhausted":        503,
	"quota_exceeded":            429,
}

// ospCodeSynonyms maps other sources' error codes to the ones ospbox emits.
var ospCodeSynonyms = map[string]string{
	"encryption_failed":       "invalid_request",
	"offering_not_found":      "invalid_offering",
	"tier_not_found":          "invalid_tier",
	"invalid_config":          "invalid_configuration",
	"identity_required":       "unauthorized",
	"authentication_failed":   "unauthorized",
	"nhi_federation_failed":   "identity_verification_failed",
	"signature_invalid":       "identity_verification_failed",
	"insufficient_trust":      "trust_tier_insufficient",
	"duplicate_nonce":         "nonce_reused",
	"resource_already_exists": "conflict",
	"rate_limited":            "rate_limit_exceeded",
	"insufficient_quota":      "quota_exceeded",
}

// bspErrorCodes are BSP/BEST's codes (spec/bsp.md §13).
var bspErrorCodes = map[string]int{
	"INVALID_JSON": 400, "INVALID_ENVELOPE": 400, "VALIDATION_FAILED": 400, "INVALID_QUERY_PARAMETERS": 400,
	"INVALID_REQUEST": 400, "WEBHOOK_URL_REJECTED": 400, "UNAUTHORIZED": 401, "COMMAND_NOT_PERMITTED": 403,
	"NOT_FOUND": 404, "SCHEMA_NOT_FOUND": 404, "TENANT_NOT_FOUND": 404, "SERVICE_NOT_FOUND": 404,
	"SUBSCRIPTION_NOT_FOUND": 404, "METHOD_NOT_ALLOWED": 405, "DUPLICATE_COMMAND_ID": 409,
	"DUPLICATE_SUBSCRIPTION": 409, "PAYLOAD_TOO_LARGE": 413, "UNKNOWN_COMMAND_TYPE": 422,
	"DATASCHEMA_MISMATCH": 422, "CAPABILITY_NOT_SUPPORTED": 422, "INTERNAL": 500, "MANIFEST_UNAVAILABLE": 503,
}

// oapErrorCodes are OAP's codes (spec/oap.md §9).
var oapErrorCodes = map[string]int{
	"INVALID_JSON": 400, "INVALID_REQUEST": 400, "AGENT_NOT_FOUND": 404, "TRACE_NOT_FOUND": 404, "NOT_FOUND": 404,
	"METHOD_NOT_ALLOWED": 405, "AGENT_ALREADY_EXISTS": 409, "PAYLOAD_TOO_LARGE": 413, "INVALID_STATE": 422,
	"CAPABILITY_NOT_SUPPORTED": 422, "INTERNAL": 500, "MANIFEST_UNAVAILABLE": 503,
}

// OSPErrorStatus is the status of an OSP code ospbox emits, 0 for another.
func OSPErrorStatus(code string) int { return ospErrorCodes[code].Status }

// OSPFaultStatus is the status of a code reserved for fault injection, 0 for another.
func OSPFaultStatus(code string) int { return ospFaultCodes[code] }

// OSPRetryable reports whether a client may retry after code.
func OSPRetryable(code string) bool {
	return ospErrorCodes[code].Retryable || ospFaultCodes[code] >= 500
}

// OSPCanonicalCode is the code ospbox emits for code (another source's synonym, or code itself).
func OSPCanonicalCode(code string) string {
	if c, ok := ospCodeSynonyms[code]; ok {
		return c
	}
	return code
}

// BSPErrorStatus is the status of a BSP/BEST code, 0 for another.
func BSPErrorStatus(code string) int { return bspErrorCodes[code] }

// OAPErrorStatus is the status of an OAP code, 0 for another.
func OAPErrorStatus(code string) int { return oapErrorCodes[code] }

// KnownErrorCode reports whether code is an error code of protocol (osp, bsp, oap), or of any of
// them when protocol is "" or ospbox.
func KnownErrorCode(protocol, code string) bool {
	c := OSPCanonicalCode(code)
	osp := OSPErrorStatus(c) != 0 || OSPFaultStatus(c) != 0
	switch protocol {
	case "osp":
		return osp
	case "bsp":
		return BSPErrorStatus(code) != 0
	case "oap":
		return OAPErrorStatus(code) != 0
	}
	return osp || BSPErrorStatus(code) != 0 || OAPErrorStatus(code) != 0
}
