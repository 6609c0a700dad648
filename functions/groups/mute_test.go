package main

import (
	"net/http"
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestGroupWideMuteRoute: PATCH muted_all by the owner mutes the group
// (shown on the group); a plain member may not; null or a non-boolean is
// refused and changes nothing; an admin token's change is audited.
func TestGroupWideMuteRoute(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	gid := testenv.ID("mg")
	if r := call(t, f, testenv.User(u[0]), "POST", "/v1/groups", nil, `{"group_id":"`+gid+`","members":["`+u[1]+`"]}`); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	g := map[string]string{"group_id": gid}
	for _, s := range []struct {
		name   string
		p      *auth.Principal
		body   string
		status int
		code   string
		muted  bool // muted_all on the group afterwards
	}{
		{"plain member", testenv.User(u[1]), `{"muted_all":true}`, http.StatusForbidden, "forbidden", false},
		{"null", testenv.User(u[0]), `{"muted_all":null}`, http.StatusBadRequest, "validation_failed", false},
		{"not a boolean", testenv.User(u[0]), `{"muted_all":"yes"}`, http.StatusBadRequest, "", false},
		{"owner mutes", testenv.User(u[0]), `{"muted_all":true}`, http.StatusOK, "", true},
		{"admin token lifts", testenv.Admin(), `{"muted_all":false}`, http.StatusOK, "", false},
	} {
		r := call(t, f, s.p, "PATCH", "/v1/groups/{group_id}", g, s.body)
		if r.Status != s.status || (s.code != "" && !hasCode(r, s.code)) {
			t.Fatalf("%s: %d %s, want %d %s", s.name, r.Status, r.Body, s.status, s.code)
		}
		read := call(t, f, testenv.User(u[1]), "GET", "/v1/groups/{group_id}", g, "")
		if read.JSON["muted_all"] != s.muted {
			t.Fatalf("%s: group shows muted_all=%v, want %v (%s)", s.name, read.JSON["muted_all"], s.muted, read.Body)
		}
	}
	es := f.audit.Entries()
	if len(es) != 1 || es[0].Action != "group.update" || es[0].Changes["muted_all"].After != false {
		t.Fatalf("audit %+v, want one group.update lifting muted_all", es)
	}
}

func hasCode(r testenv.Reply, code string) bool {
	e, _ := r.JSON["error"].(map[string]any)
	return e["code"] == code
}
