package local

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/push/recorder"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestPushThroughTheStack: the push path of the local stack, end to end.
// bob is offline (no WebSocket) with two devices; alice (who has a device
// too) sends him five DMs and three messages in a group of the two. Each
// goes send -> realtime notifier -> PushQueue -> PushFunction -> the push
// recorder (PushRecorderUrl), and GET /_local/push lists, per bob device,
// every message exactly once, per conversation in send order (each send
// waits for its push: docs/push.md "Order" says what holds under
// concurrency), with the text and the badge; alice gets none.
func TestPushThroughTheStack(t *testing.T) {
	srv := httptest.NewServer(&PushRecorder{})
	defer srv.Close()
	s := startStack(t, nil, func(o *Options) { o.Params = map[string]string{"PushRecorderUrl": srv.URL} })
	admin := s.adminToken(t)
	alice, bob := testenv.ID("alice"), testenv.ID("bob")
	aliceTok, bobTok := s.userToken(t, admin, alice), s.userToken(t, admin, bob)
	device := func(user, tok, id, body string) {
		t.Helper()
		r := doString(t, "PUT", s.RESTURL+"/v1/users/"+user+"/devices/"+id, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}, body)
		if r.status != 201 {
			t.Fatalf("register %s/%s: %d %s", user, id, r.status, r.body)
		}
	}
	hex := strings.Repeat("ab", 32)
	device(bob, bobTok, "iphone", `{"platform":"apns","token":"`+hex+`"}`)
	device(bob, bobTok, "pixel", `{"platform":"fcm","token":"fcm-`+bob+strings.Repeat("x", 40)+`"}`)
	device(alice, aliceTok, "phone", `{"platform":"fcm","token":"fcm-`+alice+strings.Repeat("y", 40)+`"}`)

	recorded := func(user string) []recorder.Record {
		var out struct{ Pushes []recorder.Record }
		r := do(t, "GET", srv.URL+"?user_id="+user, nil, nil)
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("GET /_local/push: %v %s", err, r.body)
		}
		return out.Pushes
	}
	ah := map[string]string{"Authorization": "Bearer " + aliceTok, "Content-Type": "application/json"}
	send := func(body string, want int) string {
		t.Helper()
		r := doString(t, "POST", s.RESTURL+"/v1/messages", ah, body)
		if r.status != 201 {
			t.Fatalf("send: %d %s", r.status, r.body)
		}
		if !eventually(30*time.Second, func() bool { return len(recorded(bob)) >= want }) {
			t.Fatalf("after %s: %d pushes to bob, want %d\n%s", body, len(recorded(bob)), want, s.out.Grep("push"))
		}
		c, _ := r.json["conversation_id"].(string)
		return c
	}
	var dm string
	for i := 1; i <= 5; i++ {
		dm = send(fmt.Sprintf(`{"to_user":%q,"text":"dm %d"}`, bob, i), 2*i)
	}
	r := doString(t, "POST", s.RESTURL+"/v1/groups", ah, `{"name":"pushers","members":["`+bob+`"]}`)
	gid, _ := r.json["group_id"].(string)
	if r.status != 201 || gid == "" {
		t.Fatalf("create group: %d %s", r.status, r.body)
	}
	var group string
	for i := 1; i <= 3; i++ {
		group = send(fmt.Sprintf(`{"to_group":%q,"text":"group %d"}`, gid, i), 10+2*i)
	}
	time.Sleep(2 * time.Second) // a duplicate would arrive by now
	got := recorded(bob)
	if len(got) != 16 {
		t.Fatalf("bob got %d pushes, want 16: %+v", len(got), got)
	}
	for _, dev := range []string{"iphone", "pixel"} {
		per := map[string][]string{}
		for _, p := range got {
			if p.DeviceID != dev {
				continue
			}
			c := p.Alert.Data["conversation_id"]
			per[c] = append(per[c], p.Alert.Data["seq"]+":"+p.Alert.Body)
			if p.Alert.Badge <= 0 || p.Alert.ThreadID != c || (c == group && !strings.Contains(p.Alert.Title, gid)) {
				t.Fatalf("%s: %+v", dev, p)
			}
		}
		wantDM := []string{"1:dm 1", "2:dm 2", "3:dm 3", "4:dm 4", "5:dm 5"}
		if !slices.Equal(per[dm], wantDM) {
			t.Fatalf("%s DM pushes %v, want %v", dev, per[dm], wantDM)
		}
		wantGroup := []string{"1:group 1", "2:group 2", "3:group 3"}
		if !slices.Equal(per[group], wantGroup) {
			t.Fatalf("%s group pushes %v, want %v", dev, per[group], wantGroup)
		}
	}
	if n := len(recorded(alice)); n != 0 {
		t.Fatalf("the sender got %d pushes", n)
	}
}
