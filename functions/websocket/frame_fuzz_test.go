package main

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// FuzzFrame: whatever text frame a connected user sends, on the route API
// Gateway selects for it, the handler answers exactly one reply (ack,
// pong or error); an error carries a public code other than internal and
// a message; request_id is echoed only when it is a string of at most 128
// bytes of UTF-8, and then unchanged.
func FuzzFrame(f *testing.F) {
	for _, s := range []string{
		`{"action":"ping","request_id":"r1"}`,
		`{"action":"send","to_user":"fuzz-peer","text":"hi","client_msg_id":"m1","request_id":7}`,
		`{"action":"send","to_user":"../x","text":"hi","seq":5,"created_at":"x","sender":"bob"}`,
		`{"action":"read","conversation_id":"dm:a:b","seq":9007199254740993}`,
		`{"action":"sync","since":{"$gt":""},"limit":-1}`,
		`{"action":"typing","conversation_id":"g#x\u0000"}`,
		`{"action":"presence","user_ids":["a","a\n"]}`,
		`{"action":"$connect"}`, `{"action":"nope"}`, `{"action":1}`, `[]`, `null`, `{"action":"ping"} x`,
		`{"action":"ping","action":"send"}`, `{"action":"ping","request_id":"` + string(make([]byte, 200)) + `"}`,
	} {
		f.Add(s)
	}
	fx := newFixture(f) // one backend for every input
	user, peer := "fuzz-user", "fuzz-peer"
	for _, id := range []string{user, peer} {
		if _, _, err := fx.users.Create(ctx, *testenv.Admin(), users.CreateInput{UserID: id}, ""); err != nil {
			f.Fatal(err)
		}
	}
	var conn string
	f.Fuzz(func(t *testing.T, body string) {
		if conn == "" {
			conn = fx.connect(t, user)
		}
		reply := fx.call(t, user, conn, body) // fails unless exactly one reply
		switch reply["type"] {
		case "error":
			code, _ := reply["code"].(string)
			msg, _ := reply["message"].(string)
			if code == "" || code == string(apierror.Internal) || msg == "" {
				t.Fatalf("frame %q: error reply %v", body, reply)
			}
		case "ack", "pong":
		default:
			t.Fatalf("frame %q: reply %v", body, reply)
		}
		var head struct {
			RequestID any `json:"request_id"`
		}
		json.Unmarshal([]byte(body), &head)
		want, _ := head.RequestID.(string)
		if len(want) > maxRequestID || !utf8.ValidString(want) {
			want = ""
		}
		if got, _ := reply["request_id"].(string); json.Valid([]byte(body)) && got != want {
			t.Fatalf("frame %q: request_id %q echoed, want %q", body, got, want)
		}
	})
}
