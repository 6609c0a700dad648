package main

import (
	"net/http"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestChangesByOthersAreAudited: a recall or edit by anyone but the sender
// (an admin token, a group owner, a moderator's grant) and a send by the
// post_any_group grant each leave exactly one entry with the request's id;
// the sender's own edit and recall, sends, reads and refusals leave none.
func TestChangesByOthersAreAudited(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 3) // owner, member, moderator (not a member)
	g, _, err := f.svc.CreateGroup(ctx, *testenv.User(u[0]), chat.CreateGroupInput{Members: []string{u[1]}})
	if err != nil {
		t.Fatal(err)
	}
	cid := string(g.ConversationID)
	mod := testenv.User(u[2])
	mod.Grants = []string{permissions.GrantPostAnyGroup, permissions.GrantEditAny}
	toGroup := func(text string) req {
		return send(`{"to_group":"` + g.GroupID + `","text":"` + text + `"}`)
	}
	adm := testenv.Admin()
	steps := []struct {
		name   string
		p      *auth.Principal
		r      req
		status int
		action string // "": no entry
		target string
		actor  string
	}{
		{"member sends 1", testenv.User(u[1]), toGroup("one"), http.StatusCreated, "", "", ""},
		{"member sends 2", testenv.User(u[1]), toGroup("two"), http.StatusCreated, "", "", ""},
		{"member sends 3", testenv.User(u[1]), toGroup("three"), http.StatusCreated, "", "", ""},
		{"sender edits own", testenv.User(u[1]), msg("PATCH", "", cid, "1", `{"text":"uno"}`), http.StatusOK, "", "", ""},
		{"history", testenv.User(u[1]), conv("GET", "/messages", cid, nil, ""), http.StatusOK, "", "", ""},
		{"owner edits another's (refused)", testenv.User(u[0]), msg("PATCH", "", cid, "1", `{"text":"x"}`), http.StatusForbidden, "", "", ""},
		{"admin edits", adm, msg("PATCH", "", cid, "1", `{"text":"edited"}`), http.StatusOK, "message.edit", cid + "/1", "credential:tk_test"},
		{"owner recalls another's", testenv.User(u[0]), msg("POST", "/recall", cid, "2", ""), http.StatusOK, "message.recall", cid + "/2", "user:" + u[0]},
		{"moderator edits", mod, msg("PATCH", "", cid, "3", `{"text":"moderated"}`), http.StatusOK, "message.edit", cid + "/3", "user:" + u[2]},
		{"sender recalls own", testenv.User(u[1]), msg("POST", "/recall", cid, "1", ""), http.StatusOK, "", "", ""},
		{"moderator sends", mod, toGroup("notice"), http.StatusCreated, "message.send_any_group", "", "user:" + u[2]},
		{"admin sends as a member", adm, send(`{"to_group":"` + g.GroupID + `","sender_id":"` + u[1] + `","text":"a"}`), http.StatusCreated, "", "", ""},
		{"admin pins", adm, msg("PUT", "/pin", cid, "3", ""), http.StatusOK, "message.pin", cid + "/3", "credential:tk_test"},
		{"admin pins again (no change)", adm, msg("PUT", "/pin", cid, "3", ""), http.StatusOK, "", "", ""},
		{"owner pins (their group)", testenv.User(u[0]), msg("PUT", "/pin", cid, "10", ""), http.StatusOK, "", "", ""},
		{"admin unpins", adm, msg("DELETE", "/pin", cid, "10", ""), http.StatusOK, "message.unpin", cid + "/10", "credential:tk_test"},
		{"owner unpins (their group)", testenv.User(u[0]), msg("DELETE", "/pin", cid, "3", ""), http.StatusOK, "", "", ""},
	}
	for _, s := range steps {
		before := len(f.audit.Entries())
		r := f.call(t, s.p, s.r)
		if r.Status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
		var want *audit.Entry
		if s.action != "" {
			target := "message:" + s.target
			if s.target == "" {
				target = "group:" + g.GroupID
			}
			want = &audit.Entry{Actor: s.actor, Action: s.action, Target: target}
		}
		audittest.Want(t, s.name, f.audit.Entries()[before:], want)
	}
}
