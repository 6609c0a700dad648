package push

import (
	"context"
	"errors"
)

// Alert is what one device is shown, platform-neutral; the senders encode
// it for APNs, FCM and Web Push (docs/push.md, "Payloads").
type Alert struct {
	Title string `json:"title,omitempty"` // the sender (DM) or the group; "" with preview off
	Body  string `json:"body"`            // the text preview, or "New message" with preview off
	// Badge is the user's total unread count (-1: unknown, not set).
	Badge int64 `json:"badge"`
	// ThreadID groups a conversation's notifications (APNs thread-id,
	// Android tag group, Web Push tag).
	ThreadID string `json:"thread_id,omitempty"`
	// CollapseID identifies this message's notification, so a later
	// recall or edit can replace it (APNs apns-collapse-id, FCM
	// collapse_key, Web Push Topic).
	CollapseID string `json:"collapse_id,omitempty"`
	// Data is handed to the app: conversation_id, seq, message_id, type.
	Data map[string]string `json:"data,omitempty"`
}

// Sent is what a sender reports of a push that went out.
type Sent struct {
	// EndpointARN is set when the sender created the device's SNS
	// endpoint on this push: the store keeps it for the next.
	EndpointARN string
}

// Sender delivers an alert to one device of its platform(s).
type Sender interface {
	Send(ctx context.Context, d Device, a Alert) (Sent, error)
}

// ErrDeviceGone means the platform will never deliver to this token again
// (SNS disabled the endpoint, the browser's push service answered 404 or
// 410): the device is deleted.
var ErrDeviceGone = errors.New("push: device gone")

// ErrRejected means the platform refused this push for good (payload too
// large, bad credentials): sending it again cannot succeed, but the device
// stays.
var ErrRejected = errors.New("push: push rejected")

// Retryable reports whether a failed push may succeed later.
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, ErrDeviceGone) && !errors.Is(err, ErrRejected) && !errors.Is(err, context.Canceled)
}

// Unread counts a user's unread messages over all conversations (the badge).
type Unread interface {
	TotalUnread(ctx context.Context, userID string) (int64, error)
}
