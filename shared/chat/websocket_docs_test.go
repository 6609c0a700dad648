package chat_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

// TestWebSocketDocMessages holds docs/websocket.md's examples to the
// server's Message: every message in them (a `message`, an
// `event_message`, an element of `messages`) parses, has only fields
// chat.Message has, and carries `kind`, which the spec requires.
func TestWebSocketDocMessages(t *testing.T) {
	raw, err := os.ReadFile("../../docs/websocket.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := docExamples(t, string(raw))
	var msgs []map[string]any
	for _, ex := range examples {
		var v any
		if err := json.Unmarshal([]byte(ex), &v); err != nil {
			t.Fatalf("example does not parse (%v): %s", err, ex)
		}
		msgs = append(msgs, messagesIn(v, "")...)
	}
	if len(msgs) < 7 { // send's ack, sync's ack, and five events carry messages
		t.Fatalf("found %d messages in %d examples; the extraction is off", len(msgs), len(examples))
	}
	kinds := map[string]bool{chat.KindMessage: true, chat.KindEdit: true, chat.KindRecall: true}
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		if k, _ := m["kind"].(string); !kinds[k] {
			t.Errorf("message without a valid kind: %s", b)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var cm chat.Message
		if err := dec.Decode(&cm); err != nil {
			t.Errorf("not a chat.Message (%v): %s", err, b)
		}
	}
}

// docExamples returns the JSON examples of docs/websocket.md: every
// ```json block, and the example column of the Events table. In the
// examples "…," stands for fields left out; it is dropped before parsing.
func docExamples(t *testing.T, doc string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	start, end := strings.Index(doc, "### Events"), strings.Index(doc, "Who receives what")
	if start < 0 || end < start {
		t.Fatal("docs/websocket.md has no Events table")
	}
	for _, m := range regexp.MustCompile("`(\\{\"type\":[^`]*\\})`").FindAllStringSubmatch(doc[start:end], -1) {
		out = append(out, m[1])
	}
	for i := range out {
		out[i] = strings.ReplaceAll(out[i], "…,", "")
	}
	return out
}

// messagesIn collects the message objects of a decoded example.
func messagesIn(v any, key string) []map[string]any {
	var out []map[string]any
	switch v := v.(type) {
	case map[string]any:
		if key == "message" || key == "event_message" || key == "messages[]" {
			out = append(out, v)
		}
		for k, x := range v {
			out = append(out, messagesIn(x, k)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, messagesIn(x, key+"[]")...)
		}
	}
	return out
}
