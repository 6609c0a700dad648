package moderation_test

import (
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/testenv"
)

// stored is the message at seq as b reads it.
func (f *fixture) stored(t *testing.T, reader string, conv chat.ConversationID, seq int64) chat.Message {
	t.Helper()
	page, err := f.chat.History(ctx, user(reader), string(conv), chat.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.Seq == seq {
			return m
		}
	}
	t.Fatalf("no message %d in %s", seq, conv)
	return chat.Message{}
}

// TestEditsAndReactionsAreScreened tries to break each rule of
// docs/permissions.md's "Edits and reactions" table: an edit passes the
// word filter (mask and reject), the DM blocklist, the ban and the send
// rate limit as a send does; a reaction passes the ban and the DM
// blocklist. Each refusal leaves the message as it was.
func TestEditsAndReactionsAreScreened(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "eg", 3)
	a, b, c := ids[0], ids[1], ids[2]
	dm := chat.DMID(a, b)
	send := func(from, to, text string) int64 {
		t.Helper()
		m, _, err := f.chat.Send(ctx, user(from), chat.SendInput{ToUser: to, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	mine, theirs := send(a, b, "hello"), send(b, a, "hi back")
	edit := func(who string, text string) error {
		_, err := f.chat.Edit(ctx, user(who), string(dm), mine, text)
		return err
	}
	unchanged := func(rule string) {
		t.Helper()
		if m := f.stored(t, b, dm, mine); m.Text != "hello" || m.EditedAt != nil {
			t.Fatalf("%s: the refused edit changed the message: %+v", rule, m)
		}
	}

	t.Run("word filter reject", func(t *testing.T) {
		if err := f.mod.PutWordFilter(ctx, moderation.WordFilter{Action: moderation.FilterReject, Words: []string{"darn"}}); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.FilterTTL + time.Second)
		err := edit(a, "ＤＡ\u200dＲＮ")
		if code(err) != apierror.ContentRejected || apierror.Public(err).Details.(map[string]any)["field"] != "text" {
			t.Fatalf("edit to a rejected word: %v", err)
		}
		unchanged("reject")
	})
	t.Run("word filter mask", func(t *testing.T) {
		if err := f.mod.PutWordFilter(ctx, moderation.WordFilter{Action: moderation.FilterMask, Words: []string{"darn"}}); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.FilterTTL + time.Second)
		if err := edit(a, "darn it"); err != nil {
			t.Fatal(err)
		}
		if m := f.stored(t, b, dm, mine); m.Text != "**** it" {
			t.Fatalf("masked edit stored as %q", m.Text)
		}
		// The edit event, which sync carries, holds the masked text too.
		page, err := f.chat.History(ctx, user(b), string(dm), chat.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			if m.Kind == chat.KindEdit && m.Text != "**** it" {
				t.Fatalf("edit event holds %q", m.Text)
			}
		}
		if err := edit(a, "hello"); err != nil { // back, for the rules below
			t.Fatal(err)
		}
		if err := f.mod.PutWordFilter(ctx, moderation.WordFilter{Action: moderation.FilterMask}); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.FilterTTL + time.Second)
	})
	mine = send(a, b, "hello") // a fresh, never edited message
	gone := send(a, b, "to recall")

	t.Run("blocked user edits and reacts in the blocker's DM", func(t *testing.T) {
		if err := f.mod.PutBlock(ctx, moderation.Block{UserID: b, BlockedID: a}); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.BlockTTL + time.Second)
		_, _, sendErr := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "x"})
		err := edit(a, "changed behind the block")
		if code(err) != apierror.NotFound || apierror.Public(err).Message != apierror.Public(sendErr).Message {
			t.Fatalf("blocked edit %v, blocked send %v: must be the same not_found", err, sendErr)
		}
		unchanged("block")
		_, err = f.chat.React(ctx, user(a), string(dm), theirs, "👍", false)
		if code(err) != apierror.NotFound || apierror.Public(err).Message != apierror.Public(sendErr).Message {
			t.Fatalf("blocked reaction: %v", err)
		}
		if m := f.stored(t, b, dm, theirs); len(m.Reactions) != 0 {
			t.Fatalf("a refused reaction was stored: %+v", m.Reactions)
		}
		// The block is one-way: the blocker edits and reacts.
		if _, err := f.chat.React(ctx, user(b), string(dm), mine, "👍", false); err != nil {
			t.Fatalf("the blocker cannot react: %v", err)
		}
		if _, err := f.chat.Edit(ctx, user(b), string(dm), theirs, "edited by the blocker"); err != nil {
			t.Fatalf("the blocker cannot edit: %v", err)
		}
		// Taking away is allowed: a recall removes what the blocker sees.
		if _, err := f.chat.Recall(ctx, user(a), string(dm), gone); err != nil {
			t.Fatalf("a blocked user's recall: %v", err)
		}
		if _, err := f.mod.DeleteBlock(ctx, b, a); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.BlockTTL + time.Second)
		if err := edit(a, "after the unblock"); err != nil {
			t.Fatalf("after the unblock: %v", err)
		}
	})
	t.Run("moderator outside the DM is not the blocked party", func(t *testing.T) {
		for _, owner := range []string{a, b} { // both DM partners block the moderator
			if err := f.mod.PutBlock(ctx, moderation.Block{UserID: owner, BlockedID: c}); err != nil {
				t.Fatal(err)
			}
		}
		mod := auth.Principal{Kind: auth.KindUser, UserID: c, Role: "moderator", Grants: []string{permissions.GrantEditAny}}
		if _, err := f.chat.Edit(ctx, mod, string(dm), theirs, "moderated"); err != nil {
			t.Fatalf("a moderator's edit in a DM it is not in: %v", err)
		}
	})
	t.Run("banned user edits and reacts", func(t *testing.T) {
		if _, err := f.mod.SetBan(ctx, a, auth.Ban{Reason: "spam"}); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.StatusTTL + time.Second)
		before := f.stored(t, b, dm, mine)
		if err := edit(a, "banned edit"); code(err) != apierror.Banned {
			t.Fatalf("banned edit: %v", err)
		}
		if _, err := f.chat.React(ctx, user(a), string(dm), theirs, "🎉", false); code(err) != apierror.Banned {
			t.Fatalf("banned reaction: %v", err)
		}
		if after := f.stored(t, b, dm, mine); after.Text != before.Text {
			t.Fatalf("banned edit stored: %q", after.Text)
		}
		if _, err := f.mod.ClearBan(ctx, a); err != nil {
			t.Fatal(err)
		}
		f.advance(moderation.StatusTTL + time.Second)
	})
	t.Run("edits count against the send rate limit", func(t *testing.T) {
		f.advance(time.Minute)
		var err error
		n := moderation.SendLimits[0].Size()
		for i := 0; i <= n && err == nil; i++ {
			err = edit(a, "edit "+string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		if code(err) != apierror.RateLimited {
			t.Fatalf("%d edits in a burst: %v", n+1, err)
		}
		if _, ok := apierror.Public(err).Details.(map[string]any)["retry_after_ms"]; !ok {
			t.Fatalf("no retry_after_ms: %v", err)
		}
	})
}
