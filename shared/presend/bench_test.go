package presend

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/users"
)

// BenchmarkSendWithHook: what a hook adds to a send, with the store in
// memory so the difference is the hook's round trip (an allow answer
// from a receiver on 127.0.0.1, kept-alive connection): docs/events.md,
// "Latency and cost".
func BenchmarkSendWithHook(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"action":"allow"}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		guard chat.SendGuard
	}{
		{"no hook", nil},
		{"http hook", &Hook{Caller: &HTTPCaller{URL: srv.URL, Client: srv.Client()}, Policy: Reject, Log: quiet}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			w := memstore.NewWorld()
			for _, id := range []string{"alice", "bob"} {
				if _, _, err := users.NewService(w.Users, nil, nil).Create(ctx, auth.Principal{Kind: auth.KindAdmin, KeyID: "tk"}, users.CreateInput{UserID: id}, ""); err != nil {
					b.Fatal(err)
				}
			}
			svc := chat.NewService(w.Chat, nil, chat.Config{}, chat.Options{Log: quiet, Guard: tc.guard})
			alice := auth.Principal{Kind: auth.KindUser, UserID: "alice"}
			i := 0
			for b.Loop() {
				i++
				if _, _, err := svc.Send(ctx, alice, chat.SendInput{ToUser: "bob", Text: fmt.Sprint("m", i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
