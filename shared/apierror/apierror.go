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
	// Push notifications (issue 14; docs/push.md)
	UnknownPlatform   Code = "unknown_platform"    // 400
	InvalidPushToken  Code = "invalid_push_token"  // 400
	DeviceLimit       Code = "device_limit"        // 400
	TooManyRecipients Code = "too_many_recipients" // 400
	// NotificationTooLarge: a broadcast's fields together exceed what one
	// push carries (push.MaxBroadcastPayload).
	NotificationTooLarge Code = "notification_too_large" // 400
	// Who may do what (issue 17; docs/permissions.md).
	InvalidScope  Code = "invalid_scope"  // 400
	ScopeRequired Code = "scope_required" // 403
	Banned        Code = "banned"         // 403
	// 400: the word filter's reject action (docs/permissions.md).
	ContentRejected Code = "content_rejected"
	// 400: a message has as many distinct reactions, or the caller as many
	// reactions on it, as allowed (issue 16).
	ReactionLimit Code = "reaction_limit"
	// 400: a conversation has as many pinned messages as allowed (issue 16).
	PinLimit Code = "pin_limit"
	// The pre-send hook (docs/events.md, "Pre-send hook"): 403 it
	// refused the message (its reason is the message), 503 it did not
	// answer and its policy is reject.
	RejectedByHook  Code = "rejected_by_hook"
	HookUnavailable Code = "hook_unavailable"
	// Webhooks (issue 15; docs/events.md, "Webhooks"): all 400.
	InvalidWebhookURL  Code = "invalid_webhook_url"
	UnknownEventType   Code = "unknown_event_type"
	InvalidSecret      Code = "invalid_secret"
	WebhookLimit       Code = "webhook_limit"
	InvalidReplayRange Code = "invalid_replay_range"
	// 403: the group is muted as a whole and the sender is neither its
	// owner nor one of its admins (issue 17; docs/permissions.md).
	GroupMuted Code = "group_muted"
	// Attachments (issue 16, docs/errors.md): an upload request over the
	// size limit or of a type not allowed; a message naming an upload that
	// is not the sender's in this conversation, not uploaded yet, not what
	// was declared, or attached to another message already.
	UploadTooLarge        Code = "upload_too_large"
	ContentTypeNotAllowed Code = "content_type_not_allowed"
	UploadNotFound        Code = "upload_not_found"
	UploadIncomplete      Code = "upload_incomplete"
	AttachmentMismatch    Code = "attachment_mismatch"
	UploadAlreadyAttached Code = "upload_already_attached"
	UploadExpired         Code = "upload_expired"
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
	// push (issue 14)
	UnknownPlatform: 400, InvalidPushToken: 400, DeviceLimit: 400, TooManyRecipients: 400, NotificationTooLarge: 400,
	InvalidScope: 400, ScopeRequired: 403, Banned: 403, ContentRejected: 400,
	// rich messages (issue 16)
	ReactionLimit:  400,
	PinLimit:       400,
	RejectedByHook: 403, HookUnavailable: 503,
	// webhooks (issue 15)
	InvalidWebhookURL: 400, UnknownEventType: 400, InvalidSecret: 400, WebhookLimit: 400, InvalidReplayRange: 400,
	GroupMuted:     403,
	UploadTooLarge: 400, ContentTypeNotAllowed: 400, UploadNotFound: 400, UploadIncomplete: 409,
	AttachmentMismatch: 400, UploadAlreadyAttached: 409, UploadExpired: 400,
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
