package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/push/pushtest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newHandler(t *testing.T, perDay int) (any, *testenv.Env) {
	t.Helper()
	h, env, _ := newAuditedHandler(t, perDay)
	return h, env
}

// newAuditedHandler is newHandler with the audit log it records to.
func newAuditedHandler(t *testing.T, perDay int) (any, *testenv.Env, *memstore.Audit) {
	t.Helper()
	env := testenv.Get(t)
	s := pushtest.NewStore(env)
	// A day of its own far ahead: the emulator's quota items are shared by
	// the package's tests.
	day := time.Date(2100, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(36500))
	b := push.NewBroadcasts(s, env.Queue("PushQueue"), push.BroadcastConfig{PerDay: perDay}, func() time.Time { return day })
	log := memstore.NewAudit()
	rec := audit.NewRecorder(log, 0, logging.NewTo(io.Discard, "notifications"), nil)
	return NewHandler(b, rec, logging.NewTo(io.Discard, "notifications")).Handle, env, log
}

func submit(p *auth.Principal, body string, headers map[string]string) testenv.REST {
	return testenv.REST{Method: "POST", Resource: submitRoute, Path: "/v1/notifications", Body: body, Principal: p, Headers: headers}
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, nil, logging.NewTo(io.Discard, "notifications"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("NotificationsFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

// TestSubmit: 202 with a Location to the job; a retry with the same
// Idempotency-Key returns the same job and queues nothing new; the key
// with another body is refused.
func TestSubmit(t *testing.T) {
	h, _ := newHandler(t, 100)
	key := map[string]string{"Idempotency-Key": testenv.ID("k")}
	body := `{"title":"Hello","body":"Welcome to TokenIM","data":{"screen":"news"},"link":"myapp://news","audience":{"user_ids":["alice","bob","alice"]}}`
	r := testenv.Call(t, h, submit(testenv.Admin(), body, key))
	id, _ := r.JSON["notification_id"].(string)
	if r.Status != http.StatusAccepted || r.Headers["Location"] != "/v1/notifications/"+id || r.JSON["state"] != "running" {
		t.Fatalf("submit: %d %v %s", r.Status, r.Headers, r.Body)
	}
	if aud := r.JSON["audience"].(map[string]any)["user_ids"].([]any); len(aud) != 2 {
		t.Fatalf("audience not deduplicated: %v", aud)
	}
	again := testenv.Call(t, h, submit(testenv.Admin(), body, key))
	if again.Status != http.StatusAccepted || again.JSON["notification_id"] != id || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("retry: %d %v %s", again.Status, again.Headers, again.Body)
	}
	other := testenv.Call(t, h, submit(testenv.Admin(), strings.Replace(body, "Hello", "Bye", 1), key))
	if other.Status != http.StatusConflict || other.ErrorCode() != "idempotency_key_reused" {
		t.Fatalf("key reused: %d %s", other.Status, other.Body)
	}
	g := testenv.Call(t, h, testenv.REST{Method: "GET", Resource: getRoute, Path: "/v1/notifications/" + id, PathParams: map[string]string{"notification_id": id}, Principal: testenv.Admin()})
	if g.Status != http.StatusOK || g.JSON["title"] != "Hello" || g.JSON["counts"].(map[string]any)["targeted"] != float64(0) {
		t.Fatalf("get: %d %s", g.Status, g.Body)
	}
}

// TestSubmitBadInput: each refusal has its documented code and queues
// nothing.
func TestSubmitBadInput(t *testing.T) {
	h, env := newHandler(t, 100)
	var many []string
	for i := range push.MaxBroadcastUsers + 1 {
		many = append(many, fmt.Sprintf(`"u%d"`, i))
	}
	tests := []struct {
		name, body string
		p          *auth.Principal
		status     int
		code       string
	}{
		{"user token", `{"title":"t","body":"b","audience":{"all":true}}`, testenv.User("bob"), 403, "forbidden"},
		{"more than 1,000 ids", `{"title":"t","body":"b","audience":{"user_ids":[` + strings.Join(many, ",") + `]}}`, testenv.Admin(), 400, "too_many_recipients"},
		{"no audience", `{"title":"t","body":"b","audience":{}}`, testenv.Admin(), 400, "validation_failed"},
		{"two audiences", `{"title":"t","body":"b","audience":{"all":true,"group_id":"g"}}`, testenv.Admin(), 400, "validation_failed"},
		{"bad user id", `{"title":"t","body":"b","audience":{"user_ids":["a#b"]}}`, testenv.Admin(), 400, "invalid_id"},
		{"no title", `{"body":"b","audience":{"all":true}}`, testenv.Admin(), 400, "validation_failed"},
		{"body too long", `{"title":"t","body":"` + strings.Repeat("x", push.MaxBodyRunes+1) + `","audience":{"all":true}}`, testenv.Admin(), 400, "validation_failed"},
		{"unknown field", `{"title":"t","body":"b","audience":{"all":true},"sound":"x"}`, testenv.Admin(), 400, "unknown_field"},
		{"data too large for a push", `{"title":"t","body":"b","data":{"a":"` + strings.Repeat("x", 1000) + `","b":"` + strings.Repeat("x", 1000) + `","c":"` + strings.Repeat("x", 1000) + `"},"audience":{"all":true}}`, testenv.Admin(), 400, "notification_too_large"},
		{"fields together too large for a push", `{"title":"` + strings.Repeat("t", push.MaxTitleRunes) + `","body":"` + strings.Repeat("b", push.MaxBodyRunes) + `","link":"https://example.com/` + strings.Repeat("l", 2000) + `","audience":{"user_ids":["alice"]}}`, testenv.Admin(), 400, "notification_too_large"},
	}
	before := env.QueueLen(context.Background(), "PushQueue")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, h, submit(tc.p, tc.body, nil))
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	if n := env.QueueLen(context.Background(), "PushQueue"); n != before {
		t.Fatalf("queued %d jobs for refused submits", n-before)
	}
}

// TestDailyQuota: the third broadcast of a day with a quota of 2 is
// refused; a keyed retry of an accepted one is still its replay (it
// creates nothing), and a new key is refused.
func TestDailyQuota(t *testing.T) {
	h, env := newHandler(t, 2)
	key := map[string]string{"Idempotency-Key": testenv.ID("k")}
	body := `{"title":"t","body":"b","audience":{"all":true}}`
	var first string
	for i, want := range []int{202, 202, 429} {
		hd := map[string]string(nil)
		if i == 0 {
			hd = key
		}
		r := testenv.Call(t, h, submit(testenv.Admin(), body, hd))
		if r.Status != want || (want == 429 && r.ErrorCode() != "quota_exceeded") {
			t.Fatalf("submit %d: %d %s, want %d", i, r.Status, r.Body, want)
		}
		if i == 0 {
			first, _ = r.JSON["notification_id"].(string)
		}
	}
	before := env.QueueLen(context.Background(), "PushQueue")
	for range 2 {
		r := testenv.Call(t, h, submit(testenv.Admin(), body, key))
		if r.Status != http.StatusAccepted || r.JSON["notification_id"] != first || r.Headers["Idempotent-Replayed"] != "true" {
			t.Fatalf("keyed retry after the quota is spent: %d %v %s, want the replay of %s", r.Status, r.Headers, r.Body, first)
		}
	}
	if r := testenv.Call(t, h, submit(testenv.Admin(), body, map[string]string{"Idempotency-Key": testenv.ID("k")})); r.Status != 429 || r.ErrorCode() != "quota_exceeded" {
		t.Fatalf("a new key after the quota is spent: %d %s", r.Status, r.Body)
	}
	if n := env.QueueLen(context.Background(), "PushQueue"); n > before+2 {
		t.Fatalf("replays queued %d jobs", n-before)
	}
}

func TestInboxAccess(t *testing.T) {
	h, _ := newHandler(t, 100)
	inbox := func(p *auth.Principal, user, cursor string) testenv.Reply {
		return testenv.Call(t, h, testenv.REST{Method: "GET", Resource: inboxRoute, Path: "/v1/users/" + user + "/notifications",
			PathParams: map[string]string{"user_id": user}, Query: map[string]string{"cursor": cursor}, Principal: p})
	}
	if r := inbox(testenv.User("bob"), "bob", ""); r.Status != http.StatusOK || r.Body != `{"notifications":[],"unread_count":0}` {
		t.Fatalf("own: %d %s", r.Status, r.Body)
	}
	if r := inbox(testenv.User("alice"), "bob", ""); r.Status != http.StatusForbidden {
		t.Fatalf("another's: %d %s", r.Status, r.Body)
	}
	if r := inbox(testenv.Admin(), "bob", "not-a-cursor"); r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_cursor" {
		t.Fatalf("bad cursor: %d %s", r.Status, r.Body)
	}
	r := testenv.Call(t, h, testenv.REST{Method: "GET", Resource: getRoute, Path: "/v1/notifications/x", PathParams: map[string]string{"notification_id": "x"}, Principal: testenv.Admin()})
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_id" {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
}

