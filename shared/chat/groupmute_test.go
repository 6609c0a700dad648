package chat_test

import (
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/permissions"
)

// TestGroupWideMute: the owner or a group admin mutes the whole group;
// then only owners and admins send (plain members, admin tokens sending as
// them, and members with every other grant get group_muted, and nothing
// is stored); system messages and the post_any_group grant still pass; a
// plain member cannot set or lift it; the group shows it and members hear
// group.updated; lifting it lets members speak again.
func TestGroupWideMute(t *testing.T) {
	f, log := auditedFixture(t)
	u := f.newUsers(t, "gm", 4) // owner, admin, member, outsider moderator
	g := f.group(t, u[0], u[1], u[2])
	role := chat.RoleAdmin
	if _, err := f.svc.UpdateMember(ctx, user(u[0]), g.GroupID, u[1], chat.MemberUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	_, err := f.svc.UpdateGroup(ctx, user(u[2]), g.GroupID, chat.GroupPatch{MutedAll: &on})
	wantCode(t, err, apierror.Forbidden)
	got, err := f.svc.UpdateGroup(ctx, user(u[1]), g.GroupID, chat.GroupPatch{MutedAll: &on})
	if err != nil || !got.MutedAll {
		t.Fatalf("admin mutes the group: %+v %v", got, err)
	}
	if read, err := f.svc.GetGroup(ctx, user(u[2]), g.GroupID); err != nil || !read.MutedAll {
		t.Fatalf("the group does not show muted_all: %+v %v", read, err)
	}
	if !slices.Contains(f.events.types(), chat.EventGroupUpdated) {
		t.Fatalf("no group.updated event: %v", f.events.types())
	}
	moderator := withGrants(u[3], permissions.GrantPostAnyGroup)
	for _, tc := range []struct {
		name string
		p    auth.Principal
		in   chat.SendInput
		want apierror.Code // "": sent
	}{
		{"owner", user(u[0]), chat.SendInput{}, ""},
		{"group admin", user(u[1]), chat.SendInput{}, ""},
		{"plain member", user(u[2]), chat.SendInput{}, apierror.GroupMuted},
		{"plain member with every other grant", withGrants(u[2], allBut(permissions.GrantPostAnyGroup)...), chat.SendInput{}, apierror.GroupMuted},
		{"admin token as the member", admin(), chat.SendInput{SenderID: u[2]}, apierror.GroupMuted},
		{"system", admin(), chat.SendInput{System: true}, ""},
		{"post_any_group grant", moderator, chat.SendInput{}, ""},
		{"plain member with post_any_group", withGrants(u[2], permissions.GrantPostAnyGroup), chat.SendInput{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := history(t, f, admin(), g.ConversationID)
			in := tc.in
			in.ToGroup, in.Text = g.GroupID, "hello"
			_, _, err := f.svc.Send(ctx, tc.p, in)
			after := history(t, f, admin(), g.ConversationID)
			if tc.want == "" {
				if err != nil || len(after) != len(before)+1 {
					t.Fatalf("send: %v, %d -> %d messages", err, len(before), len(after))
				}
				return
			}
			wantCode(t, err, tc.want)
			if len(after) != len(before) {
				t.Fatalf("a refused send was stored: %d -> %d messages", len(before), len(after))
			}
		})
	}
	// Only the grant's uses are audited: the two sends it allowed.
	wantEntries(t, log, audit.Entry{Actor: "user:" + u[3], Action: "message.send_any_group", Target: "group:" + g.GroupID},
		audit.Entry{Actor: "user:" + u[2], Action: "message.send_any_group", Target: "group:" + g.GroupID})
	if _, err := f.svc.UpdateGroup(ctx, user(u[0]), g.GroupID, chat.GroupPatch{MutedAll: &off}); err != nil {
		t.Fatal(err)
	}
	f.send(t, user(u[2]), chat.SendInput{ToGroup: g.GroupID, Text: "free again"})
}
