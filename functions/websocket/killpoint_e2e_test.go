package main

// Kill points, end to end (issue 21): the local stack's WebSocket and REST
// send functions die (their process exits) or time out at each point of a
// send, by the fault rules of shared/awsclient armed for one call; the
// delivery backstop (functions/delivery, fed by the messages table's
// stream) must still push the message to every online device and reveal
// it to sync within the delivery bound.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// The local bound: DeliveryPendingAgeSeconds=1 below, the delay queue's
// whole seconds, the stream and queue pollers, the pushes.
const localBound = 15 * time.Second

type killCase struct {
	name  string
	rest  bool
	group bool
	cmid  bool
	point string // an armed rule's name
	retry bool   // the client retries with its client_msg_id
	reply string // a timeout's reply type ("" = the invocation dies: no reply)
}

func TestKillPointsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack")
	}
	dir := t.TempDir()
	armed := func(point string) string { return filepath.Join(dir, point) }
	rules, err := json.Marshal([]awsclient.Fault{
		{Service: "DynamoDB", Operation: "PutItem", KeyPrefix: "CMID#", Action: awsclient.FaultExit, Armed: armed("claim")},
		{Service: "DynamoDB", Operation: "PutItem", KeyPrefix: "MSG#", Action: awsclient.FaultExit, Armed: armed("put")},
		{Service: "ApiGatewayManagementApi", Operation: "PostToConnection", Action: awsclient.FaultExit, Armed: armed("push")},
		{Service: "DynamoDB", Operation: "UpdateItem", KeyPrefix: "META", Action: awsclient.FaultExit, Armed: armed("head")},
		{Service: "DynamoDB", Operation: "PutItem", KeyPrefix: "MSG#", Action: awsclient.FaultHang, Armed: armed("put-hang")},
		{Service: "DynamoDB", Operation: "UpdateItem", KeyPrefix: "META", Action: awsclient.FaultHang, Armed: armed("head-hang")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each function gets its own armed files (armed("rest-...") for the
	// REST function), so a rule armed for one never fires in the other.
	restRules := strings.ReplaceAll(string(rules), dir+"/", dir+"/rest-")
	s := startStackWith(t, func(o *local.Options) {
		o.TestEnv = map[string]map[string]string{"WebSocketFunction": {awsclient.FaultsEnv: string(rules)},
			"MessagesFunction": {awsclient.FaultsEnv: restRules}}
		o.Params = map[string]string{"DeliveryPendingAgeSeconds": "1"}
	})
	u := s.newUsers(t, "kill", 3)
	alice, bob, carol := u[0], u[1], u[2]
	g, _, err := s.chat.CreateGroup(ctx, *testenv.Admin(), chat.CreateGroupInput{Name: "kill", OwnerID: alice, Members: []string{bob, carol}})
	if err != nil {
		t.Fatal(err)
	}
	sender := s.dial(t, alice, nil)
	devices := map[string][]*client{"dm": {s.dial(t, bob, nil), s.dial(t, bob, nil)},
		"group": {s.dial(t, bob, nil), s.dial(t, bob, nil), s.dial(t, carol, nil)}}
	convs := map[string]string{"dm": string(chat.DMID(alice, bob)), "group": string(chat.GroupConversationID(g.GroupID))}
	seqs := map[string]int{}

	for i, tc := range []killCase{
		{name: "ws dm cmid dies after the claim", cmid: true, point: "claim", retry: true},
		{name: "ws dm cmid dies after the message put", cmid: true, point: "put", retry: true},
		{name: "ws dm cmid dies halfway through the pushes", cmid: true, point: "push", retry: true},
		{name: "ws dm cmid dies after the head", cmid: true, point: "head", retry: true},
		{name: "ws group dies after the message put, no retry", group: true, point: "put"},
		{name: "ws group cmid dies halfway through the pushes, no retry", group: true, cmid: true, point: "push"},
		{name: "rest group dies after the message put, no retry", rest: true, group: true, point: "put"},
		{name: "rest dm cmid dies halfway through the pushes, retried", rest: true, cmid: true, point: "push", retry: true},
		{name: "rest dm dies after the head, no retry", rest: true, point: "head"},
		// Out of time while the message put is unanswered: the send cannot
		// know it stored, answers service_unavailable, and the retry gets
		// the stored message.
		{name: "ws dm cmid times out in the message put", cmid: true, point: "put-hang", retry: true, reply: "error"},
		// Out of time at the head: the message is stored, so the send acks.
		{name: "ws group times out at the head update", group: true, point: "head-hang", reply: "ack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind := map[bool]string{false: "dm", true: "group"}[tc.group]
			conv := convs[kind]
			want := seqs[kind] + 1
			if tc.point != "claim" || tc.retry {
				seqs[kind] = want
			}
			frame := map[string]any{"action": "send", "text": fmt.Sprintf("kill %d", i)}
			if tc.group {
				frame["to_group"] = g.GroupID
			} else {
				frame["to_user"] = bob
			}
			if tc.cmid {
				frame["client_msg_id"] = fmt.Sprintf("kill-%d", i)
			}
			point := tc.point
			if tc.rest {
				point = "rest-" + point
			}
			// The previous case's last reply is posted by an invocation
			// that checks its rules just after the post: let it finish
			// before arming, or it could take the fault meant for this case.
			time.Sleep(300 * time.Millisecond)
			if err := os.WriteFile(armed(point), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			reply := s.sendOnce(t, sender, tc.rest, alice, frame)
			if _, err := os.Stat(armed(point)); err == nil {
				t.Fatalf("the %s fault never fired (reply %v)", tc.point, reply)
			}
			switch {
			case tc.reply == "ack":
				if reply["type"] != "ack" || seqOf(reply) != want {
					t.Fatalf("timed out after storing: reply %v, want the ack of seq %d", reply, want)
				}
			case tc.reply == "error":
				if reply["type"] != "error" || reply["code"] != "service_unavailable" {
					t.Fatalf("timed out before storing: reply %v, want service_unavailable", reply)
				}
			case reply["died"] != true:
				t.Fatalf("reply %v: want the invocation's death (generic frame or 502); functions' log:\n%s", reply, s.out.Grep("fault injected", "crashed"))
			}
			if tc.retry {
				again := s.sendOnce(t, sender, tc.rest, alice, frame)
				if again["died"] == true || seqOf(again) != want {
					t.Fatalf("retry: %v, want seq %d", again, want)
				}
			}
			// Every online device of the recipients gets the message (or a
			// duplicate of it) within the bound.
			for _, d := range devices[kind] {
				if !d.wait(localBound, func() bool { return hasSeq(d.frames, conv, want) }) {
					t.Errorf("%s: no push of %s seq %d within %s (got %v)", d.name, conv, want, localBound, seqsOf(d.events("message.created")))
				}
			}
			// Sync returns it: the head was advanced.
			var last map[string]any
			if !eventually(localBound, func() bool {
				last = sender.do(t, map[string]any{"action": "sync", "since": map[string]any{conv: want - 1}})
				res, _ := last["result"].(map[string]any)
				msgs, _ := res["messages"].([]any)
				for _, m := range msgs { // sync also returns conversations not in since
					if m := m.(map[string]any); m["conversation_id"] == conv && m["seq"] == float64(want) {
						return true
					}
				}
				return false
			}) {
				t.Errorf("sync from %d never returned seq %d: last reply %v", want-1, want, last)
			}
		})
	}
	// History is gapless and holds each message once.
	for kind, conv := range convs {
		if seqs[kind] == 0 {
			continue
		}
		page, err := s.chat.History(ctx, *testenv.Admin(), conv, chat.HistoryQuery{Limit: 100, After: new(int64(0))})
		if err != nil || len(page.Messages) != seqs[kind] {
			t.Fatalf("%s history: %d messages, want %d (%v)", kind, len(page.Messages), seqs[kind], err)
		}
		for i, m := range page.Messages {
			if m.Seq != int64(i+1) {
				t.Fatalf("%s history: seq %d at %d", kind, m.Seq, i)
			}
		}
	}
}

// sendOnce sends one frame over the socket (or its body over REST) and
// returns the reply; {"died": true} when the invocation died (API
// Gateway's generic frame, or a 5xx).
func (s *stack) sendOnce(t *testing.T, c *client, rest bool, user string, frame map[string]any) map[string]any {
	t.Helper()
	if rest {
		body := map[string]any{}
		for k, v := range frame {
			if k != "action" {
				body[k] = v
			}
		}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.RESTURL+"/v1/messages", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.token(t, user))
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 500 {
			return map[string]any{"died": true, "status": resp.StatusCode}
		}
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("REST send: %d %v", resp.StatusCode, m)
		}
		return map[string]any{"type": "ack", "result": map[string]any{"message": m}}
	}
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprintf("%s-%d", c.name, c.nextID)
	from := len(c.frames)
	c.mu.Unlock()
	frame["request_id"] = id
	b, _ := json.Marshal(frame)
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	if !c.wait(30*time.Second, func() bool {
		for _, f := range c.frames[from:] {
			if f["request_id"] == id && (f["type"] == "ack" || f["type"] == "error") {
				reply = f
				return true
			}
			if _, generic := f["message"].(string); generic && f["type"] == nil {
				reply = map[string]any{"died": true, "frame": f}
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no reply to %s within 30 s", b)
	}
	return reply
}

func seqOf(reply map[string]any) int {
	res, _ := reply["result"].(map[string]any)
	m, _ := res["message"].(map[string]any)
	n, _ := m["seq"].(float64)
	return int(n)
}

// hasSeq reports whether frames hold a message.created push of seq in conv.
func hasSeq(frames []map[string]any, conv string, seq int) bool {
	for _, f := range frames {
		if f["type"] == "message.created" && f["conversation_id"] == conv && f["seq"] == float64(seq) {
			return true
		}
	}
	return false
}
