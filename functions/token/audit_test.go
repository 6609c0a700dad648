package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// entriesSince returns the entries written after the first n.
func (f *fixture) entriesSince(n int) []audit.Entry { return f.log.Entries()[n:] }

// TestAuditedTokenActions: each audited action leaves exactly one entry,
// with the right actor, action and target, the request's id and address,
// and no secret anywhere in it; refused requests leave none.
func TestAuditedTokenActions(t *testing.T) {
	f := newFixture(t)
	full := f.fullAdmin(t)
	n := len(f.log.Entries())
	check := func(t *testing.T, action, actor, target string) audit.Entry {
		t.Helper()
		got := f.entriesSince(n)
		n = len(f.log.Entries())
		if len(got) != 1 || got[0].Action != action || got[0].Actor != actor || got[0].Target != target ||
			got[0].RequestID == "" || got[0].SourceIP != "203.0.113.7" || got[0].ExpiresAt == 0 {
			t.Fatalf("want one %s by %s on %s, got %+v", action, actor, target, got)
		}
		return got[0]
	}
	r := testenv.Call(t, f.handler, credReq("POST", "", `{"name":"ci","scopes":["jobs:write"]}`, full))
	keyID, secret := r.JSON["key_id"].(string), r.JSON["secret"].(string)
	e := check(t, "credential.create", "credential:"+f.keyID, "credential:"+keyID)
	if b, _ := json.Marshal(e); strings.Contains(string(b), secret) || strings.Contains(string(b), "secret") {
		t.Fatalf("a secret reached the log: %s", b)
	}
	if e.Changes["scopes"].After != "jobs:write" {
		t.Fatalf("changes %+v", e.Changes)
	}
	testenv.Call(t, f.handler, credReq("PATCH", keyID, `{"disabled":true}`, full))
	e = check(t, "credential.disable", "credential:"+f.keyID, "credential:"+keyID)
	if e.Changes["disabled"].Before != false || e.Changes["disabled"].After != true {
		t.Fatalf("disable changes %+v", e.Changes)
	}
	testenv.Call(t, f.handler, credReq("PATCH", keyID, `{"disabled":false}`, full))
	check(t, "credential.enable", "credential:"+f.keyID, "credential:"+keyID)

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {keyID}, "client_secret": {secret}}.Encode()
	r = testenv.Call(t, f.handler, tokenReq("application/x-www-form-urlencoded", form, nil))
	e = check(t, "admin_token.issue", "credential:"+keyID, "credential:"+keyID)
	if b, _ := json.Marshal(e); strings.Contains(string(b), r.JSON["access_token"].(string)) {
		t.Fatal("the token reached the log")
	}

	ids := testenv.NewUsers(t, newUsersSvc(f), "aud", 1)
	n = len(f.log.Entries())
	testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/users/{user_id}/tokens", Path: "/v1/users/" + ids[0] + "/tokens",
		PathParams: map[string]string{"user_id": ids[0]}, Principal: full})
	check(t, "user_token.issue", "credential:"+f.keyID, "user:"+ids[0])

	testenv.Call(t, f.handler, credReq("DELETE", keyID, "", full))
	check(t, "credential.delete", "credential:"+f.keyID, "credential:"+keyID)

	// Refusals record nothing.
	testenv.Call(t, f.handler, credReq("POST", "", `{"scopes":["nope"]}`, full))
	testenv.Call(t, f.handler, credReq("DELETE", f.keyID, "", full))
	if got := f.entriesSince(n); len(got) != 0 {
		t.Fatalf("refused requests were audited: %+v", got)
	}
}

// TestFailedAuthSummarised: failed client authentication from one address
// leaves one entry at 5 failures (count 5), not one per failure.
func TestFailedAuthSummarised(t *testing.T) {
	f := newFixture(t)
	n := len(f.log.Entries())
	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.keyID}, "client_secret": {"tks_wrong"}}.Encode()
	for i := range 9 {
		if r := testenv.Call(t, f.handler, tokenReq("application/x-www-form-urlencoded", bad, nil)); r.Status != 401 {
			t.Fatalf("failure %d: %d %s", i, r.Status, r.Body)
		}
		got := f.entriesSince(n)
		if want := map[bool]int{true: 1, false: 0}[i >= 4]; len(got) != want {
			t.Fatalf("after %d failures: %d entries, want %d", i+1, len(got), want)
		}
	}
	e := f.entriesSince(n)[0]
	if e.Actor != "ip:203.0.113.7" || e.Action != "auth.failed" || e.Target != "invalid_client" || e.Count != 5 {
		t.Fatalf("summary %+v", e)
	}
}

func newUsersSvc(f *fixture) *users.Service {
	return users.NewService(f.env.Stores().Users, f.env.Cursors, nil)
}
