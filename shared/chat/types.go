package chat

import (
	"cmp"
	"encoding/json"
	"slices"
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
	// MutedAll is the group-wide mute: only owners and admins may send
	// (group_muted for everyone else). The head carries it too (ConvMeta),
	// so a send reads it with the head, at no extra cost.
	MutedAll bool `json:"muted_all"`
	// Dissolved groups stay as tombstones so their id is never reused (a new
	// group must not inherit the old one's history).
	Dissolved bool `json:"-"`
	// IdempotencyKey is "<key> <fingerprint>" of the create call that made
	// the group: its Idempotency-Key (empty if it had none) and the
	// fingerprint of its request, so a retry of that call is recognised.
	IdempotencyKey string `json:"-"`
	// Incomplete marks a group whose create stopped after its first
	// transaction (the head and up to 48 members) and before the rest of
	// its members: a retry of the same create finishes it.
	Incomplete bool `json:"-"`
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
	// ReplyTo is the seq of the message this one quotes (0: none); Quote
	// is that message as it stands when this one is read (filled in by
	// history, sync, threads and pushes, never stored), so a quoted
	// message's later edit or recall shows in every reply.
	ReplyTo int64  `json:"reply_to,omitempty"`
	Quote   *Quote `json:"reply_preview,omitempty"`
	// ThreadRoot is the seq of the thread this message replies in (0:
	// none). A thread's root carries Thread.
	ThreadRoot int64   `json:"thread_root,omitempty"`
	Thread     *Thread `json:"thread,omitempty"`
	// Reactions counts each emoji's reactors (CountReactions's order);
	// MyReactions is the reader's own, filled in per reader
	// from Reactors, which is never sent: it names who reacted with what.
	Reactions   []Reaction          `json:"reactions,omitempty"`
	MyReactions []string            `json:"my_reactions,omitempty"`
	Reactors    map[string][]string `json:"-"` // user id -> emojis
	// Mentions are the user ids the message mentions, and MentionAll
	// ("@all" in a group) every member.
	Mentions []string `json:"mentions,omitempty"`
	// Attachments are the files the message carries (uploaded through
	// POST /v1/uploads and checked by the attachments guard before the
	// message is stored); at most MaxAttachments.
	Attachments []Attachment `json:"attachments,omitempty"`
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
	LastKind    string  // the last message's kind
	LastCount   int64   // the last message's Count
	Closed      bool    // the group was dissolved
	MutedAll    bool    // the group-wide mute (Group.MutedAll)
	MentionAll  []int64 // the newest messages mentioning @all (at most MaxMentionAllKept)
	Pins        []Pin   // pinned messages, newest pin first (pins.go)
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
	Mentions       []int64 // seqs of messages mentioning the user (those read are pruned)
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
	MutedAll  *bool // set on the group and its conversation's head together
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

// Quote is the preview of a quoted message (Message.ReplyTo): enough for a
// client to draw the quote without fetching it. A recalled message's
// quote says so and shows nothing of it.
type Quote struct {
	Seq         int64  `json:"seq"`
	MessageID   string `json:"message_id"`
	SenderID    string `json:"sender_id,omitempty"`
	Preview     string `json:"preview,omitempty"`
	PayloadType string `json:"payload_type,omitempty"`
	Recalled    bool   `json:"recalled,omitempty"`
}

// Thread is a thread root's summary: how many replies, and the newest.
type Thread struct {
	ReplyCount   int64     `json:"reply_count"`
	LastReplySeq int64     `json:"last_reply_seq"`
	LastReplyAt  time.Time `json:"last_reply_at"`
}

// CountReactions counts each emoji's reactors, most reactors first, then
// by emoji, so every reader and every store agree. Stores count from the
// reactors rather than keep a counter: the reactors are the one record,
// so a count can never drift from who reacted.
func CountReactions(reactors map[string][]string) []Reaction {
	n := map[string]int64{}
	for _, es := range reactors {
		for _, e := range es {
			n[e]++
		}
	}
	var rs []Reaction
	for e, c := range n {
		rs = append(rs, Reaction{Emoji: e, Count: c})
	}
	slices.SortFunc(rs, func(a, b Reaction) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Emoji, b.Emoji)) })
	return rs
}

// Reaction is one emoji's count on a message.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int64  `json:"count"`
}

// ReactionChange adds or removes one user's emoji on a message, within the
// limits, on a message (not an event message) that is not recalled.
type ReactionChange struct {
	ConversationID ConversationID
	Seq            int64
	UserID         string
	Emoji          string
	Remove         bool
	MaxKinds       int // distinct emojis per message
	MaxPerUser     int // emojis per user per message
}

// Pin is a pinned message of a conversation: its seq, who pinned it, when.
type Pin struct {
	Seq      int64     `json:"seq"`
	PinnedBy string    `json:"pinned_by,omitempty"` // "" for an admin token
	PinnedAt time.Time `json:"pinned_at"`
}

// SortPins orders pins newest first (then by seq), as conversations list them.
func SortPins(ps []Pin) {
	slices.SortFunc(ps, func(a, b Pin) int { return cmp.Or(b.PinnedAt.Compare(a.PinnedAt), cmp.Compare(b.Seq, a.Seq)) })
}

// Attachment is one file a message carries: an upload the sender made to
// the conversation (POST /v1/uploads), as the sender declared it. Width,
// Height (pixels) and Duration (seconds) are the client's description of
// an image, video or audio, not checked by the server; UploadID, Name,
// ContentType and Size must match the upload and its stored object.
type Attachment struct {
	UploadID    string  `json:"upload_id"`
	Name        string  `json:"name"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size"`
	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
	Duration    float64 `json:"duration,omitempty"`
}
