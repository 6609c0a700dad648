package chat

import (
	"context"
	"time"
)

// EventType names what happened.
type EventType string

// Event types. Message events carry Seq and Message; recall and edit
// events also carry EventSeq and EventMessage; membership events
// carry Users (the members concerned, who may no longer be members and so
// cannot be found through the group).
const (
	EventMessageCreated   EventType = "message.created"
	EventMessageRecalled  EventType = "message.recalled"
	EventMessageEdited    EventType = "message.edited"
	EventMessageReaction  EventType = "message.reaction" // Seq, Message (its counts now), Reaction
	EventMessagePinned    EventType = "message.pinned"   // Seq, Message
	EventMessageUnpinned  EventType = "message.unpinned" // Seq, Message
	EventConversationRead EventType = "conversation.read"
	EventMembersAdded     EventType = "group.members_added"
	EventMemberRemoved    EventType = "group.member_removed"
	EventMemberUpdated    EventType = "group.member_updated" // role or mute changed
	EventOwnerChanged     EventType = "group.owner_changed"
	EventGroupUpdated     EventType = "group.updated"
	EventGroupDissolved   EventType = "group.dissolved"
)

// Event is what the service reports after a change is stored. Who receives
// it (the DM's two participants, the group's members, the reader's other
// devices) is the notifier's business: the service does not push.
type Event struct {
	Type           EventType
	ConversationID ConversationID
	GroupID        string // group events and group conversations
	Seq            int64  // message events: the message; read events: the read seq
	Actor          string // user id of whoever acted; "" for an admin or the system
	Users          []string
	Message        *Message // message events: the message as stored now
	At             time.Time
	// Recall and edit events: the event message the change appended (kind
	// recall or edit, RefSeq = Seq) and its seq, which is now the
	// conversation's newest. A client tracking seqs counts it as seen.
	EventSeq     int64
	EventMessage *Message
	// Reaction events: the emoji and whether it was added or removed.
	Reaction *ReactionEvent
}

// Notifier delivers events (the WebSocket push implements it). Notify runs
// after the change is durable; it must not fail the use case, so it
// returns nothing: a notifier logs its own failures, and clients recover
// anything missed with sync.
type Notifier interface {
	Notify(ctx context.Context, e Event)
}

// Deliverer is a Notifier that also says whether a message event reached
// every connection it was meant for (realtime.Notifier). The send path
// advances a conversation's head only after a complete delivery, so that
// the backstop pushes again what a failed or timed-out delivery left out
// (backstop.go).
type Deliverer interface {
	NotifyDelivered(ctx context.Context, e Event) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, e Event)

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, e Event) { f(ctx, e) }

// NopNotifier drops every event (the default).
type NopNotifier struct{}

// Notify does nothing.
func (NopNotifier) Notify(context.Context, Event) {}
