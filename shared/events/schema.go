package events

// The data of each event type: the JSON schemas docs/events.md documents
// (TestDocsListEveryType keeps the two together).

import (
	"time"

	"github.com/tokenim/tokenim/shared/chat"
)

// schemas is each type's data, as a new value to decode into.
var schemas = map[Type]func() any{
	MessageCreated:    func() any { return &MessageData{} },
	MessageEdited:     func() any { return &MessageEditedData{} },
	MessageRecalled:   func() any { return &MessageRecalledData{} },
	ReadMoved:         func() any { return &ReadData{} },
	GroupCreated:      func() any { return &GroupData{} },
	GroupUpdated:      func() any { return &GroupData{} },
	GroupDissolved:    func() any { return &GroupDissolvedData{} },
	MemberAdded:       func() any { return &MemberData{} },
	MemberRemoved:     func() any { return &MemberData{} },
	MemberRoleChanged: func() any { return &MemberData{} },
	MemberMuted:       func() any { return &MemberData{} },
	MemberUnmuted:     func() any { return &MemberData{} },
	UserCreated:       func() any { return &UserData{} },
	UserUpdated:       func() any { return &UserData{} },
	UserDeleted:       func() any { return &UserDeletedData{} },
	JobFinished:       func() any { return &JobData{} },
}

// NewData returns a pointer to a new value of t's data type (its
// schema), nil for an unknown type.
func NewData(t Type) any {
	if f, ok := schemas[t]; ok {
		return f()
	}
	return nil
}

// MessageData is message.created's data.
type MessageData struct {
	ConversationID   string        `json:"conversation_id"`
	ConversationKind string        `json:"conversation_kind"` // dm or group
	GroupID          string        `json:"group_id,omitempty"`
	Seq              int64         `json:"seq"`
	MessageID        string        `json:"message_id"`
	ClientMsgID      string        `json:"client_msg_id,omitempty"`
	SenderType       string        `json:"sender_type"`
	SenderID         string        `json:"sender_id,omitempty"`
	Text             string        `json:"text,omitempty"`
	Payload          *chat.Payload `json:"payload,omitempty"`
	// As the Message schema carries them (docs/openapi.yaml).
	ReplyTo     int64             `json:"reply_to,omitempty"`
	ThreadRoot  int64             `json:"thread_root,omitempty"`
	Mentions    []string          `json:"mentions,omitempty"`
	Attachments []chat.Attachment `json:"attachments,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
}

// MessageEditedData is message.edited's data: the message at Seq now
// shows Text (and Payload).
type MessageEditedData struct {
	ConversationID string        `json:"conversation_id"`
	GroupID        string        `json:"group_id,omitempty"`
	Seq            int64         `json:"seq"`
	EditSeq        int64         `json:"edit_seq"`
	EditedBy       string        `json:"edited_by,omitempty"`
	Text           string        `json:"text,omitempty"`
	Payload        *chat.Payload `json:"payload,omitempty"`
	EditedAt       time.Time     `json:"edited_at"`
}

// MessageRecalledData is message.recalled's data.
type MessageRecalledData struct {
	ConversationID string    `json:"conversation_id"`
	GroupID        string    `json:"group_id,omitempty"`
	Seq            int64     `json:"seq"`
	RecallSeq      int64     `json:"recall_seq"`
	RecalledBy     string    `json:"recalled_by,omitempty"`
	RecalledAt     time.Time `json:"recalled_at"`
}

// ReadData is read.moved's data.
type ReadData struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	GroupID        string `json:"group_id,omitempty"`
	ReadSeq        int64  `json:"read_seq"`
}

// GroupData is group.created's and group.updated's data.
type GroupData struct {
	GroupID        string            `json:"group_id"`
	Name           string            `json:"name,omitempty"`
	AvatarURL      string            `json:"avatar_url,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	OwnerID        string            `json:"owner_id"`
	MemberCount    int               `json:"member_count"`
	MutedAll       bool              `json:"muted_all"` // the group-wide mute: only owners and admins send
	ConversationID string            `json:"conversation_id"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// GroupDissolvedData is group.dissolved's data.
type GroupDissolvedData struct {
	GroupID string `json:"group_id"`
}

// MemberData is the member events' data.
type MemberData struct {
	GroupID      string    `json:"group_id"`
	UserID       string    `json:"user_id"`
	Role         string    `json:"role"`
	PreviousRole string    `json:"previous_role,omitempty"` // member.role_changed
	Muted        bool      `json:"muted"`
	JoinedAt     time.Time `json:"joined_at"`
}

// UserData is user.created's and user.updated's data.
type UserData struct {
	UserID    string            `json:"user_id"`
	Nickname  string            `json:"nickname,omitempty"`
	AvatarURL string            `json:"avatar_url,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// UserDeletedData is user.deleted's data.
type UserDeletedData struct {
	UserID string `json:"user_id"`
}

// JobData is job.finished's data.
type JobData struct {
	JobID      string    `json:"job_id"`
	Kind       string    `json:"kind"`  // users, groups, verify...
	State      string    `json:"state"` // succeeded, partially_failed or failed
	Total      int       `json:"total"`
	Created    int       `json:"created"`
	Failed     int       `json:"failed"`
	Invalid    int       `json:"invalid"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at"`
}
