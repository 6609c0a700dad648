package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/webhooks"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// fixture is the REST handler and a worker over one memory store and
// queue (the store's DynamoDB twin passes the same contract suite).
type fixture struct {
	store *memstore.Webhooks
	log   *memstore.Audit
	tasks *memqueue.Queue
	h     any
	w     *webhooks.Worker
}

func newFixture(t *testing.T, p webhooks.Policy) *fixture {
	t.Helper()
	store := memstore.NewWebhooks()
	tasks := memqueue.New("WebhookQueue", memqueue.Options{})
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s := webhooks.NewSender(p)
	s.Timeout = 300 * time.Millisecond
	// The schedule in milliseconds: the test waits no minutes.
	w := &webhooks.Worker{Store: store, Sender: s, Tasks: tasks, Log: log,
		Schedule: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}}
	alog := memstore.NewAudit() // the audit store's contract runs in shared/storetest
	return &fixture{store: store, log: alog, tasks: tasks, w: w,
		h: NewHandler(webhooks.NewService(store, p, tasks, nil), audit.NewRecorder(alog, 0, log, nil), log).Handle}
}

func manager() *auth.Principal {
	return &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_hooks", Scopes: auth.Scopes{auth.ScopeWebhooksManage}}
}

func (f *fixture) call(t *testing.T, method, resource string, params map[string]string, body string) testenv.Reply {
	t.Helper()
	path := resource
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return testenv.Call(t, f.h, testenv.REST{Method: method, Resource: resource, Path: path, PathParams: params, Body: body, Principal: manager()})
}