// TestMarkRead: a user sees read state and the unread count, marks one
// notification by id and then all; the count follows. Another user (even
// naming ids that exist) is refused and changes nothing; an admin may
// mark any user's; bad bodies have their documented codes.
func TestMarkRead(t *testing.T) {
	env := testenv.Get(t)
	s := pushtest.NewStore(env)
	h := NewHandler(push.NewBroadcasts(s, env.Queue("PushQueue"), push.BroadcastConfig{PerDay: 100}, nil), nil, logging.NewTo(io.Discard, "notifications")).Handle
	bob := testenv.ID("bob")
	start := time.Now()
	var ids []string // newest first
	for i := range 3 {
		id := push.NewBroadcastID(start.Add(time.Duration(i) * time.Second))
		ids = append([]string{id}, ids...)
		if _, _, err := s.ClaimRecipient(context.Background(), push.InboxItem{UserID: bob, ID: id, Title: "t", Body: "b", CreatedAt: start}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	inbox := func(p *auth.Principal) testenv.Reply {
		return testenv.Call(t, h, testenv.REST{Method: "GET", Resource: inboxRoute, Path: "/v1/users/" + bob + "/notifications",
			PathParams: map[string]string{"user_id": bob}, Principal: p})
	}
	mark := func(p *auth.Principal, body string) testenv.Reply {
		return testenv.Call(t, h, testenv.REST{Method: "POST", Resource: readRoute, Path: "/v1/users/" + bob + "/notifications/read",
			PathParams: map[string]string{"user_id": bob}, Body: body, Principal: p})
	}
	unread := func() float64 {
		r := inbox(testenv.User(bob))
		if r.Status != http.StatusOK {
			t.Fatalf("inbox: %d %s", r.Status, r.Body)
		}
		return r.JSON["unread_count"].(float64)
	}
	if r := inbox(testenv.User(bob)); r.JSON["unread_count"] != float64(3) || r.JSON["notifications"].([]any)[0].(map[string]any)["read"] != false {
		t.Fatalf("before: %s", r.Body)
	}
	// Another user, with real ids: refused, nothing changes.
	for _, body := range []string{`{"all":true}`, `{"notification_ids":["` + ids[0] + `"]}`} {
		if r := mark(testenv.User("mallory"), body); r.Status != http.StatusForbidden || r.ErrorCode() != "forbidden" {
			t.Fatalf("another user's: %d %s", r.Status, r.Body)
		}
	}
	if n := unread(); n != 3 {
		t.Fatalf("unread after another user's attempt: %v", n)
	}
	if r := mark(testenv.User(bob), `{"notification_ids":["`+ids[1]+`","`+ids[1]+`"]}`); r.Status != http.StatusOK || r.Body != `{"marked":1,"unread_count":2}` {
		t.Fatalf("mark one: %d %s", r.Status, r.Body)
	}
	r := inbox(testenv.User(bob))
	n1 := r.JSON["notifications"].([]any)[1].(map[string]any)
	if n1["read"] != true || n1["read_at"] == nil || r.JSON["notifications"].([]any)[0].(map[string]any)["read_at"] != nil {
		t.Fatalf("read state: %s", r.Body)
	}
	if r := mark(testenv.Admin(), `{"up_to":"`+ids[1]+`"}`); r.Status != http.StatusOK || r.Body != `{"marked":1,"unread_count":1}` {
		t.Fatalf("admin up_to: %d %s", r.Status, r.Body)
	}
	if r := mark(testenv.User(bob), `{"all":true}`); r.Status != http.StatusOK || r.Body != `{"marked":1,"unread_count":0}` {
		t.Fatalf("mark all: %d %s", r.Status, r.Body)
	}
	if r := mark(testenv.User(bob), `{"all":true}`); r.Status != http.StatusOK || r.Body != `{"marked":0,"unread_count":0}` {
		t.Fatalf("mark all again: %d %s", r.Status, r.Body)
	}
	var many []string
	for range push.MaxInboxLimit + 1 {
		many = append(many, `"`+ids[0]+`"`)
	}
	for _, tc := range []struct{ body, code string }{
		{`{}`, "validation_failed"},
		{`{"all":true,"up_to":"` + ids[0] + `"}`, "validation_failed"},
		{`{"notification_ids":[` + strings.Join(many, ",") + `]}`, "validation_failed"},
		{`{"notification_ids":["x"]}`, "invalid_id"},
		{`{"up_to":"x"}`, "invalid_id"},
		{`{"all":true,"read":false}`, "unknown_field"},
	} {
		if r := mark(testenv.User(bob), tc.body); r.Status != http.StatusBadRequest || r.ErrorCode() != tc.code {
			t.Fatalf("%s: %d %s, want %s", tc.body, r.Status, r.Body, tc.code)
		}
	}
}
