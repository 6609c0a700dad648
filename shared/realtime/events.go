package realtime

import (
	"time"

	"github.com/tokenim/tokenim/shared/chat"
)

// Event types pushed by the server besides chat's (docs/websocket.md).
const (
	EventTyping = "typing"
)

// EventFrame is a server-pushed event. Message events (message.created,
// message.recalled, message.edited) always carry conversation_id, seq and
// the message. A conversation's seqs are 1, 2, 3... with no gap: each
// message.created takes the next one, and so does each recall or edit,
// whose event message (kind recall/edit) is at event_seq. A client that
// sees a jump knows it missed a push and syncs (docs/websocket.md).
type EventFrame struct {
	Type           string        `json:"type"`
	ConversationID string        `json:"conversation_id,omitempty"`
	Seq            int64         `json:"seq,omitempty"`
	GroupID        string        `json:"group_id,omitempty"`
	Actor          string        `json:"actor,omitempty"`
	UserIDs        []string      `json:"user_ids,omitempty"`
	Message        *chat.Message `json:"message,omitempty"`
	EventSeq       int64         `json:"event_seq,omitempty"`
	EventMessage   *chat.Message `json:"event_message,omitempty"`
	State          string        `json:"state,omitempty"`
	At             time.Time     `json:"at"`

	// Reaction: message.reaction's emoji and op (issue 16).
	Reaction *chat.ReactionEvent `json:"reaction,omitempty"`
}

// FrameOf is the frame pushed for a chat event.
func FrameOf(e chat.Event) EventFrame {
	return EventFrame{Type: string(e.Type), ConversationID: string(e.ConversationID), Seq: e.Seq, GroupID: e.GroupID,
		Actor: e.Actor, UserIDs: e.Users, Message: e.Message, EventSeq: e.EventSeq, EventMessage: e.EventMessage, At: e.At.UTC(),
		Reaction: e.Reaction}
}
