package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/testenv"
)

func settingsReq(method string, p *auth.Principal, user, body string) testenv.REST {
	return testenv.REST{Method: method, Resource: settingsRoute, Path: "/v1/users/" + user + "/push-settings",
		PathParams: map[string]string{"user_id": user}, Body: body, Principal: p}
}

func convReq(method string, p *auth.Principal, user, conv, body string) testenv.REST {
	return testenv.REST{Method: method, Resource: convRoute, Path: "/v1/users/" + user + "/push-settings/conversations/" + conv,
		PathParams: map[string]string{"user_id": user, "conversation_id": conv}, Body: body, Principal: p}
}

func TestPushSettings(t *testing.T) {
	f := newFixture(t)
	bob, alice := f.user(t, "bob"), f.user(t, "alice")
	me := testenv.User(bob)
	if r := testenv.Call(t, f.handler, settingsReq("GET", me, bob, "")); r.Status != http.StatusOK || r.Body != `{"preview":true}` {
		t.Fatalf("defaults: %d %s", r.Status, r.Body)
	}
	body := `{"preview":false,"dnd":{"start":"22:30","end":"07:00","time_zone":"Asia/Tokyo"}}`
	if r := testenv.Call(t, f.handler, settingsReq("PUT", me, bob, body)); r.Status != http.StatusOK || r.Body != body {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, settingsReq("GET", testenv.Admin(), bob, "")); r.Body != body {
		t.Fatalf("read back: %s", r.Body)
	}
	if r := testenv.Call(t, f.handler, settingsReq("PUT", me, bob, `{"dnd":null}`)); r.Body != `{"preview":true}` {
		t.Fatalf("dnd off: %s", r.Body)
	}
	if r := testenv.Call(t, f.handler, settingsReq("PUT", testenv.User(alice), bob, `{"preview":false}`)); r.Status != http.StatusForbidden {
		t.Fatalf("alice changed bob's settings: %d %s", r.Status, r.Body)
	}
	tz := `{"start":"22:00","end":"07:00","time_zone":"Mars/Olympus"}`
	for name, tc := range map[string]struct{ body, field string }{
		"bad time":      {`{"dnd":{"start":"24:00","end":"07:00","time_zone":"UTC"}}`, "dnd.start"},
		"empty window":  {`{"dnd":{"start":"07:00","end":"07:00","time_zone":"UTC"}}`, "dnd.end"},
		"unknown zone":  {`{"dnd":` + tz + `}`, "dnd.time_zone"},
		"no zone":       {`{"dnd":{"start":"22:00","end":"07:00"}}`, "dnd.time_zone"},
		"preview null":  {`{"preview":null}`, "preview"},
		"unknown field": {`{"sound":"ping"}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, settingsReq("PUT", me, bob, tc.body))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if d, _ := r.JSON["error"].(map[string]any)["details"].(map[string]any); tc.field != "" && d["field"] != tc.field {
				t.Fatalf("details %v, want field %s", d, tc.field)
			}
			if g := testenv.Call(t, f.handler, settingsReq("GET", me, bob, "")); g.Body != `{"preview":true}` {
				t.Fatalf("stored %s", g.Body)
			}
		})
	}
}

func TestConversationPushSetting(t *testing.T) {
	f := newFixture(t)
	bob := f.user(t, "bob")
	me := testenv.User(bob)
	dm := "dm:" + bob + ":zed" // either order: stored under the canonical id
	if r := testenv.Call(t, f.handler, convReq("GET", me, bob, dm, "")); r.Status != http.StatusOK || r.Body != `{"level":"all"}` {
		t.Fatalf("default: %d %s", r.Status, r.Body)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	if r := testenv.Call(t, f.handler, convReq("PUT", me, bob, "dm:zed:"+bob, `{"level":"none","until":"`+until+`"}`)); r.Status != http.StatusOK {
		t.Fatalf("mute: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, convReq("GET", me, bob, dm, "")); r.JSON["level"] != "none" || r.JSON["until"] != until {
		t.Fatalf("read back: %s (until %s)", r.Body, until)
	}
	for name, tc := range map[string]struct{ conv, body, code string }{
		"bad level":     {dm, `{"level":"some"}`, "validation_failed"},
		"until passed":  {dm, `{"level":"none","until":"2020-01-01T00:00:00Z"}`, "validation_failed"},
		"bad conv id":   {"x:y", `{"level":"none"}`, "invalid_id"},
		"missing level": {dm, `{}`, "validation_failed"},
	} {
		t.Run(name, func(t *testing.T) {
			if r := testenv.Call(t, f.handler, convReq("PUT", me, bob, tc.conv, tc.body)); r.Status != http.StatusBadRequest || r.ErrorCode() != tc.code {
				t.Fatalf("%d %s, want %s", r.Status, r.Body, tc.code)
			}
		})
	}
	if r := testenv.Call(t, f.handler, convReq("PUT", testenv.User("mallory"), bob, dm, `{"level":"all"}`)); r.Status != http.StatusForbidden {
		t.Fatalf("another user: %d %s", r.Status, r.Body)
	}
}
