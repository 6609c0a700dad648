package chat_test

import (
	"io"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/permissions"
)

// withGrants is a user principal whose role holds exactly grants.
func withGrants(id string, grants ...string) auth.Principal {
	p := user(id)
	p.Grants = append([]string{}, grants...)
	return p
}

// allBut is every grant except g.
func allBut(g string) []string {
	return slices.DeleteFunc(permissions.AllGrants(), func(x string) bool { return x == g })
}

// auditedFixture is a fixture whose service records to an in-memory log.
func auditedFixture(t *testing.T) (*fixture, *memstore.Audit) {
	t.Helper()
	f := newFixture(t, chat.Config{})
	log := memstore.NewAudit()
	f.svc = chat.NewService(f.db.Chat, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.events,
		Audit: audit.NewRecorder(log, 0, logging.NewTo(io.Discard, "chat"), nil)})
	return f, log
}

func wantEntries(t *testing.T, log *memstore.Audit, want ...audit.Entry) {
	t.Helper()
	got := log.Entries()
	if len(got) != len(want) {
		t.Fatalf("audit entries %+v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Actor != w.Actor || got[i].Action != w.Action || got[i].Target != w.Target {
			t.Errorf("entry %d: %s %s %s, want %s %s %s", i, got[i].Actor, got[i].Action, got[i].Target, w.Actor, w.Action, w.Target)
		}
	}
}

// TestGrantsInChat tries to break each chat grant: a plain user, a user
// with every grant but the one needed, and a group admin acting beyond
// their group role are refused and nothing is written or audited; the
// grant's holder, outside the group or conversation, succeeds and leaves
// exactly one audit entry naming them.
func TestGrantsInChat(t *testing.T) {
	type world struct {
		owner, admin, member, mod string
		g                         chat.Group
		dm                        chat.ConversationID
		groupMsg, dmMsg           chat.Message
	}
	setup := func(t *testing.T, f *fixture) world {
		t.Helper()
		ids := f.newUsers(t, "gr", 5)
		w := world{owner: ids[0], admin: ids[1], member: ids[2], mod: ids[3]}
		w.g = f.group(t, w.owner, w.admin, w.member)
		role := chat.RoleAdmin
		if _, err := f.svc.UpdateMember(ctx, user(w.owner), w.g.GroupID, w.admin, chat.MemberUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		w.groupMsg = f.send(t, user(w.member), chat.SendInput{ToGroup: w.g.GroupID, Text: "hi"})
		w.dmMsg = f.send(t, user(w.member), chat.SendInput{ToUser: ids[4], Text: "dm"})
		w.dm = w.dmMsg.ConversationID
		return w
	}
	muted := true
	type act func(f *fixture, w world, p auth.Principal) error
	sendGroup := func(f *fixture, w world, p auth.Principal) error {
		_, _, err := f.svc.Send(ctx, p, chat.SendInput{ToGroup: w.g.GroupID, Text: "from outside"})
		return err
	}
	editGroup := func(f *fixture, w world, p auth.Principal) error {
		_, err := f.svc.Edit(ctx, p, string(w.groupMsg.ConversationID), w.groupMsg.Seq, "moderated")
		return err
	}
	recallDM := func(f *fixture, w world, p auth.Principal) error {
		_, err := f.svc.Recall(ctx, p, string(w.dm), w.dmMsg.Seq)
		return err
	}
	mute := func(f *fixture, w world, p auth.Principal) error {
		_, err := f.svc.UpdateMember(ctx, p, w.g.GroupID, w.member, chat.MemberUpdate{Muted: &muted})
		return err
	}
	kickAdmin := func(f *fixture, w world, p auth.Principal) error {
		return f.svc.RemoveMember(ctx, p, w.g.GroupID, w.admin)
	}
	muteOwner := func(f *fixture, w world, p auth.Principal) error {
		_, err := f.svc.UpdateMember(ctx, p, w.g.GroupID, w.owner, chat.MemberUpdate{Muted: &muted})
		return err
	}
	kickOwner := func(f *fixture, w world, p auth.Principal) error {
		return f.svc.RemoveMember(ctx, p, w.g.GroupID, w.owner)
	}
	rows := []struct {
		name    string
		grant   string
		do      act
		refused apierror.Code // what a user without the grant gets
		action  string        // the audit entry the grant's holder leaves
		target  func(w world) string
		// ownerOnly: even the grant's holder is refused (code refused)
		// when the act touches the owner.
		holderRefused apierror.Code
	}{
		{name: "send in a group not a member of", grant: permissions.GrantPostAnyGroup, do: sendGroup, refused: apierror.NotFound,
			action: "message.send_any_group", target: func(w world) string { return "group:" + w.g.GroupID }},
		{name: "edit another's group message", grant: permissions.GrantEditAny, do: editGroup, refused: apierror.NotFound,
			action: "message.edit", target: func(w world) string { return "message:" + string(w.groupMsg.ConversationID) + "/1" }},
		{name: "recall a DM between others", grant: permissions.GrantEditAny, do: recallDM, refused: apierror.NotFound,
			action: "message.recall", target: func(w world) string { return "message:" + string(w.dm) + "/1" }},
		{name: "mute in a group not a member of", grant: permissions.GrantMuteKickAny, do: mute, refused: apierror.NotFound,
			action: "group.member_update", target: func(w world) string { return "group:" + w.g.GroupID }},
		{name: "remove a group admin from a group not a member of", grant: permissions.GrantMuteKickAny, do: kickAdmin, refused: apierror.NotFound,
			action: "group.member_remove", target: func(w world) string { return "group:" + w.g.GroupID }},
		{name: "mute the owner", grant: permissions.GrantMuteKickAny, do: muteOwner, refused: apierror.NotFound, holderRefused: apierror.Forbidden},
		{name: "remove the owner", grant: permissions.GrantMuteKickAny, do: kickOwner, refused: apierror.NotFound, holderRefused: apierror.LastOwner},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			f, log := auditedFixture(t)
			w := setup(t, f)
			before := history(t, f, admin(), w.groupMsg.ConversationID)
			for _, p := range []struct {
				name string
				p    auth.Principal
			}{
				{"no role resolved", user(w.mod)},
				{"user role", withGrants(w.mod, permissions.BuiltinRoles[permissions.RoleUser]...)},
				{"every grant but " + row.grant, withGrants(w.mod, allBut(row.grant)...)},
			} {
				wantCode(t, row.do(f, w, p.p), row.refused)
			}
			if got := history(t, f, admin(), w.groupMsg.ConversationID); len(got) != len(before) {
				t.Fatalf("a refused act wrote: %d messages, want %d", len(got), len(before))
			}
			wantEntries(t, log)

			err := row.do(f, w, withGrants(w.mod, row.grant))
			if row.holderRefused != "" {
				wantCode(t, err, row.holderRefused)
				wantEntries(t, log)
				return
			}
			if err != nil {
				t.Fatalf("grant holder: %v", err)
			}
			wantEntries(t, log, audit.Entry{Actor: "user:" + w.mod, Action: row.action, Target: row.target(w)})
		})
	}
}

