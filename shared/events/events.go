// Package events is TokenIM's domain events: what happened in an app's
// chat, as an app's backend consumes it (EventBridge, webhooks). Events
// are derived from the tables' DynamoDB streams (derive.go), never from
// the request path, so capturing them adds no latency to a send. Every
// event has a stable type, a deterministic id (a redelivered stream
// record yields the same id, so consumers deduplicate by id) and the time
// of the change. docs/events.md documents every type with its schema.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Source is the EventBridge source of every event.
const Source = "tokenim"

// SchemaVersion is the envelope's version; a breaking change to a data
// schema bumps it.
const SchemaVersion = 1

// Type names an event.
type Type string

// The event types (docs/events.md).
const (
	MessageCreated    Type = "message.created"
	MessageEdited     Type = "message.edited"
	MessageRecalled   Type = "message.recalled"
	ReadMoved         Type = "read.moved"
	GroupCreated      Type = "group.created"
	GroupUpdated      Type = "group.updated"
	GroupDissolved    Type = "group.dissolved"
	MemberAdded       Type = "member.added"
	MemberRemoved     Type = "member.removed"
	MemberRoleChanged Type = "member.role_changed"
	MemberMuted       Type = "member.muted"
	MemberUnmuted     Type = "member.unmuted"
	UserCreated       Type = "user.created"
	UserUpdated       Type = "user.updated"
	UserDeleted       Type = "user.deleted"
	JobFinished       Type = "job.finished"
)

// Types is every type, in the order docs/events.md lists them.
var Types = []Type{MessageCreated, MessageEdited, MessageRecalled, ReadMoved,
	GroupCreated, GroupUpdated, GroupDissolved,
	MemberAdded, MemberRemoved, MemberRoleChanged, MemberMuted, MemberUnmuted,
	UserCreated, UserUpdated, UserDeleted, JobFinished}

// Known reports whether t is an event type.
func Known(t Type) bool { return slices.Contains(Types, t) }

// Event is the envelope every consumer sees: the EventBridge detail and
// the webhook body.
type Event struct {
	ID      string          `json:"id"`
	Type    Type            `json:"type"`
	Version int             `json:"version"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
	// Key orders events: those with the same key (a conversation, a
	// group, a user) are put on the bus in the order they happened.
	Key string `json:"-"`
}

// newEvent builds an event whose id is derived from its type and the
// parts that identify the change, so deriving it again (a redelivered
// stream record) gives the same id.
func newEvent(t Type, key string, at time.Time, data any, idParts ...string) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{ID: ID(t, idParts...), Type: t, Version: SchemaVersion, Time: at.UTC(), Data: b, Key: key}, nil
}

// ID is "evt_" and 32 hex digits of SHA-256 over the type and the parts.
func ID(t Type, parts ...string) string {
	h := sha256.Sum256([]byte(string(t) + "\x00" + strings.Join(parts, "\x00")))
	return "evt_" + hex.EncodeToString(h[:16])
}
