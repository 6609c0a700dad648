package events

// Deriving events from stored items. A Change is one stream record, its
// old and new images decoded into domain types by the store's adapter
// (shared/aws/dynamo, events_stream.go). Derive maps it to the events it
// means; most records mean one event, many none (a conversation head, a
// claim, a token generation bump).

import (
	"maps"
	"strconv"
	"time"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/users"
)

// Op is what happened to the item.
type Op string

// The three stream operations.
const (
	Insert Op = "INSERT"
	Modify Op = "MODIFY"
	Remove Op = "REMOVE"
)

// Change is one stored item's change. Exactly one of the pairs is set
// (Old is nil for an insert, New for a remove, and Old also when the
// table's stream carries new images only).
type Change struct {
	Op Op
	// Seq is the stream record's sequence number: stable when the record
	// is delivered again, unique per change of the table.
	Seq string
	// At is when the change was written (the record's approximate time).
	At time.Time

	OldMessage, NewMessage *chat.Message
	OldEntry, NewEntry     *chat.Entry
	OldGroup, NewGroup     *chat.Group
	OldMember, NewMember   *chat.Member
	OldUser, NewUser       *users.User
	OldJob, NewJob         *batch.Job
}

// Derive returns the events a change means.
func Derive(c Change) ([]Event, error) {
	var (
		e   Event
		ok  bool
		err error
	)
	switch {
	case c.NewMessage != nil || c.OldMessage != nil:
		e, ok, err = messageEvent(c)
	case c.NewEntry != nil || c.OldEntry != nil:
		e, ok, err = readEvent(c)
	case c.NewGroup != nil || c.OldGroup != nil:
		e, ok, err = groupEvent(c)
	case c.NewMember != nil || c.OldMember != nil:
		return memberEvents(c)
	case c.NewUser != nil || c.OldUser != nil:
		e, ok, err = userEvent(c)
	case c.NewJob != nil:
		e, ok, err = jobEvent(c)
	}
	if err != nil || !ok {
		return nil, err
	}
	return []Event{e}, nil
}

// messageEvent: a new message item is message.created, or for an event
// message (recall, edit) message.recalled / message.edited. The messages
// are immutable once stored except for the edit/recall marks, which their
// event messages already announce, so in-place changes mean nothing here.
// Ids: the conversation and the seq of the stored item, unique for ever.
func messageEvent(c Change) (Event, bool, error) {
	m := c.NewMessage
	if c.Op != Insert || m == nil {
		return Event{}, false, nil
	}
	conv := string(m.ConversationID)
	seq := strconv.FormatInt(m.Seq, 10)
	ref, _ := chat.ParseConversationID(conv)
	switch m.Kind {
	case chat.KindEdit:
		return ev(MessageEdited, conv, m.CreatedAt, MessageEditedData{ConversationID: conv, GroupID: ref.GroupID, Seq: m.RefSeq,
			EditSeq: m.Seq, EditedBy: m.SenderID, Text: m.Text, Payload: m.Payload, EditedAt: m.CreatedAt}, conv, seq)
	case chat.KindRecall:
		return ev(MessageRecalled, conv, m.CreatedAt, MessageRecalledData{ConversationID: conv, GroupID: ref.GroupID, Seq: m.RefSeq,
			RecallSeq: m.Seq, RecalledBy: m.SenderID, RecalledAt: m.CreatedAt}, conv, seq)
	}
	return ev(MessageCreated, conv, m.CreatedAt, MessageData{ConversationID: conv, ConversationKind: ref.Kind, GroupID: ref.GroupID,
		Seq: m.Seq, MessageID: m.MessageID, ClientMsgID: m.ClientMsgID, SenderType: m.SenderType, SenderID: m.SenderID,
		Text: m.Text, Payload: m.Payload, ReplyTo: m.ReplyTo, ThreadRoot: m.ThreadRoot, Mentions: m.Mentions, Attachments: m.Attachments,
		CreatedAt: m.CreatedAt}, conv, seq)
}

// readEvent: a user's entry whose read position advanced. A new entry
// (a group join starts at the head's position) is not a move. The
// messages table's stream carries new images only, so every entry change
// with a read position is announced; its id (user, conversation, read
// seq) makes a change that did not move it (a DM entry touched again)
// the same event, which consumers drop by id.
func readEvent(c Change) (Event, bool, error) {
	n := c.NewEntry
	if c.Op != Modify || n == nil || n.ReadSeq == 0 || c.OldEntry != nil && c.OldEntry.ReadSeq >= n.ReadSeq {
		return Event{}, false, nil
	}
	conv := string(n.ConversationID)
	seq := strconv.FormatInt(n.ReadSeq, 10)
	return ev(ReadMoved, conv, c.At, ReadData{UserID: n.UserID, ConversationID: conv, GroupID: n.GroupID, ReadSeq: n.ReadSeq}, n.UserID, conv, seq)
}

