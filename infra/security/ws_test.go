package security

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsCheck is one frame mallory sends on its own connection, refused with
// an error frame of one of codes.
type wsCheck struct {
	name  string
	frame string
	codes []string
}

// wsRow is one WebSocket action of template.yaml (TestEveryRouteHasRows).
// $connect is checked with every bad token and an admin token.
type wsRow struct {
	action string
	checks []wsCheck
}

var wsRows = []wsRow{
	{action: "ping", checks: []wsCheck{
		{"mass assignment", `{"action":"ping","user_id":"{a}"}`, []string{"unknown_field"}}}},
	{action: "send", checks: []wsCheck{
		{"into another pair's DM", `{"action":"send","conversation_id":"{dm}","text":"hi"}`, []string{"forbidden", "not_found"}},
		{"into a group it is not in", `{"action":"send","to_group":"{g}","text":"hi"}`, []string{"forbidden", "not_found"}},
		{"as another sender", `{"action":"send","to_user":"{a}","sender_id":"{b}","text":"hi"}`, []string{"unknown_field", "forbidden"}},
		{"mass assignment seq", `{"action":"send","to_user":"{a}","text":"hi","seq":1}`, []string{"unknown_field"}},
		{"mass assignment created_at", `{"action":"send","to_user":"{a}","text":"hi","created_at":"2020-01-01T00:00:00Z"}`, []string{"unknown_field"}},
		{"a system message", `{"action":"send","to_user":"{a}","text":"hi","system":true}`, []string{"unknown_field", "forbidden"}},
		{"recipient with expression syntax", `{"action":"send","to_user":"${jndi:ldap://x}","text":"hi"}`, []string{"invalid_id"}},
		{"recipient with path traversal", `{"action":"send","to_user":"../{a}","text":"hi"}`, []string{"invalid_id"}},
		{"recipient with a control character", `{"action":"send","to_user":"a\u0000b","text":"hi"}`, []string{"invalid_id"}},
	}},
	{action: "read", checks: []wsCheck{
		{"another pair's DM", `{"action":"read","conversation_id":"{dm}","seq":1}`, []string{"forbidden", "not_found"}},
		{"as another user", `{"action":"read","conversation_id":"{dm}","seq":1,"user_id":"{a}"}`, []string{"unknown_field"}},
		{"conversation with expression syntax", `{"action":"read","conversation_id":"${x}","seq":1}`, []string{"invalid_id", "not_found", "validation_failed"}},
	}},
	{action: "typing", checks: []wsCheck{
		{"another pair's DM", `{"action":"typing","conversation_id":"{dm}"}`, []string{"forbidden", "not_found"}},
		{"a group it is not in", `{"action":"typing","conversation_id":"{gc}"}`, []string{"forbidden", "not_found"}},
		{"conversation with path traversal", `{"action":"typing","conversation_id":"../../x"}`, []string{"invalid_id", "not_found", "validation_failed"}},
	}},
	{action: "sync", checks: []wsCheck{
		{"as another user", `{"action":"sync","user_id":"{a}"}`, []string{"unknown_field"}},
		{"a forged cursor", `{"action":"sync","cursor":"eyJzIjoic3luYyJ9"}`, []string{"invalid_cursor"}},
	}},
	{action: "react", checks: []wsCheck{
		{"another pair's DM", `{"action":"react","conversation_id":"{dm}","seq":1,"emoji":"x"}`, []string{"forbidden", "not_found"}},
		{"as another user", `{"action":"react","conversation_id":"{dm}","seq":1,"emoji":"x","user_id":"{a}"}`, []string{"unknown_field"}},
	}},
	{action: "pin", checks: []wsCheck{
		{"another pair's DM", `{"action":"pin","conversation_id":"{dm}","seq":1}`, []string{"forbidden", "not_found"}},
		{"a group it is not in", `{"action":"pin","conversation_id":"{gc}","seq":1}`, []string{"forbidden", "not_found"}},
	}},
	{action: "presence", checks: []wsCheck{
		{"ids with a control character", `{"action":"presence","user_ids":["a\nb"]}`, []string{"invalid_id"}},
		{"mass assignment", `{"action":"presence","user_ids":["{a}"],"online":true}`, []string{"unknown_field"}},
	}},
}

// websocketChecks: $connect refuses every bad token (401) and admin
// tokens (403); on mallory's own connection each row's frame is refused,
// and mallory is pushed nothing of bob's DM.
func (w *world) websocketChecks(t *testing.T, bad map[string]string) int {
	t.Helper()
	n := 0
	names := make([]string, 0, len(bad))
	for k := range bad {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range append(names, "admin", "none") {
		tok := bad[k]
		want := http.StatusUnauthorized
		switch k {
		case "admin":
			tok, want = w.admin, http.StatusForbidden
		case "none":
			tok = ""
		}
		n++
		c, resp, err := w.dial(t, tok)
		if err == nil {
			c.Close()
			t.Errorf("$connect with %s token: connected", k)
			continue
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("$connect with %s token: %v %v, want %d", k, resp, err, want)
		}
	}
	c, _, err := w.dial(t, w.mallory)
	if err != nil {
		t.Fatalf("mallory's connection: %v", err)
	}
	defer c.Close()
	for _, r := range wsRows {
		for _, chk := range r.checks {
			n++
			frame := w.fill(chk.frame, false)
			var probe map[string]any
			if err := json.Unmarshal([]byte(frame), &probe); err != nil {
				t.Fatalf("%s: bad fixture frame %s", chk.name, frame)
			}
			reply := w.wsCall(t, c, frame)
			if reply["type"] != "error" || !slices.Contains(chk.codes, fmt.Sprint(reply["code"])) {
				t.Errorf("%s %s: reply %v, want an error %v", r.action, chk.name, reply, chk.codes)
			}
		}
	}
	return n
}

func (w *world) dial(t *testing.T, token string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u := w.WebSocketURL
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	return d.Dial(u, nil)
}

// wsCall sends frame with a request id and returns its reply, skipping
// pushed events; every frame read is kept for the leak scan.
func (w *world) wsCall(t *testing.T, c *websocket.Conn, frame string) map[string]any {
	t.Helper()
	rid := "sec-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	frame = strings.Replace(frame, "{", `{"request_id":"`+rid+`",`, 1)
	if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; i < 50; i++ {
		c.SetReadDeadline(deadline)
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: read: %v", frame, err)
		}
		w.mu.Lock()
		w.responses = append(w.responses, string(data))
		w.foreign = append(w.foreign, string(data)) // mallory's connection
		w.mu.Unlock()
		var m map[string]any
		if json.Unmarshal(data, &m) == nil && m["request_id"] == rid {
			return m
		}
	}
	t.Fatalf("%s: no reply", frame)
	return nil
}
