// Package apierror holds TokenIM's single error type and its catalogue of
// codes. Use cases return *Error for anything a client caused or may see;
// everything else is wrapped and becomes Internal at the edge, so no
// internal detail (SDK messages, stack traces) ever reaches a client.
//
// The pattern follows benbjohnson/wtf: one type with a code, a message safe
// for clients, and one function (HTTPStatus) that maps codes to statuses.
// docs/errors.md is the contract for every code below; a test keeps the two
// in step.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, documented, machine-readable error code.
type Code string

// The catalogue. Keep docs/errors.md in step (TestCatalogueDocumented).
const (
	// 400
	InvalidJSON        Code = "invalid_json"
	DuplicateKey       Code = "duplicate_key"
	NumberOutOfRange   Code = "number_out_of_range"
	UnknownField       Code = "unknown_field"
	ImmutableField     Code = "immutable_field"
	ValidationFailed   Code = "validation_failed"
	InvalidID          Code = "invalid_id"
	InvalidCursor      Code = "invalid_cursor"
	InvalidRequest     Code = "invalid_request"
	InvalidGrant       Code = "invalid_grant"
	UnsupportedGrant   Code = "unsupported_grant_type"
	InvalidCSV         Code = "invalid_csv"
	InvalidEncoding    Code = "invalid_encoding"
	EmptyFile          Code = "empty_file"
	MessageTooLarge    Code = "message_too_large"
	SeqOutOfRange      Code = "seq_out_of_range"
	LimitOutOfRange    Code = "limit_out_of_range"
	LastOwner          Code = "last_owner"
	MemberLimit        Code = "member_limit"
	RecallWindowClosed Code = "recall_window_closed"
	DuplicateID        Code = "duplicate_id"
	NoValidRows        Code = "no_valid_rows"
	UnknownAction      Code = "unknown_action"
	// 401
	Unauthorized  Code = "unauthorized"
	InvalidToken  Code = "invalid_token"
	InvalidClient Code = "invalid_client"
	// 403
	Forbidden Code = "forbidden"
	Muted     Code = "muted"
	// 404
	NotFound      Code = "not_found"
	RouteNotFound Code = "route_not_found"
	// 409
	Conflict             Code = "conflict"
	UserExists           Code = "user_exists"
	GroupExists          Code = "group_exists"
	IdempotencyKeyReused Code = "idempotency_key_reused"
	MessageRecalled      Code = "message_recalled"
	// 413
	PayloadTooLarge Code = "payload_too_large"
	// 415
	UnsupportedMediaType Code = "unsupported_media_type"
	// 429
	RateLimited   Code = "rate_limited"
	QuotaExceeded Code = "quota_exceeded"
	// 500 / 502 / 503 / 504
	Internal           Code = "internal"
	BadGateway         Code = "bad_gateway"
	ServiceUnavailable Code = "service_unavailable"
	NotProcessed       Code = "not_processed"
	GatewayTimeout     Code = "gateway_timeout"
)

// statuses maps every code to its HTTP status. A code missing here is a bug;
// TestEveryCodeHasStatus catches it.
var statuses = map[Code]int{
	InvalidJSON: 400, DuplicateKey: 400, NumberOutOfRange: 400, UnknownField: 400,
	ImmutableField: 400, ValidationFailed: 400, InvalidID: 400, InvalidCursor: 400,
	InvalidRequest: 400, InvalidGrant: 400, UnsupportedGrant: 400, InvalidCSV: 400,
	InvalidEncoding: 400, EmptyFile: 400, MessageTooLarge: 400, SeqOutOfRange: 400,
	LimitOutOfRange: 400, LastOwner: 400, MemberLimit: 400, RecallWindowClosed: 400,
	DuplicateID: 400, NoValidRows: 400,
	UnknownAction: 400,
	Unauthorized:  401, InvalidToken: 401, InvalidClient: 401,
	Forbidden: 403, Muted: 403,
	NotFound: 404, RouteNotFound: 404,
	Conflict: 409, UserExists: 409, GroupExists: 409, IdempotencyKeyReused: 409, MessageRecalled: 409,
	PayloadTooLarge:      413,
	UnsupportedMediaType: 415,
	RateLimited:          429, QuotaExceeded: 429,
	Internal: 500, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
	NotProcessed: 503,
}

// Codes returns every code in the catalogue (for tests and docs checks).
func Codes() []Code {
	out := make([]Code, 0, len(statuses))
	for c := range statuses {
		out = append(out, c)
	}
	return out
}

// Error is the one error type clients see.
type Error struct {
	Code    Code
	Message string
	// Details are optional structured facts safe for clients (e.g. the field
	// that failed validation, per-row results).
	Details any
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// New returns an *Error with a formatted, client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(d any) *Error {
	c := *e
	c.Details = d
	return &c
}

// CodeOf returns the code of err: the code of the first *Error in its chain,
// or Internal for anything unexpected.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// Public returns the client-safe view of err: its *Error if it has one,
// otherwise a generic Internal error that reveals nothing.
func Public(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "An internal error occurred."}
}

// HTTPStatus maps a code to its HTTP status (500 for unknown codes).
func HTTPStatus(code Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
