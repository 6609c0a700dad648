package main

import (
	"net/http"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestAdminGroupChangesAreAudited: every change an admin token makes to a
// group, and every dissolution (by its owner too), leaves exactly one
// entry (actor, action, group:<id>) with the request's id; reads, the
// owner's ordinary management and refused requests leave none.
func TestAdminGroupChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 4) // owner, a member, one to add, owner of a second group
	gid, own := testenv.ID("ag"), testenv.ID("og")
	adm, owner := testenv.Admin(), testenv.User(u[0])
	g := map[string]string{"group_id": gid}
	m := func(uid string) map[string]string { return map[string]string{"group_id": gid, "user_id": uid} }
	const actor = "credential:tk_test"
	steps := []struct {
		name           string
		p              *auth.Principal
		method, res    string
		params         map[string]string
		body           string
		status         int
		action, target string // "": no entry
		actor          string
	}{
		{"create", adm, "POST", "/v1/groups", nil, `{"group_id":"` + gid + `","owner_id":"` + u[0] + `","members":["` + u[1] + `"]}`, http.StatusCreated, "group.create", gid, actor},
		{"create refused", adm, "POST", "/v1/groups", nil, `{"group_id":"bad id"}`, http.StatusBadRequest, "", "", ""},
		{"get", adm, "GET", "/v1/groups/{group_id}", g, "", http.StatusOK, "", "", ""},
		{"list members", adm, "GET", "/v1/groups/{group_id}/members", g, "", http.StatusOK, "", "", ""},
		{"update", adm, "PATCH", "/v1/groups/{group_id}", g, `{"name":"n2"}`, http.StatusOK, "group.update", gid, actor},
		{"owner updates", owner, "PATCH", "/v1/groups/{group_id}", g, `{"name":"n3"}`, http.StatusOK, "", "", ""},
		{"add", adm, "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":["` + u[2] + `"]}`, http.StatusOK, "group.members_add", gid, actor},
		{"mute", adm, "PATCH", "/v1/groups/{group_id}/members/{user_id}", m(u[1]), `{"muted":true}`, http.StatusOK, "group.member_update", gid, actor},
		{"owner unmutes", owner, "PATCH", "/v1/groups/{group_id}/members/{user_id}", m(u[1]), `{"muted":false}`, http.StatusOK, "", "", ""},
		{"remove", adm, "DELETE", "/v1/groups/{group_id}/members/{user_id}", m(u[2]), "", http.StatusNoContent, "group.member_remove", gid, actor},
		{"remove the owner (refused)", adm, "DELETE", "/v1/groups/{group_id}/members/{user_id}", m(u[0]), "", http.StatusBadRequest, "", "", ""},
		{"transfer", adm, "POST", "/v1/groups/{group_id}/transfer", g, `{"user_id":"` + u[1] + `"}`, http.StatusOK, "group.transfer", gid, actor},
		{"dissolve", adm, "DELETE", "/v1/groups/{group_id}", g, "", http.StatusNoContent, "group.dissolve", gid, actor},
		{"a user's create", testenv.User(u[3]), "POST", "/v1/groups", nil, `{"group_id":"` + own + `"}`, http.StatusCreated, "", "", ""},
		{"its owner dissolves", testenv.User(u[3]), "DELETE", "/v1/groups/{group_id}", map[string]string{"group_id": own}, "", http.StatusNoContent, "group.dissolve", own, "user:" + u[3]},
	}
	for _, s := range steps {
		before := len(f.audit.Entries())
		r := call(t, f, s.p, s.method, s.res, s.params, s.body)
		if r.Status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
		var want *audit.Entry
		if s.action != "" {
			want = &audit.Entry{Actor: s.actor, Action: s.action, Target: "group:" + s.target}
		}
		audittest.Want(t, s.name, f.audit.Entries()[before:], want)
	}
}
