package local

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/push/recorder"
)

// TestPushRecorder: what the push worker's recorder posts is listed at
// GET /_local/push, per user on request, without the token.
func TestPushRecorder(t *testing.T) {
	srv := httptest.NewServer(&PushRecorder{})
	defer srv.Close()
	s := recorder.New(srv.URL + PushPrefix)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, u := range []string{"bob", "alice", "bob"} {
		d := push.Device{UserID: u, DeviceID: "phone", Platform: push.APNs, Token: "0123456789abcdef"}
		if _, err := s.Send(ctx, d, push.Alert{Title: "alice", Body: "hi " + u, Badge: 1}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(srv.URL + PushPrefix + "?user_id=bob")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Pushes []recorder.Record }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Pushes) != 2 || out.Pushes[0].Alert.Body != "hi bob" || out.Pushes[0].TokenHint != "…abcdef" || out.Pushes[1].UserID != "bob" {
		t.Fatalf("pushes %+v", out.Pushes)
	}
}
