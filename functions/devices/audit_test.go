package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestAdminDeviceChangesAreAudited: each change an admin token makes to a
// user's devices or push settings leaves exactly one entry (actor,
// action, target user); the user's own changes, reads and refusals leave
// none, and no device token enters the log.
func TestAdminDeviceChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	bob, alice := f.user(t, "bob"), f.user(t, "alice")
	me, admin := testenv.User(bob), testenv.Admin()
	conv := string(chat.DMID(alice, bob))
	const actor = "credential:tk_test"
	steps := []struct {
		name   string
		req    testenv.REST
		status int
		action string // "": no entry
	}{
		{"admin registers", deviceReq("PUT", admin, bob, "iphone", `{"platform":"apns","token":"`+apnsTok+`"}`), http.StatusCreated, "device.register"},
		{"admin re-registers", deviceReq("PUT", admin, bob, "iphone", `{"platform":"apns","token":"`+apnsTok+`","locale":"fr"}`), http.StatusOK, "device.register"},
		{"user registers", deviceReq("PUT", me, bob, "pixel", `{"platform":"fcm","token":"`+fcmTok+`"}`), http.StatusCreated, ""},
		{"admin bad device", deviceReq("PUT", admin, bob, "x", `{"platform":"nope"}`), http.StatusBadRequest, ""},
		{"admin lists", listReq(admin, bob), http.StatusOK, ""},
		{"admin deletes", deviceReq("DELETE", admin, bob, "iphone", ""), http.StatusNoContent, "device.delete"},
		{"user deletes", deviceReq("DELETE", me, bob, "pixel", ""), http.StatusNoContent, ""},
		{"admin sets settings", settingsReq("PUT", admin, bob, `{"preview":false}`), http.StatusOK, "push_settings.set"},
		{"user sets settings", settingsReq("PUT", me, bob, `{"preview":true}`), http.StatusOK, ""},
		{"admin reads settings", settingsReq("GET", admin, bob, ""), http.StatusOK, ""},
		{"admin sets a conversation", convReq("PUT", admin, bob, conv, `{"level":"none"}`), http.StatusOK, "push_settings.conversation_set"},
		{"user sets a conversation", convReq("PUT", me, bob, conv, `{"level":"all"}`), http.StatusOK, ""},
	}
	for _, s := range steps {
		n := len(f.audit.Entries())
		r := testenv.Call(t, f.handler, s.req)
		if r.Status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
		var want *audit.Entry
		if s.action != "" {
			want = &audit.Entry{Actor: actor, Action: s.action, Target: "user:" + bob}
		}
		audittest.Want(t, s.name, f.audit.Entries()[n:], want)
	}
	if j, _ := json.Marshal(f.audit.Entries()); strings.Contains(string(j), apnsTok) {
		t.Fatalf("a device token reached the log: %s", j)
	}
}
