package main

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/push/pushtest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env     *testenv.Env
	handler any
	audit   *memstore.Audit
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	env := testenv.Get(t)
	s, log := pushtest.NewStore(env), logging.NewTo(io.Discard, "devices")
	us := env.Stores().Users
	al := memstore.NewAudit()
	rec := audit.NewRecorder(al, 0, log, nil)
	return fixture{env: env, audit: al, handler: NewHandler(push.NewDevices(s, us, log, nil), push.NewSettings(s, us, nil), "BPubKey", rec, log).Handle}
}

// user creates a user and returns its id.
func (f fixture) user(t *testing.T, prefix string) string {
	t.Helper()
	return testenv.NewUsers(t, users.NewService(f.env.Stores().Users, f.env.Cursors, nil), prefix, 1)[0]
}

func deviceReq(method string, p *auth.Principal, user, device, body string) testenv.REST {
	return testenv.REST{Method: method, Resource: deviceRoute, Path: "/v1/users/" + user + "/devices/" + device,
		PathParams: map[string]string{"user_id": user, "device_id": device}, Body: body, Principal: p}
}

func listReq(p *auth.Principal, user string) testenv.REST {
	return testenv.REST{Method: "GET", Resource: devicesRoute, Path: "/v1/users/" + user + "/devices",
		PathParams: map[string]string{"user_id": user}, Principal: p}
}

// Tokens and subscriptions that pass validation.
var (
	apnsTok = strings.Repeat("0a", 32)
	fcmTok  = "fcm:" + strings.Repeat("Ab1_-", 30)
	p256dh  = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
	authKey = "tBHItJI5svbpez7KI4CCXg"
)

func webBody(endpoint string) string {
	return `{"platform":"web","subscription":{"endpoint":"` + endpoint + `","expirationTime":null,"keys":{"p256dh":"` + p256dh + `","auth":"` + authKey + `"}}}`
}

func (f fixture) deviceIDs(t *testing.T, user string) []string {
	t.Helper()
	r := testenv.Call(t, f.handler, listReq(testenv.Admin(), user))
	if r.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", user, r.Status, r.Body)
	}
	out := []string{}
	for _, d := range r.JSON["devices"].([]any) {
		out = append(out, d.(map[string]any)["device_id"].(string))
	}
	return out
}

// TestRoutesMatchTemplate reads template.yaml only: it provisions nothing.
func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, nil, "", nil, logging.NewTo(io.Discard, "devices"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("DevicesFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

func TestDeviceLifecycle(t *testing.T) {
	f := newFixture(t)
	bob := f.user(t, "bob")
	me := testenv.User(bob)
	r := testenv.Call(t, f.handler, deviceReq("PUT", me, bob, "iphone", `{"platform":"apns","token":"`+strings.ToUpper(apnsTok)+`","locale":"en-GB","app_version":"2.1.0"}`))
	if r.Status != http.StatusCreated || r.Headers["Location"] != "/v1/users/"+bob+"/devices/iphone" {
		t.Fatalf("register: %d %v %s", r.Status, r.Headers, r.Body)
	}
	if r.JSON["platform"] != "apns" || r.JSON["token_hint"] != "…0a0a0a" || r.JSON["locale"] != "en-GB" || strings.Contains(r.Body, apnsTok) {
		t.Fatalf("device %s", r.Body)
	}
	created := r.JSON["created_at"]
	r = testenv.Call(t, f.handler, deviceReq("PUT", me, bob, "iphone", `{"platform":"apns","token":"`+apnsTok+`","locale":"fr"}`))
	if r.Status != http.StatusOK || r.JSON["locale"] != "fr" || r.JSON["created_at"] != created {
		t.Fatalf("re-register: %d %s (created_at was %v)", r.Status, r.Body, created)
	}
	r = testenv.Call(t, f.handler, deviceReq("PUT", me, bob, "chrome", webBody("https://fcm.googleapis.com/fcm/send/abc")))
	if r.Status != http.StatusCreated || strings.Contains(r.Body, authKey) {
		t.Fatalf("web: %d %s", r.Status, r.Body)
	}
	r = testenv.Call(t, f.handler, listReq(me, bob))
	if r.Status != http.StatusOK || len(r.JSON["devices"].([]any)) != 2 || strings.Contains(r.Body, authKey) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, deviceReq("DELETE", me, bob, "iphone", "")); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, deviceReq("DELETE", me, bob, "iphone", "")); r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" {
		t.Fatalf("delete again: %d %s", r.Status, r.Body)
	}
	if got := f.deviceIDs(t, bob); !reflect.DeepEqual(got, []string{"chrome"}) {
		t.Fatalf("devices %v", got)
	}
}

