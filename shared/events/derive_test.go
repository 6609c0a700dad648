package events

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/users"
)

var t0 = time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)

func msg(kind string, seq, ref int64) *chat.Message {
	return &chat.Message{ConversationID: "dm:alice:bob", Seq: seq, RefSeq: ref, MessageID: "m" + string(rune('0'+seq)), Kind: kind,
		SenderType: chat.SenderUser, SenderID: "alice", Text: "hi", CreatedAt: t0}
}

// TestDerive: each stored change maps to the documented event type (or
// to none), with the data consumers read.
func TestDerive(t *testing.T) {
	g := chat.Group{GroupID: "g1", Name: "team", OwnerID: "alice", MemberCount: 2, CreatedAt: t0, UpdatedAt: t0}
	renamed, dissolved := g, g
	renamed.Name = "crew"
	dissolved.Dissolved = true
	counted := g
	counted.MemberCount = 3
	mutedAll := g
	mutedAll.MutedAll = true
	rich := msg(chat.KindMessage, 12, 0)
	rich.ReplyTo, rich.ThreadRoot, rich.Mentions = 7, 5, []string{"bob"}
	rich.Attachments = []chat.Attachment{{UploadID: "up_1", Name: "a.png", ContentType: "image/png", Size: 3}}
	m := chat.Member{GroupID: "g1", UserID: "bob", Role: chat.RoleMember, JoinedAt: t0}
	admin, muted, both := m, m, m
	admin.Role = chat.RoleAdmin
	muted.Muted = true
	both.Role, both.Muted = chat.RoleAdmin, true
	u := users.User{UserID: "alice", Nickname: "Al", Gen: 3, CreatedAt: t0, UpdatedAt: t0}
	nick, bumped := u, u
	nick.Nickname = "Alice"
	bumped.Gen = 4
	queued := batch.Job{JobID: "j1", Kind: "users", Total: 10, Chunks: 2, CreatedAt: t0}
	running, done := queued, queued
	running.Created, running.ChunksDone = 5, 1
	done.Created, done.Failed, done.ChunksDone, done.UpdatedAt = 8, 2, 2, t0.Add(time.Minute)
	invalid := batch.Job{JobID: "j2", Kind: "users", Total: 3, Failed: 3, Invalid: 3, CreatedAt: t0}
	entry := func(read int64) *chat.Entry {
		return &chat.Entry{UserID: "bob", ConversationID: "dm:alice:bob", ReadSeq: read}
	}
	for _, tc := range []struct {
		name string
		c    Change
		want []Type
		data string // a fragment of the first event's data
	}{
		{"message", Change{Op: Insert, NewMessage: msg(chat.KindMessage, 7, 0)}, []Type{MessageCreated}, `"seq":7`},
		{"edit event", Change{Op: Insert, NewMessage: msg(chat.KindEdit, 8, 7)}, []Type{MessageEdited}, `"seq":7,"edit_seq":8`},
		{"recall event", Change{Op: Insert, NewMessage: msg(chat.KindRecall, 9, 7)}, []Type{MessageRecalled}, `"seq":7,"recall_seq":9`},
		{"message changed in place", Change{Op: Modify, NewMessage: msg(chat.KindMessage, 7, 0)}, nil, ""},
		{"read moved", Change{Op: Modify, NewEntry: entry(5)}, []Type{ReadMoved}, `"read_seq":5`},
		{"entry with nothing read", Change{Op: Modify, NewEntry: entry(0)}, nil, ""},
		{"entry created at a group join", Change{Op: Insert, NewEntry: entry(5)}, nil, ""},
		{"read not moved", Change{Op: Modify, OldEntry: entry(5), NewEntry: entry(5)}, nil, ""},
		{"group created", Change{Op: Insert, NewGroup: &g}, []Type{GroupCreated}, `"name":"team"`},
		{"group renamed", Change{Op: Modify, OldGroup: &g, NewGroup: &renamed}, []Type{GroupUpdated}, `"name":"crew"`},
		{"member count only", Change{Op: Modify, OldGroup: &g, NewGroup: &counted}, nil, ""},
		{"group muted as a whole", Change{Op: Modify, OldGroup: &g, NewGroup: &mutedAll}, []Type{GroupUpdated}, `"muted_all":true`},
		{"message with reply, thread, mentions, attachments", Change{Op: Insert, NewMessage: rich}, []Type{MessageCreated},
			`"reply_to":7,"thread_root":5,"mentions":["bob"],"attachments":[{"upload_id":"up_1","name":"a.png","content_type":"image/png"`},
		{"group dissolved", Change{Op: Modify, OldGroup: &g, NewGroup: &dissolved}, []Type{GroupDissolved}, `"group_id":"g1"`},
		{"member added", Change{Op: Insert, NewMember: &m}, []Type{MemberAdded}, `"role":"member"`},
		{"member removed", Change{Op: Remove, OldMember: &m}, []Type{MemberRemoved}, `"user_id":"bob"`},
		{"role changed", Change{Op: Modify, OldMember: &m, NewMember: &admin}, []Type{MemberRoleChanged}, `"previous_role":"member"`},
		{"muted", Change{Op: Modify, OldMember: &m, NewMember: &muted}, []Type{MemberMuted}, `"muted":true`},
		{"unmuted", Change{Op: Modify, OldMember: &muted, NewMember: &m}, []Type{MemberUnmuted}, `"muted":false`},
		{"role and mute at once", Change{Op: Modify, OldMember: &m, NewMember: &both}, []Type{MemberRoleChanged, MemberMuted}, `"role":"admin"`},
		{"user created", Change{Op: Insert, NewUser: &u}, []Type{UserCreated}, `"nickname":"Al"`},
		{"user renamed", Change{Op: Modify, OldUser: &u, NewUser: &nick}, []Type{UserUpdated}, `"nickname":"Alice"`},
		{"token generation bump", Change{Op: Modify, OldUser: &u, NewUser: &bumped}, nil, ""},
		{"user deleted", Change{Op: Remove, OldUser: &u}, []Type{UserDeleted}, `"user_id":"alice"`},
		{"job's last chunk", Change{Op: Modify, OldJob: &running, NewJob: &done}, []Type{JobFinished}, `"state":"partially_failed","total":10,"created":8,"failed":2`},
		{"job's earlier chunk", Change{Op: Modify, OldJob: &queued, NewJob: &running}, nil, ""},
		{"finished job touched again", Change{Op: Modify, OldJob: &done, NewJob: &done}, nil, ""},
		{"job stored finished (all rows invalid)", Change{Op: Insert, NewJob: &invalid}, []Type{JobFinished}, `"state":"failed"`},
		{"job stored with rows to do", Change{Op: Insert, NewJob: &queued}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Seq, tc.c.At = "100", t0
			evs, err := Derive(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			var got []Type
			for _, e := range evs {
				got = append(got, e.Type)
				if !Known(e.Type) || len(e.ID) != 36 || e.Key == "" || e.Time.IsZero() || e.Version != SchemaVersion {
					t.Errorf("event %+v: want a known type, an evt_ id, a key, a time and the version", e)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("types %v, want %v", got, tc.want)
			}
			if len(evs) > 0 && !json.Valid(evs[0].Data) || len(evs) > 0 && !strings.Contains(string(evs[0].Data), tc.data) {
				t.Errorf("data %s, want it to contain %s", evs[0].Data, tc.data)
			}
		})
	}
}

// TestIDsAreDeterministic: deriving the same change again (a redelivered
// stream record) gives the same id; a different change, a different id.
func TestIDsAreDeterministic(t *testing.T) {
	a, _ := Derive(Change{Op: Insert, Seq: "1", NewMessage: msg(chat.KindMessage, 7, 0)})
	b, _ := Derive(Change{Op: Insert, Seq: "2", NewMessage: msg(chat.KindMessage, 7, 0)}) // the same item, seen twice
	c, _ := Derive(Change{Op: Insert, Seq: "3", NewMessage: msg(chat.KindMessage, 8, 0)})
	if a[0].ID != b[0].ID || a[0].ID == c[0].ID {
		t.Fatalf("ids %s %s %s: want the first two equal, the third different", a[0].ID, b[0].ID, c[0].ID)
	}
	m := chat.Member{GroupID: "g1", UserID: "bob", Role: chat.RoleMember}
	adm := m
	adm.Role = chat.RoleAdmin
	r1, _ := Derive(Change{Op: Modify, Seq: "10", OldMember: &m, NewMember: &adm})
	r2, _ := Derive(Change{Op: Modify, Seq: "12", OldMember: &m, NewMember: &adm}) // promoted again later
	if r1[0].ID == r2[0].ID {
		t.Fatal("two promotions share an id")
	}
}
