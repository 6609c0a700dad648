package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestAdminChangesAreAudited: every admin-token change to a user, and
// every deletion, leaves exactly one entry naming the actor, the action
// and the user, with the request's origin; reads, replays, refusals and a
// user's change to its own profile leave none.
func TestAdminChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	id, self := testenv.ID("au"), testenv.ID("as")
	f.create(t, self) // audited: steps count from here
	withBody := func(r testenv.REST, p *auth.Principal, body string, headers map[string]string) testenv.REST {
		r.Principal, r.Body, r.Headers = p, body, headers
		return r
	}
	const admin = "credential:tk_test"
	key := map[string]string{"Idempotency-Key": "k-" + id}
	steps := []struct {
		name   string
		req    testenv.REST
		status int
		action string // "" : no entry
		actor  string
		// changes: before and after of each changed field (nil: not checked)
		changes map[string]audit.Change
	}{
		{"create", withBody(testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users"}, testenv.Admin(), `{"user_id":"`+id+`","nickname":"N"}`, key), http.StatusCreated, "user.create", admin, map[string]audit.Change{"nickname": {After: "N"}}},
		{"create replayed", withBody(testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users"}, testenv.Admin(), `{"user_id":"`+id+`","nickname":"N"}`, key), http.StatusCreated, "", "", nil},
		{"create refused (exists)", withBody(testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users"}, testenv.Admin(), `{"user_id":"`+id+`"}`, nil), http.StatusConflict, "", "", nil},
		{"get", withBody(one("GET", id), testenv.Admin(), "", nil), http.StatusOK, "", "", nil},
		{"list", withBody(testenv.REST{Method: "GET", Resource: "/v1/users", Path: "/v1/users"}, testenv.Admin(), "", nil), http.StatusOK, "", "", nil},
		{"update by admin", withBody(one("PATCH", id), testenv.Admin(), `{"nickname":"M","metadata":{"plan":"pro"}}`, nil), http.StatusOK, "user.update", admin,
			map[string]audit.Change{"nickname": {Before: "N", After: "M"}, "metadata": {Before: map[string]string{}, After: map[string]string{"plan": "pro"}}}},
		{"bad update", withBody(one("PATCH", id), testenv.Admin(), `{"user_id":"x"}`, nil), http.StatusBadRequest, "", "", nil},
		{"upsert (update)", withBody(one("PUT", id), testenv.Admin(), `{"nickname":"P","avatar_url":null}`, nil), http.StatusOK, "user.update", admin,
			map[string]audit.Change{"nickname": {Before: "M", After: "P"}, "avatar_url": {Before: "", After: ""}}},
		{"own profile by the user", withBody(one("PATCH", self), testenv.User(self), `{"nickname":"me"}`, nil), http.StatusOK, "", "", nil},
		{"another user's profile", withBody(one("PATCH", id), testenv.User(self), `{"nickname":"x"}`, nil), http.StatusForbidden, "", "", nil},
		{"delete by the user itself", withBody(one("DELETE", self), testenv.User(self), "", nil), http.StatusNoContent, "user.delete", "user:" + self, nil},
		{"upsert (create)", withBody(one("PUT", id+"-new"), testenv.Admin(), `{"nickname":"Q"}`, nil), http.StatusCreated, "user.create", admin,
			map[string]audit.Change{"nickname": {After: "Q"}}},
		{"delete by admin", withBody(one("DELETE", id), testenv.Admin(), "", nil), http.StatusNoContent, "user.delete", admin,
			map[string]audit.Change{"deleted": {Before: false, After: true}}},
		{"delete again", withBody(one("DELETE", id), testenv.Admin(), "", nil), http.StatusNotFound, "", "", nil},
	}
	for _, s := range steps {
		before := len(f.audit.Entries())
		r := testenv.Call(t, f.handler, s.req)
		if r.Status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
		var want *audit.Entry
		if s.action != "" {
			target := "user:" + id
			if s.actor != admin {
				target = "user:" + self
			}
			if strings.HasPrefix(s.name, "upsert (create)") {
				target += "-new"
			}
			want = &audit.Entry{Actor: s.actor, Action: s.action, Target: target}
		}
		got := f.audit.Entries()[before:]
		audittest.Want(t, s.name, got, want)
		if s.changes != nil {
			audittest.WantChanges(t, s.name, got[0], s.changes)
		}
	}
}
