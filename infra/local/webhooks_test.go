package local

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

// TestWebhooksEndToEnd is make dev's path: with the event tap on and
// LocalHttpTargets=true, a webhook registered through the REST API at a
// receiver on 127.0.0.1 gets one signed message.created per message sent
// through the REST API: stream -> EventsFunction -> WebhookEventQueue
// (FIFO) -> WebhookWorkerFunction. Three messages (moto spends ~0.1 s per rule
// delivery, and the tap's rule takes each event too).
func TestWebhooksEndToEnd(t *testing.T) {
	s := startStack(t, nil, func(o *Options) {
		o.EventTap = true
		o.Params = map[string]string{"LocalHttpTargets": "true"}
	})
	started := time.Now()
	recv := webhookstest.NewReceiver(t)
	admin := s.adminToken(t)
	h := map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/json"}
	r := doString(t, "POST", s.RESTURL+"/v1/webhooks", h, `{"url":"`+recv.URL+`","types":["message.created"]}`)
	secret, _ := r.json["secret"].(string)
	if r.status != 201 || secret == "" {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	a, b := testenv.ID("wa"), testenv.ID("wb")
	ta := s.userToken(t, admin, a)
	s.userToken(t, admin, b)
	const n = 3
	for i := range n {
		r := doString(t, "POST", s.RESTURL+"/v1/messages", map[string]string{"Authorization": "Bearer " + ta, "Content-Type": "application/json"},
			fmt.Sprintf(`{"to_user":%q,"text":"hook %d"}`, b, i))
		if r.status != 201 && r.status != 200 {
			t.Fatalf("send %d: %d %s", i, r.status, r.body)
		}
	}
	texts := func() map[string]webhookstest.Request {
		got := map[string]webhookstest.Request{}
		for _, q := range recv.Delivered() {
			var ev struct {
				Type string `json:"type"`
				Data struct {
					SenderID string `json:"sender_id"`
					Text     string `json:"text"`
				} `json:"data"`
			}
			if json.Unmarshal(q.Body, &ev) == nil && ev.Type == "message.created" && ev.Data.SenderID == a && strings.HasPrefix(ev.Data.Text, "hook ") {
				got[ev.Data.Text] = q
			}
		}
		return got
	}
	if !eventually(90*time.Second, func() bool { return len(texts()) == n }) {
		t.Fatalf("the receiver got %d of %d messages (%d requests)\n%s", len(texts()), n, len(recv.Requests()), s.out)
	}
	t.Logf("delivered %d messages %v after the stack started", n, time.Since(started).Round(time.Millisecond))
	ids := map[string]bool{}
	for _, q := range recv.Delivered() {
		ids[q.Header.Get("webhook-id")] = true
	}
	if len(ids) != len(recv.Delivered()) {
		t.Errorf("%d deliveries for %d distinct events", len(recv.Delivered()), len(ids))
	}
	for _, q := range texts() {
		webhookstest.Verify(t, secret, q.Body, q.Header)
	}
}