// TestDeviceBadInput: each malformed registration gets its documented code
// and stores nothing.
func TestDeviceBadInput(t *testing.T) {
	f := newFixture(t)
	bob := f.user(t, "bob")
	tests := []struct {
		name, device, body, code, field string
	}{
		{"unknown platform", "d1", `{"platform":"blackberry","token":"` + apnsTok + `"}`, "unknown_platform", "platform"},
		{"no platform", "d1", `{"token":"` + apnsTok + `"}`, "unknown_platform", "platform"},
		{"apns token not hex", "d1", `{"platform":"apns","token":"` + strings.Repeat("zz", 32) + `"}`, "invalid_push_token", "token"},
		{"apns token too short", "d1", `{"platform":"apns_sandbox","token":"abcd"}`, "invalid_push_token", "token"},
		{"apns token missing", "d1", `{"platform":"apns"}`, "invalid_push_token", "token"},
		{"fcm token with spaces", "d1", `{"platform":"fcm","token":"` + strings.Repeat("a b ", 20) + `"}`, "invalid_push_token", "token"},
		{"fcm token too long", "d1", `{"platform":"fcm","token":"` + strings.Repeat("a", push.MaxFCMTokenLength+1) + `"}`, "invalid_push_token", "token"},
		{"web without subscription", "d1", `{"platform":"web"}`, "invalid_push_token", "subscription"},
		{"web with a token", "d1", `{"platform":"web","token":"` + apnsTok + `"}`, "invalid_push_token", "token"},
		{"web endpoint not https", "d1", webBody("http://push.example.com/x"), "invalid_push_token", "subscription.endpoint"},
		{"web endpoint not a URI (non-ASCII host)", "d1", webBody("https://\u0084/x"), "invalid_push_token", "subscription.endpoint"},
		{"web p256dh not a key", "d1", strings.Replace(webBody("https://push.example.com/x"), p256dh, "AAAA", 1), "invalid_push_token", "subscription.keys.p256dh"},
		{"web auth wrong size", "d1", strings.Replace(webBody("https://push.example.com/x"), authKey, p256dh, 1), "invalid_push_token", "subscription.keys.auth"},
		{"subscription on apns", "d1", `{"platform":"apns","token":"` + apnsTok + `","subscription":{"endpoint":"https://x"}}`, "invalid_push_token", "subscription"},
		{"bad locale", "d1", `{"platform":"fcm","token":"` + fcmTok + `","locale":"english please"}`, "validation_failed", "locale"},
		{"app version too long", "d1", `{"platform":"fcm","token":"` + fcmTok + `","app_version":"` + strings.Repeat("9", 65) + `"}`, "validation_failed", "app_version"},
		{"bad device id", "a#b", `{"platform":"fcm","token":"` + fcmTok + `"}`, "invalid_id", "device_id"},
		{"unknown field", "d1", `{"platform":"fcm","token":"` + fcmTok + `","colour":"red"}`, "unknown_field", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, deviceReq("PUT", testenv.User(bob), bob, tc.device, tc.body))
			if r.Status != http.StatusBadRequest || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want 400 %s", r.Status, r.Body, tc.code)
			}
			if tc.field != "" {
				details, _ := r.JSON["error"].(map[string]any)["details"].(map[string]any)
				if details["field"] != tc.field {
					t.Fatalf("details %v, want field %s", details, tc.field)
				}
			}
			if got := f.deviceIDs(t, bob); len(got) != 0 {
				t.Fatalf("stored %v", got)
			}
		})
	}
}

