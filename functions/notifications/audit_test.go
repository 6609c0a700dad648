package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestBroadcastsAreAudited: each broadcast an admin token submits leaves
// exactly one notification.send entry (actor, target, title, audience as
// a count); a replay, a refused submit and reads leave none, and the
// body and data never enter the log.
func TestBroadcastsAreAudited(t *testing.T) {
	h, _, log := newAuditedHandler(t, 100)
	key := map[string]string{"Idempotency-Key": testenv.ID("k")}
	body := `{"title":"Hello","body":"secret launch code","data":{"code":"hush"},"audience":{"user_ids":["alice","bob"]}}`
	r := testenv.Call(t, h, submit(testenv.Admin(), body, key))
	if r.Status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	id := r.JSON["notification_id"].(string)
	got := log.Entries()
	audittest.Want(t, "submit", got, &audit.Entry{Actor: "credential:tk_test", Action: "notification.send", Target: "notification:" + id})
	audittest.WantChanges(t, "submit", got[0], map[string]audit.Change{"title": {After: "Hello"}, "audience": {After: map[string]any{"user_ids": 2}}})
	if j, _ := json.Marshal(got); strings.Contains(string(j), "launch code") || strings.Contains(string(j), "hush") {
		t.Fatalf("the broadcast's text reached the log: %s", j)
	}
	n := len(log.Entries())
	steps := []struct {
		name string
		req  testenv.REST
	}{
		{"replay", submit(testenv.Admin(), body, key)},
		{"user token", submit(testenv.User("alice"), body, nil)},
		{"bad body", submit(testenv.Admin(), `{"title":""}`, nil)},
		{"read", testenv.REST{Method: "GET", Resource: getRoute, Path: "/v1/notifications/" + id, PathParams: map[string]string{"notification_id": id}, Principal: testenv.Admin()}},
	}
	for _, s := range steps {
		testenv.Call(t, h, s.req)
		audittest.Want(t, s.name, log.Entries()[n:], nil)
	}
	r = testenv.Call(t, h, submit(testenv.Admin(), `{"title":"All","body":"b","audience":{"all":true}}`, nil))
	if r.Status != http.StatusAccepted {
		t.Fatalf("submit all: %d %s", r.Status, r.Body)
	}
	got = log.Entries()[n:]
	audittest.Want(t, "submit to all", got, &audit.Entry{Actor: "credential:tk_test", Action: "notification.send", Target: "notification:" + r.JSON["notification_id"].(string)})
	audittest.WantChanges(t, "submit to all", got[0], map[string]audit.Change{"title": {After: "All"}, "audience": {After: map[string]any{"all": true}}})
}