// TestGroupAdminIsNotAModerator: a group admin without the grant still may
// not mute or remove another admin (group roles unchanged by grants).
func TestGroupAdminIsNotAModerator(t *testing.T) {
	f, log := auditedFixture(t)
	ids := f.newUsers(t, "ga", 3)
	g := f.group(t, ids[0], ids[1], ids[2])
	role := chat.RoleAdmin
	for _, id := range ids[1:] {
		if _, err := f.svc.UpdateMember(ctx, user(ids[0]), g.GroupID, id, chat.MemberUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
	}
	muted := true
	_, err := f.svc.UpdateMember(ctx, withGrants(ids[1], allBut(permissions.GrantMuteKickAny)...), g.GroupID, ids[2], chat.MemberUpdate{Muted: &muted})
	wantCode(t, err, apierror.Forbidden)
	wantCode(t, f.svc.RemoveMember(ctx, withGrants(ids[1], allBut(permissions.GrantMuteKickAny)...), g.GroupID, ids[2]), apierror.Forbidden)
	// With the grant, the same admin may; a role change stays the owner's.
	if _, err := f.svc.UpdateMember(ctx, withGrants(ids[1], permissions.GrantMuteKickAny), g.GroupID, ids[2], chat.MemberUpdate{Muted: &muted}); err != nil {
		t.Fatal(err)
	}
	member := chat.RoleMember
	_, err = f.svc.UpdateMember(ctx, withGrants(ids[1], permissions.AllGrants()...), g.GroupID, ids[2], chat.MemberUpdate{Role: &member})
	wantCode(t, err, apierror.Forbidden)
	wantEntries(t, log, audit.Entry{Actor: "user:" + ids[1], Action: "group.member_update", Target: "group:" + g.GroupID})
}
