package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestEveryModerationActionAudited: each change leaves exactly one entry
// with the right actor, action and target; a refused request leaves none;
// the word list itself never enters the log.
func TestEveryModerationActionAudited(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "aud", 3)
	a, b, mod := ids[0], ids[1], ids[2]
	m, _, err := f.chat.Send(ctx, *testenv.User(a), chat.SendInput{ToUser: b, Text: "hey"})
	if err != nil {
		t.Fatal(err)
	}
	admin := moderator()
	n := len(f.log.Entries())
	var changes map[string]audit.Change // the next step's before and after (nil: not checked)
	want := func(c map[string]audit.Change) { changes = c }
	step := func(name string, r testenv.Reply, action, actor, target string) {
		t.Helper()
		got := f.log.Entries()[n:]
		n = len(f.log.Entries())
		if r.Status >= 300 {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		if len(got) != 1 || got[0].Action != action || got[0].Actor != actor || got[0].Target != target || got[0].RequestID == "" {
			t.Fatalf("%s: want one %s by %s on %s, got %+v", name, action, actor, target, got)
		}
		if changes != nil {
			audittest.WantChanges(t, name, got[0], changes)
			changes = nil
		}
	}
	pa := f.principal(t, a)
	want(map[string]audit.Change{"role": {Before: "user", After: "moderator"}})
	step("role", f.call(t, "PUT", "/v1/users/{user_id}/role", map[string]string{"user_id": mod}, `{"role":"moderator"}`, admin), "user.role", "credential:tk_mod", "user:"+mod)
	pm := f.principal(t, mod)
	want(map[string]audit.Change{"banned": {Before: false, After: true}, "reason": {Before: "", After: "spam"}})
	step("ban", f.call(t, "PUT", "/v1/users/{user_id}/ban", map[string]string{"user_id": b}, `{"reason":"spam"}`, pm), "user.ban", "user:"+mod, "user:"+b)
	want(map[string]audit.Change{"banned": {Before: true, After: false}, "reason": {Before: "spam", After: ""}})
	step("unban", f.call(t, "DELETE", "/v1/users/{user_id}/ban", map[string]string{"user_id": b}, "", admin), "user.unban", "credential:tk_mod", "user:"+b)
	step("block", f.call(t, "PUT", "/v1/users/{user_id}/blocks/{blocked_id}", map[string]string{"user_id": a, "blocked_id": b}, "", pa), "block.add", "user:"+a, "user:"+a)
	step("unblock", f.call(t, "DELETE", "/v1/users/{user_id}/blocks/{blocked_id}", map[string]string{"user_id": a, "blocked_id": b}, "", pa), "block.remove", "user:"+a, "user:"+a)
	want(map[string]audit.Change{"grants": {After: []string{"read_reports"}}})
	step("define role", f.call(t, "PUT", "/v1/roles/{role}", map[string]string{"role": "auditor"}, `{"grants":["read_reports"]}`, admin), "role.put", "credential:tk_mod", "role:auditor")
	want(map[string]audit.Change{"grants": {Before: []string{"read_reports"}, After: []string{"read_reports", "ban"}}})
	step("redefine role", f.call(t, "PUT", "/v1/roles/{role}", map[string]string{"role": "auditor"}, `{"grants":["read_reports","ban"]}`, admin), "role.put", "credential:tk_mod", "role:auditor")
	want(map[string]audit.Change{"grants": {Before: []string{"read_reports", "ban"}}})
	step("delete role", f.call(t, "DELETE", "/v1/roles/{role}", map[string]string{"role": "auditor"}, "", admin), "role.delete", "credential:tk_mod", "role:auditor")
	want(map[string]audit.Change{"action": {Before: "mask", After: "mask"}, "words": {Before: 0, After: 1}})
	step("word filter", f.call(t, "PUT", "/v1/moderation/word-filter", nil, `{"action":"mask","words":["verysecretslur"]}`, admin), "word_filter.set", "credential:tk_mod", "word_filter")
	want(map[string]audit.Change{"action": {Before: "mask", After: "reject"}, "words": {Before: 1, After: 2}})
	step("word filter again", f.call(t, "PUT", "/v1/moderation/word-filter", nil, `{"action":"reject","words":["verysecretslur","other"]}`, admin), "word_filter.set", "credential:tk_mod", "word_filter")
	want(map[string]audit.Change{"banned": {Before: false, After: true}, "reason": {Before: "", After: "timeout"}, "expires_at": {After: "2030-01-02T03:04:05Z"}})
	step("ban with expiry", f.call(t, "PUT", "/v1/users/{user_id}/ban", map[string]string{"user_id": a}, `{"reason":"timeout","expires_at":"2030-01-02T03:04:05Z"}`, admin), "user.ban", "credential:tk_mod", "user:"+a)
	want(map[string]audit.Change{"banned": {Before: true, After: true}, "reason": {Before: "timeout", After: "for good"}, "expires_at": {Before: "2030-01-02T03:04:05Z"}})
	step("ban replaced", f.call(t, "PUT", "/v1/users/{user_id}/ban", map[string]string{"user_id": a}, `{"reason":"for good"}`, admin), "user.ban", "credential:tk_mod", "user:"+a)
	want(map[string]audit.Change{"banned": {Before: true, After: false}, "reason": {Before: "for good", After: ""}})
	step("unban again", f.call(t, "DELETE", "/v1/users/{user_id}/ban", map[string]string{"user_id": a}, "", admin), "user.unban", "credential:tk_mod", "user:"+a)
	if j, _ := json.Marshal(f.log.Entries()); strings.Contains(string(j), "verysecretslur") {
		t.Fatal("the word list reached the log")
	}
	r := f.call(t, "POST", "/v1/reports", nil, `{"conversation_id":"`+string(chat.DMID(a, b))+`","seq":`+strconv.FormatInt(m.Seq, 10)+`,"reason":"rude"}`, f.principal(t, b))
	step("report", r, "report.create", "user:"+b, "report:"+r.JSON["report_id"].(string))
	step("resolve", f.call(t, "POST", "/v1/reports/{report_id}/resolve", map[string]string{"report_id": r.JSON["report_id"].(string)}, `{"resolution":"ok"}`, pm),
		"report.resolve", "user:"+mod, "report:"+r.JSON["report_id"].(string))
	// Refusals: none recorded.
	f.call(t, "PUT", "/v1/users/{user_id}/ban", map[string]string{"user_id": mod}, `{"reason":"x"}`, pm)
	f.call(t, "PUT", "/v1/roles/{role}", map[string]string{"role": "Bad Name"}, `{"grants":[]}`, admin)
	f.call(t, "PUT", "/v1/users/{user_id}/blocks/{blocked_id}", map[string]string{"user_id": b, "blocked_id": a}, "", pa)
	if got := f.log.Entries()[n:]; len(got) != 0 {
		t.Fatalf("refusals audited: %+v", got)
	}
}