// TestDevicesOfAnotherUser: a user token can neither register, list nor
// delete another user's devices, and the other user's devices are
// untouched; an admin can do all three.
func TestDevicesOfAnotherUser(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	if r := testenv.Call(t, f.handler, deviceReq("PUT", testenv.User(bob), bob, "phone", `{"platform":"fcm","token":"`+fcmTok+`"}`)); r.Status != http.StatusCreated {
		t.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	as := testenv.User(alice)
	for _, req := range []testenv.REST{
		deviceReq("PUT", as, bob, "evil", `{"platform":"apns","token":"`+apnsTok+`"}`),
		deviceReq("PUT", as, bob, "phone", `{"platform":"apns","token":"`+apnsTok+`"}`),
		deviceReq("DELETE", as, bob, "phone", ""),
		listReq(as, bob),
	} {
		if r := testenv.Call(t, f.handler, req); r.Status != http.StatusForbidden || r.ErrorCode() != "forbidden" {
			t.Fatalf("%s %s as alice: %d %s", req.Method, req.Path, r.Status, r.Body)
		}
	}
	r := testenv.Call(t, f.handler, listReq(testenv.User(bob), bob))
	if ds := r.JSON["devices"].([]any); len(ds) != 1 || ds[0].(map[string]any)["platform"] != "fcm" {
		t.Fatalf("bob's devices changed: %s", r.Body)
	}
	if r := testenv.Call(t, f.handler, deviceReq("PUT", testenv.Admin(), bob, "tablet", `{"platform":"apns","token":"`+apnsTok+`"}`)); r.Status != http.StatusCreated {
		t.Fatalf("admin register: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, deviceReq("DELETE", testenv.Admin(), bob, "phone", "")); r.Status != http.StatusNoContent {
		t.Fatalf("admin delete: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, deviceReq("PUT", testenv.Admin(), testenv.ID("ghost"), "tablet", `{"platform":"apns","token":"`+apnsTok+`"}`)); r.Status != http.StatusNotFound {
		t.Fatalf("admin register for a missing user: %d %s", r.Status, r.Body)
	}
}

// TestTokenMovesToAnotherUser: a phone handed from alice to bob registers
// the same token for bob; alice's device is gone, so alice's messages stop
// going to bob's phone.
func TestTokenMovesToAnotherUser(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	body := `{"platform":"apns","token":"` + apnsTok + `"}`
	testenv.Call(t, f.handler, deviceReq("PUT", testenv.User(alice), alice, "phone", body))
	testenv.Call(t, f.handler, deviceReq("PUT", testenv.User(alice), alice, "watch", `{"platform":"fcm","token":"`+fcmTok+`"}`))
	if r := testenv.Call(t, f.handler, deviceReq("PUT", testenv.User(bob), bob, "iphone", body)); r.Status != http.StatusCreated {
		t.Fatalf("bob: %d %s", r.Status, r.Body)
	}
	if got := f.deviceIDs(t, alice); !reflect.DeepEqual(got, []string{"watch"}) {
		t.Fatalf("alice keeps %v", got)
	}
	if got := f.deviceIDs(t, bob); !reflect.DeepEqual(got, []string{"iphone"}) {
		t.Fatalf("bob has %v", got)
	}
}

func TestDeviceLimit(t *testing.T) {
	f := newFixture(t)
	bob := f.user(t, "bob")
	me := testenv.User(bob)
	for i := range push.MaxDevicesPerUser {
		body := fmt.Sprintf(`{"platform":"fcm","token":"%s%02d"}`, fcmTok, i)
		if r := testenv.Call(t, f.handler, deviceReq("PUT", me, bob, fmt.Sprintf("d%02d", i), body)); r.Status != http.StatusCreated {
			t.Fatalf("device %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := testenv.Call(t, f.handler, deviceReq("PUT", me, bob, "one-too-many", `{"platform":"apns","token":"`+apnsTok+`"}`))
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "device_limit" {
		t.Fatalf("11th device: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, deviceReq("PUT", me, bob, "d00", `{"platform":"apns","token":"`+apnsTok+`"}`)); r.Status != http.StatusOK {
		t.Fatalf("re-register at the limit: %d %s", r.Status, r.Body)
	}
	if got := f.deviceIDs(t, bob); len(got) != push.MaxDevicesPerUser {
		t.Fatalf("%d devices", len(got))
	}
}

func TestWebPushConfig(t *testing.T) {
	f := newFixture(t)
	r := testenv.Call(t, f.handler, testenv.REST{Method: "GET", Resource: webRoute, Path: "/v1/push/web", Principal: testenv.User("anyone")})
	if r.Status != http.StatusOK || r.Body != `{"vapid_public_key":"BPubKey"}` {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	off := NewHandler(nil, nil, "", nil, logging.NewTo(io.Discard, "devices")).Handle
	if r := testenv.Call(t, off, testenv.REST{Method: "GET", Resource: webRoute, Path: "/v1/push/web", Principal: testenv.User("anyone")}); r.Status != http.StatusNotFound {
		t.Fatalf("not set up: %d %s", r.Status, r.Body)
	}
}