func want(t *testing.T, r testenv.Reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

// drain runs the worker over the queued tasks until none is left.
func (f *fixture) drain(t *testing.T, done func() bool) {
	t.Helper()
	webhookstest.Drain(t, f.tasks, func(recs []queue.Record) []string {
		for _, r := range recs {
			if err := f.w.Process(ctx, r.Body); err != nil {
				t.Fatalf("task %s: %v", r.Body, err)
			}
		}
		return nil
	}, done, 20*time.Second)
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if got, want := h.Routes(), tmpl.RestRoutesOf("WebhooksFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

// TestDeliveryFailsThreeTimesAndTimesOut is the test: a receiver
// answering 500, 503, 429 and then holding the request past the 5 s
// timeout (300 ms here) gets the event on the fifth attempt; GET
// .../deliveries lists every attempt and its outcome; the signature
// verifies with the Python standardwebhooks package; the endpoint's
// secret never appears again after the create answer.
func TestDeliveryFailsThreeTimesAndTimesOut(t *testing.T) {
	recv := webhookstest.NewReceiver(t, 500, 503, 429, webhookstest.Hang)
	f := newFixture(t, webhooks.Policy{AllowLoopback: true})
	r := f.call(t, "POST", "/v1/webhooks", nil, `{"url":"`+recv.URL+`","types":["message.created"],"description":"crm"}`)
	want(t, r, http.StatusCreated, "")
	id, secret := r.JSON["id"].(string), r.JSON["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	ev := webhookstest.Event(t, "c1", 1, time.Now())
	if err := f.w.Process(ctx, webhookstest.BusMessage(t, ev)); err != nil {
		t.Fatal(err)
	}
	f.drain(t, func() bool { return len(recv.Delivered()) == 1 })

	got := recv.Delivered()[0]
	var env map[string]any
	if err := json.Unmarshal(got.Body, &env); err != nil || env["id"] != ev.ID || env["type"] != "message.created" || got.Header.Get("webhook-id") != ev.ID {
		t.Fatalf("received %s with id %s", got.Body, got.Header.Get("webhook-id"))
	}
	webhookstest.Verify(t, secret, got.Body, got.Header)

	r = f.call(t, "GET", "/v1/webhooks/{webhook_id}/deliveries", map[string]string{"webhook_id": id}, "")
	want(t, r, http.StatusOK, "")
	ds := r.JSON["deliveries"].([]any)
	if len(ds) != 1 {
		t.Fatalf("deliveries %s", r.Body)
	}
	d := ds[0].(map[string]any)
	attempts := d["attempts"].([]any)
	if d["state"] != "delivered" || d["event_id"] != ev.ID || len(attempts) != 5 {
		t.Fatalf("delivery %s: want delivered after 5 attempts", r.Body)
	}
	for i, w := range []struct {
		status float64
		err    string
	}{{500, ""}, {503, ""}, {429, ""}, {0, "timeout"}, {200, ""}} {
		a := attempts[i].(map[string]any)
		status, _ := a["status"].(float64)
		errClass, _ := a["error"].(string)
		if status != w.status || errClass != w.err || a["ok"] != (i == 4) {
			t.Errorf("attempt %d: %v, want status %v error %q", i+1, a, w.status, w.err)
		}
	}
	for _, route := range []string{"/v1/webhooks/{webhook_id}", "/v1/webhooks"} {
		if r := f.call(t, "GET", route, map[string]string{"webhook_id": id}, ""); strings.Contains(r.Body, secret) || strings.Contains(r.Body, "whsec_") {
			t.Fatalf("%s shows the secret: %s", route, r.Body)
		}
	}
}

// TestBadInputNothingStored: each refused request answers its documented
// code and leaves no endpoint behind.
func TestBadInputNothingStored(t *testing.T) {
	cloud := newFixture(t, webhooks.Policy{Resolve: nil})
	long := "https://hooks.example.com/" + strings.Repeat("a", webhooks.MaxURL)
	many := `"` + strings.Repeat(`message.created","`, webhooks.MaxTypes) + `message.created"`
	for _, tc := range []struct {
		name, body, code, reason string
	}{
		{"http in the cloud", `{"url":"http://93.184.216.34/hook"}`, "invalid_webhook_url", "scheme"},
		{"loopback in the cloud", `{"url":"https://127.0.0.1/hook"}`, "invalid_webhook_url", "address"},
		{"private", `{"url":"https://10.0.0.5/hook"}`, "invalid_webhook_url", "address"},
		{"link-local metadata", `{"url":"https://169.254.169.254/latest/meta-data"}`, "invalid_webhook_url", "address"},
		{"IPv6 metadata", `{"url":"https://[fd00:ec2::254]/"}`, "invalid_webhook_url", "address"},
		{"credentials", `{"url":"https://u:p@93.184.216.34/"}`, "invalid_webhook_url", "syntax"},
		{"oversized url", `{"url":"` + long + `"}`, "invalid_webhook_url", "too_long"},
		{"missing url", `{"types":["message.created"]}`, "validation_failed", ""},
		{"unknown type", `{"url":"https://93.184.216.34/h","types":["message.deleted"]}`, "unknown_event_type", ""},
		{"repeated type", `{"url":"https://93.184.216.34/h","types":["user.created","user.created"]}`, "unknown_event_type", ""},
		{"too many types", `{"url":"https://93.184.216.34/h","types":[` + many + `]}`, "unknown_event_type", ""},
		{"oversized secret", `{"url":"https://93.184.216.34/h","secret":"whsec_` + strings.Repeat("QUFB", 40) + `"}`, "invalid_secret", ""},
		{"secret without prefix", `{"url":"https://93.184.216.34/h","secret":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`, "invalid_secret", ""},
		{"unknown field", `{"url":"https://93.184.216.34/h","events":["message.created"]}`, "unknown_field", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cloud.call(t, "POST", "/v1/webhooks", nil, tc.body)
			want(t, r, http.StatusBadRequest, tc.code)
			if tc.reason != "" {
				if d, _ := r.JSON["error"].(map[string]any)["details"].(map[string]any); d["reason"] != tc.reason {
					t.Fatalf("details %v, want reason %s", d, tc.reason)
				}
			}
			if es, _ := cloud.store.ListEndpoints(ctx); len(es) != 0 {
				t.Fatalf("%d endpoints stored", len(es))
			}
		})
	}
}

// TestEndpointLimit: the 21st endpoint is refused with webhook_limit.
func TestEndpointLimit(t *testing.T) {
	f := newFixture(t, webhooks.Policy{AllowLoopback: true})
	for range webhooks.MaxEndpoints {
		want(t, f.call(t, "POST", "/v1/webhooks", nil, `{"url":"http://127.0.0.1:9/h"}`), http.StatusCreated, "")
	}
	want(t, f.call(t, "POST", "/v1/webhooks", nil, `{"url":"http://127.0.0.1:9/h"}`), http.StatusBadRequest, "webhook_limit")
	if es, _ := f.store.ListEndpoints(ctx); len(es) != webhooks.MaxEndpoints {
		t.Fatalf("%d endpoints stored", len(es))
	}
}

// TestManageEndpoint: PATCH changes and re-enables (resetting the
// streak), rotate shows the new secret once and keeps the old one valid
// for 24 h (both verify), retry re-sends a dead delivery, DELETE removes.
func TestManageEndpoint(t *testing.T) {
	recv := webhookstest.NewReceiver(t, http.StatusGone)
	f := newFixture(t, webhooks.Policy{AllowLoopback: true})
	r := f.call(t, "POST", "/v1/webhooks", nil, `{"url":"`+recv.URL+`"}`)
	want(t, r, http.StatusCreated, "")
	id, old := r.JSON["id"].(string), r.JSON["secret"].(string)
	p := map[string]string{"webhook_id": id}

	ev := webhookstest.Event(t, "c1", 1, time.Now())
	if err := f.w.Process(ctx, webhookstest.BusMessage(t, ev)); err != nil {
		t.Fatal(err)
	}
	r = f.call(t, "GET", "/v1/webhooks/{webhook_id}", p, "")
	if r.JSON["dead_streak"] != 1.0 || r.JSON["enabled"] != true {
		t.Fatalf("after a 410: %s", r.Body)
	}
	r = f.call(t, "PATCH", "/v1/webhooks/{webhook_id}", p, `{"enabled":false,"types":["message.created","user.created"]}`)
	want(t, r, http.StatusOK, "")
	if r.JSON["enabled"] != false || len(r.JSON["types"].([]any)) != 2 {
		t.Fatalf("patched %s", r.Body)
	}
	deliveryID := webhooks.DeliveryID(ev)
	dp := map[string]string{"webhook_id": id, "delivery_id": deliveryID}
	want(t, f.call(t, "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", dp, ""), http.StatusConflict, "conflict")
	r = f.call(t, "PATCH", "/v1/webhooks/{webhook_id}", p, `{"enabled":true}`)
	if r.JSON["enabled"] != true || r.JSON["dead_streak"] != 0.0 {
		t.Fatalf("re-enabled %s", r.Body)
	}

	r = f.call(t, "POST", "/v1/webhooks/{webhook_id}/rotate", p, "")
	want(t, r, http.StatusOK, "")
	next, _ := r.JSON["secret"].(string)
	if next == "" || next == old || r.JSON["previous_secret_expires_at"] == nil {
		t.Fatalf("rotated %s", r.Body)
	}
	want(t, f.call(t, "POST", "/v1/webhooks/{webhook_id}/rotate", p, `{"secret":"nope"}`), http.StatusBadRequest, "invalid_secret")

	r = f.call(t, "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", dp, "")
	want(t, r, http.StatusAccepted, "")
	f.drain(t, func() bool { return len(recv.Delivered()) == 1 })
	got := recv.Delivered()[0]
	if got.Header.Get("webhook-id") != ev.ID {
		t.Fatalf("retried with id %s, want %s", got.Header.Get("webhook-id"), ev.ID)
	}
	for _, s := range []string{next, old} { // the old secret signs for 24 h
		webhookstest.Verify(t, s, got.Body, got.Header)
	}

	for _, tc := range []struct{ body, code string }{
		{`{"from":"2026-12-02T10:00:00Z","to":"2026-12-01T10:00:00Z"}`, "invalid_replay_range"},
		{`{"from":"2026-11-01T10:00:00Z","to":"2026-12-01T10:00:00Z"}`, "invalid_replay_range"},
		{`{"from":"yesterday","to":"2026-12-01T10:00:00Z"}`, "invalid_replay_range"},
		{`{"to":"2026-12-01T10:00:00Z"}`, "invalid_replay_range"},
	} {
		want(t, f.call(t, "POST", "/v1/webhooks/{webhook_id}/replay", p, tc.body), http.StatusBadRequest, tc.code)
	}
	want(t, f.call(t, "GET", "/v1/webhooks/{webhook_id}/deliveries", p, ""), http.StatusOK, "")
	want(t, f.call(t, "GET", "/v1/webhooks/{webhook_id}/deliveries", map[string]string{"webhook_id": "wh_0000000000000000000a"}, ""), http.StatusNotFound, "not_found")

	want(t, f.call(t, "DELETE", "/v1/webhooks/{webhook_id}", p, ""), http.StatusNoContent, "")
	want(t, f.call(t, "GET", "/v1/webhooks/{webhook_id}", p, ""), http.StatusNotFound, "not_found")
}

// TestUserTokensRefused: only admin tokens with webhooks:manage.
func TestUserTokensRefused(t *testing.T) {
	f := newFixture(t, webhooks.Policy{AllowLoopback: true})
	for _, p := range []*auth.Principal{testenv.User("u1"), {Kind: auth.KindAdmin, KeyID: "tk_x", Scopes: auth.Scopes{auth.ScopeUsersRead}}} {
		r := testenv.Call(t, f.h, testenv.REST{Method: "GET", Resource: "/v1/webhooks", Path: "/v1/webhooks", Principal: p})
		if r.Status != http.StatusForbidden {
			t.Fatalf("%+v: %d %s, want 403", p, r.Status, r.Body)
		}
	}
}