// groupEvent: a group head inserted (created), changed in its profile
// or its group-wide mute (updated) or tombstoned (dissolved). member_count changes alone are the
// member events' business.
func groupEvent(c Change) (Event, bool, error) {
	o, n := c.OldGroup, c.NewGroup
	switch {
	case c.Op == Insert && n != nil:
		return ev(GroupCreated, "group:"+n.GroupID, n.CreatedAt, groupData(*n), n.GroupID)
	case c.Op == Modify && n != nil && n.Dissolved && (o == nil || !o.Dissolved):
		return ev(GroupDissolved, "group:"+n.GroupID, n.UpdatedAt, GroupDissolvedData{GroupID: n.GroupID}, n.GroupID)
	case c.Op == Modify && n != nil && !n.Dissolved && o != nil && groupProfileChanged(*o, *n):
		return ev(GroupUpdated, "group:"+n.GroupID, n.UpdatedAt, groupData(*n), n.GroupID, c.Seq)
	}
	return Event{}, false, nil
}

func groupProfileChanged(o, n chat.Group) bool {
	return o.Name != n.Name || o.AvatarURL != n.AvatarURL || o.OwnerID != n.OwnerID || !maps.Equal(o.Metadata, n.Metadata) ||
		o.MutedAll != n.MutedAll
}

func groupData(g chat.Group) GroupData {
	return GroupData{GroupID: g.GroupID, Name: g.Name, AvatarURL: g.AvatarURL, Metadata: g.Metadata, OwnerID: g.OwnerID,
		MemberCount: g.MemberCount, MutedAll: g.MutedAll, ConversationID: string(chat.GroupConversationID(g.GroupID)), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

// memberEvents: a member item inserted (added), deleted (removed) or
// changed in role or mute (one event each: both can change at once).
// Ids use the stream sequence number where nothing in the item versions
// the change (a role can go back and forth).
func memberEvents(c Change) ([]Event, error) {
	o, n := c.OldMember, c.NewMember
	var out []Event
	add := func(e Event, ok bool, err error) error {
		if ok && err == nil {
			out = append(out, e)
		}
		return err
	}
	var err error
	switch {
	case c.Op == Insert && n != nil:
		err = add(ev(MemberAdded, "group:"+n.GroupID, n.JoinedAt, memberData(*n), n.GroupID, n.UserID, strconv.FormatInt(n.JoinedAt.UnixMilli(), 10)))
	case c.Op == Remove && o != nil:
		err = add(ev(MemberRemoved, "group:"+o.GroupID, c.At, memberData(*o), o.GroupID, o.UserID, strconv.FormatInt(o.JoinedAt.UnixMilli(), 10)))
	case c.Op == Modify && n != nil && o != nil:
		if o.Role != n.Role {
			d := memberData(*n)
			d.PreviousRole = string(o.Role)
			err = add(ev(MemberRoleChanged, "group:"+n.GroupID, c.At, d, n.GroupID, n.UserID, c.Seq))
		}
		if err == nil && o.Muted != n.Muted {
			t := MemberMuted
			if !n.Muted {
				t = MemberUnmuted
			}
			err = add(ev(t, "group:"+n.GroupID, c.At, memberData(*n), n.GroupID, n.UserID, c.Seq))
		}
	}
	return out, err
}

func memberData(m chat.Member) MemberData {
	return MemberData{GroupID: m.GroupID, UserID: m.UserID, Role: string(m.Role), Muted: m.Muted, JoinedAt: m.JoinedAt}
}

// userEvent: a user item inserted, changed in its profile, or deleted.
// A user's id can be created again after a delete; gen tells the two
// apart, so it is part of the ids.
func userEvent(c Change) (Event, bool, error) {
	o, n := c.OldUser, c.NewUser
	switch {
	case c.Op == Insert && n != nil:
		return ev(UserCreated, "user:"+n.UserID, n.CreatedAt, userData(*n), n.UserID, strconv.FormatInt(n.Gen, 10))
	case c.Op == Remove && o != nil:
		return ev(UserDeleted, "user:"+o.UserID, c.At, UserDeletedData{UserID: o.UserID}, o.UserID, strconv.FormatInt(o.Gen, 10))
	case c.Op == Modify && n != nil && o != nil && (o.Nickname != n.Nickname || o.AvatarURL != n.AvatarURL || !maps.Equal(o.Metadata, n.Metadata)):
		return ev(UserUpdated, "user:"+n.UserID, n.UpdatedAt, userData(*n), n.UserID, c.Seq)
	}
	return Event{}, false, nil
}

func userData(u users.User) UserData {
	return UserData{UserID: u.UserID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, Metadata: u.Metadata, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func ev(t Type, key string, at time.Time, data any, idParts ...string) (Event, bool, error) {
	e, err := newEvent(t, key, at, data, idParts...)
	return e, err == nil, err
}

// jobEvent: a batch job whose last rows were just counted (its last
// chunk committed), or one stored finished (every row invalid). A job
// finishes once, so its id is the event's.
func jobEvent(c Change) (Event, bool, error) {
	n := *c.NewJob
	if !n.Finished() || c.Op == Modify && (c.OldJob == nil || c.OldJob.Finished()) || c.Op == Remove {
		return Event{}, false, nil
	}
	n.Derive()
	at := c.At
	if n.FinishedAt != nil {
		at = *n.FinishedAt
	}
	return ev(JobFinished, "job:"+n.JobID, at, JobData{JobID: n.JobID, Kind: string(n.Kind), State: string(n.State), Total: n.Total,
		Created: n.Created, Failed: n.Failed, Invalid: n.Invalid, CreatedAt: n.CreatedAt, FinishedAt: at}, n.JobID)
}
