package chat

import (
	"encoding/json"
	"time"
)

// Role is a group member's role.
type Role string

// Roles, strongest first. A group has exactly one owner.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

func (r Role) valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// Group is a group chat.
type Group struct {
	GroupID        string            `json:"group_id"`
	Name           string            `json:"name,omitempty"`
	AvatarURL      string            `json:"avatar_url,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	OwnerID        string            `json:"owner_id"`
	MemberCount    int               `json:"member_count"`
	ConversationID ConversationID    `json:"conversation_id"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	// Dissolved groups stay as tombstones so their id is never reused (a new
	// group must not inherit the old one's history).
	Dissolved bool `json:"-"`
	// IdempotencyKey is the key of the create call that made the group.
	IdempotencyKey string `json:"-"`
}

// Member is one user's membership of a group.
type Member struct {
	GroupID  string    `json:"group_id"`
	UserID   string    `json:"user_id"`
	Role     Role      `json:"role"`
	Muted    bool      `json:"muted"`
	JoinedAt time.Time `json:"joined_at"`
}

// Sender types.
const (
	SenderUser   = "user"
	SenderSystem = "system"
)

// Payload is a typed custom payload carried by a message.
type Payload struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Message kinds. A recall or an edit changes the message in place (it
// keeps its seq) and also appends an event message of kind recall or edit
// at the conversation's next seq, so that sync and history deliver the
// change, in order and without gaps, to clients that already had the
// message (docs/data-model.md, "Recall and edit").
const (
	KindMessage = "message" // a message: what clients show as a bubble
	KindRecall  = "recall"  // event: the message at RefSeq was recalled
	KindEdit    = "edit"    // event: the message at RefSeq now has Text
)

// Message is one stored message. Seq is its place in the conversation:
// 1, 2, 3... with no gap and no duplicate, the same for every member.
type Message struct {
	ConversationID ConversationID `json:"conversation_id"`
	Seq            int64          `json:"seq"`
	MessageID      string         `json:"message_id"`
	// Kind is KindMessage, or KindRecall / KindEdit for an event message,
	// which changes the message at RefSeq: clients apply it to their copy
	// of that message instead of showing it.
	Kind        string     `json:"kind"`
	RefSeq      int64      `json:"ref_seq,omitempty"`
	ClientMsgID string     `json:"client_msg_id,omitempty"`
	SenderType  string     `json:"sender_type"`
	SenderID    string     `json:"sender_id,omitempty"` // empty for system messages
	Text        string     `json:"text,omitempty"`
	Payload     *Payload   `json:"payload,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	EditedAt    *time.Time `json:"edited_at,omitempty"`
	Recalled    bool       `json:"recalled,omitempty"`
	RecalledAt  *time.Time `json:"recalled_at,omitempty"`
	RecalledBy  string     `json:"recalled_by,omitempty"`
	// EditSeq is the seq of the edit event whose text the message shows
	// (an edit event with a seq <= EditSeq is already applied); RecallSeq
	// is the seq of its recall event.
	EditSeq   int64 `json:"edit_seq,omitempty"`
	RecallSeq int64 `json:"recall_seq,omitempty"`
	// Count is the number of messages of kind message with a seq up to
	// this one (0: unknown, for messages stored before counts existed). It
	// makes unread counts exact without counting event messages.
	Count int64 `json:"-"`
	// Fingerprint identifies the request that created it (idempotency).
	Fingerprint string `json:"-"`
}

// ConvMeta is a conversation's head: what a list, a sync or a send needs
// without reading messages.
type ConvMeta struct {
	ID          ConversationID
	Kind        string
	A, B        string // DM participants
	GroupID     string
	LastSeq     int64
	LastMsgID   string
	LastAt      time.Time
	LastSender  string
	LastPreview string
	LastKind    string // the last message's kind
	LastCount   int64  // the last message's Count
	Closed      bool   // the group was dissolved
	CreatedAt   time.Time
}

// Entry is a user's own record of a conversation: it puts the
// conversation in the user's list and holds the user's read position.
type Entry struct {
	UserID         string
	ConversationID ConversationID
	Kind           string
	Peer           string // DM: the other participant
	GroupID        string
	ReadSeq        int64
	ReadCount      int64 // Count at ReadSeq (0: none read, or unknown)
	JoinedAt       time.Time
}

// ReadMark is a read position: a seq and the Count of messages up to it.
type ReadMark struct {
	Seq, Count int64
}

// GroupPatch is a partial group update; nil leaves a field, "" (or an
// empty map) clears it.
type GroupPatch struct {
	Name      *string
	AvatarURL *string
	Metadata  *map[string]string
}

// EntryKey names one user's entry for one conversation.
type EntryKey struct {
	UserID         string
	ConversationID ConversationID
}

// ConvQuery asks for what a use case needs about one conversation, read
// in one strongly consistent BatchGetItem across tables.
type ConvQuery struct {
	ID         ConversationID
	MemberOf   string   // group id: also read Member's membership
	Member     string   // user id for MemberOf
	UserExists string   // also check this user exists
	Entries    []string // also read these users' entries
}

// ConvView is the answer to a ConvQuery; absent items are nil/false.
type ConvView struct {
	Meta       *ConvMeta
	Member     *Member
	UserExists bool
	Entries    map[string]Entry
}

// Claim reserves a client_msg_id in a conversation: the message id, seq
// and time it was first given, so every retry writes the same message.
// Event messages are claimed too, under keys derived from the change.
type Claim struct {
	ConversationID ConversationID
	Key            string // sender scope + client_msg_id, or an event key
	Seq            int64
	MessageID      string
	CreatedAt      time.Time
	Fingerprint    string
}

// MessageChange is a recall or an edit, applied only to a message (not an
// event message) that is not recalled and, when set, was sent by
// RequireSender no earlier than NotBefore. An edit applies only if no
// later edit event (EditSeq >= EventSeq) has been applied already.
type MessageChange struct {
	ConversationID ConversationID
	Seq            int64
	Recall         bool
	Text           string // edit: the new text
	At             time.Time
	By             string // recall: who recalled ("" for an admin)
	EventSeq       int64  // the seq of the change's event message
	RequireSender  string
	NotBefore      time.Time
}
