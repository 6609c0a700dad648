package push

import (
	"context"
	"time"
)

// DeviceStore keeps devices and who owns each token (implemented by
// dynamo.Push and memstore.Push; contract: storetest.PushStore).
type DeviceStore interface {
	// PutDevice stores d in place of the user's device of the same id and
	// makes d.UserID the token's only owner: a device of any user that held
	// the token is deleted (TakenFrom names it). A device id the user does
	// not have yet is refused with device_limit when the user has max.
	PutDevice(ctx context.Context, d Device, max int) (PutResult, error)
	// ListDevices returns a user's devices in device id order.
	ListDevices(ctx context.Context, userID string) ([]Device, error)
	// DeleteDevice removes a device and its token's ownership; a missing
	// device is not_found.
	DeleteDevice(ctx context.Context, userID, deviceID string) (Device, error)
	// RemoveDevice deletes a device only while it still holds the token
	// tokenHash (a disabled endpoint must not delete a re-registered
	// device); removed says whether it did.
	RemoveDevice(ctx context.Context, userID, deviceID, tokenHash string) (removed bool, err error)
	// SetEndpoint records a device's SNS endpoint while it still holds
	// tokenHash; a device gone or re-registered since is left alone.
	SetEndpoint(ctx context.Context, userID, deviceID, tokenHash, arn string) error
}

// PutResult is what PutDevice did.
type PutResult struct {
	// Device is d as stored: CreatedAt is kept from the device it replaced.
	Device  Device
	Created bool // the user had no device with this id
	// TakenFrom is the device that held the token before (another user's,
	// or another device of the same user); nil if none.
	TakenFrom *DeviceRef
}

// DeviceRef names a device.
type DeviceRef struct {
	UserID   string
	DeviceID string
}

// PrefStore keeps push preferences and which pushes were sent.
type PrefStore interface {
	// GetPrefs returns a user's preferences (defaults when none are set)
	// and those of the given conversations that have any.
	GetPrefs(ctx context.Context, userID string, convs []string) (Prefs, map[string]ConvPref, error)
	PutPrefs(ctx context.Context, userID string, p Prefs) error
	// PutConvPref sets a conversation's level; LevelAll with no Until
	// deletes the item (the default).
	PutConvPref(ctx context.Context, userID, convID string, p ConvPref) error
	// ClaimPush records that key was pushed; false if it already was (a
	// redelivered job). Claims expire after ttl.
	ClaimPush(ctx context.Context, userID, key string, ttl time.Duration) (bool, error)
	// ReleasePush forgets a claim whose push failed, so a retry sends it.
	ReleasePush(ctx context.Context, userID, key string) error
	// Pushed reports whether key was claimed (and not released): an edit
	// or recall updates only the notifications that were pushed.
	Pushed(ctx context.Context, userID, key string) (bool, error)
}

// BroadcastStore keeps broadcast jobs, their progress and each user's
// notifications (dynamo.Push, memstore.Push; storetest.BroadcastStore).
type BroadcastStore interface {
	// CreateBroadcast stores b. With an idempotency key already used it
	// stores nothing and returns the id and fingerprint that key made.
	CreateBroadcast(ctx context.Context, b Broadcast, idemKey, fp string) (existingID, existingFP string, err error)
	// BroadcastKey returns the id and fingerprint an idempotency key made
	// ("" when the key is unused or expired).
	BroadcastKey(ctx context.Context, idemKey string) (id, fp string, err error)
	// ConsumeQuota counts one broadcast against day's quota of max;
	// quota_exceeded (nothing counted) when it is used up.
	ConsumeQuota(ctx context.Context, day string, max int) error
	// GetBroadcast returns a broadcast with its progress (not_found).
	GetBroadcast(ctx context.Context, id string) (Broadcast, error)
	// RecordPlan adds a plan page's chunks to the total, once per page;
	// last marks the plan done.
	RecordPlan(ctx context.Context, id string, page, chunks int, last bool) error
	// ClaimRecipient stores the user's notification unless it exists; it
	// then returns the stored outcome ("" if its delivery never finished).
	ClaimRecipient(ctx context.Context, n InboxItem, ttl time.Duration) (outcome string, existed bool, err error)
	// SetOutcome records how the user was reached.
	SetOutcome(ctx context.Context, userID, id, outcome string) error
	// RecordChunk adds a chunk's counts to the broadcast, once per chunk.
	RecordChunk(ctx context.Context, id, chunk string, c Counts) error
	// ListInbox returns a user's notifications newest first from page
	// (nil: the first) and the token of the next page (nil: none).
	ListInbox(ctx context.Context, userID string, limit int, page []byte) ([]InboxItem, []byte, error)
	// UnreadIDs returns the ids of a user's unread notifications, newest
	// first; upTo != "" keeps only those at or before it (older ids sort
	// first).
	UnreadIDs(ctx context.Context, userID, upTo string) ([]string, error)
	// MarkRead sets ReadAt to at on the user's notifications ids that exist
	// and are unread, and returns how many it changed (ids missing or read
	// already are left alone).
	MarkRead(ctx context.Context, userID string, ids []string, at time.Time) (int, error)
}
