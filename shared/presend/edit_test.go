package presend

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/users"
)

// TestHookThroughEdit: an edit passes the pre-send hook as a send does.
// The hook allows "fine ..." (stored as given), rejects "... spam ..."
// (403 rejected_by_hook with the hook's reason; the message keeps its
// text and no edit is appended), rewrites anything else to upper case
// (the hook's text is stored and announced), and a hook that does not
// answer refuses the edit under the reject policy (503 hook_unavailable).
func TestHookThroughEdit(t *testing.T) {
	ctx := context.Background()
	w := memstore.NewWorld()
	for _, id := range []string{"alice", "bob"} {
		if _, _, err := users.NewService(w.Users, nil, nil).Create(ctx, auth.Principal{Kind: auth.KindAdmin, KeyID: "tk"}, users.CreateInput{UserID: id}, ""); err != nil {
			t.Fatal(err)
		}
	}
	var seen []Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		_ = json.NewDecoder(r.Body).Decode(&req)
		seen = append(seen, req)
		switch {
		case strings.Contains(req.Text, "hang"):
			time.Sleep(300 * time.Millisecond)
		case strings.HasPrefix(req.Text, "fine"):
			io.WriteString(w, `{"action":"allow"}`)
		case strings.Contains(req.Text, "spam"):
			io.WriteString(w, `{"action":"reject","reason":"spam is not allowed"}`)
		default:
			io.WriteString(w, `{"action":"replace","text":"`+strings.ToUpper(req.Text)+`"}`)
		}
	}))
	defer srv.Close()
	svc := chat.NewService(w.Chat, nil, chat.Config{}, chat.Options{Log: quiet,
		Guard: &Hook{Caller: &HTTPCaller{URL: srv.URL, Client: srv.Client()}, Policy: Reject, Log: quiet, Budget: 100 * time.Millisecond}})
	alice := auth.Principal{Kind: auth.KindUser, UserID: "alice"}
	m, _, err := svc.Send(ctx, alice, chat.SendInput{ToUser: "bob", Text: "fine first"})
	if err != nil || m.Text != "fine first" {
		t.Fatalf("send: %+v %v", m, err)
	}
	conv := string(m.ConversationID)
	stored := func() string {
		t.Helper()
		st, err := w.Chat.GetMessage(ctx, m.ConversationID, m.Seq)
		if err != nil || st == nil {
			t.Fatalf("stored message: %+v %v", st, err)
		}
		return st.Text
	}

	// allow: stored as given.
	if got, err := svc.Edit(ctx, alice, conv, m.Seq, "fine second"); err != nil || got.Text != "fine second" || stored() != "fine second" {
		t.Fatalf("allowed edit: %+v %v, stored %q", got, err, stored())
	}
	if last := seen[len(seen)-1]; last.Text != "fine second" || last.SenderID != "alice" || last.ConversationID != conv {
		t.Fatalf("the hook saw %+v, want the edit's text from alice in %s", last, conv)
	}
	// reject: the hook's reason, nothing changed.
	_, err = svc.Edit(ctx, alice, conv, m.Seq, "buy spam now")
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.RejectedByHook || ae.Message != "spam is not allowed" || apierror.HTTPStatus(ae.Code) != 403 {
		t.Fatalf("rejected edit: %v", err)
	}
	if stored() != "fine second" {
		t.Fatalf("a rejected edit changed the text to %q", stored())
	}
	// replace: the hook's text is stored.
	if got, err := svc.Edit(ctx, alice, conv, m.Seq, "quiet please"); err != nil || got.Text != "QUIET PLEASE" || stored() != "QUIET PLEASE" {
		t.Fatalf("replaced edit: %+v %v, stored %q", got, err, stored())
	}
	// The same edit again (a client's retry): rewritten to what the
	// message says already, nothing appended.
	if _, err := svc.Edit(ctx, alice, conv, m.Seq, "quiet please"); err != nil {
		t.Fatalf("retried edit: %v", err)
	}
	// seq+1 and seq+2 are the two edits' events.
	if after, _ := w.Chat.GetMessage(ctx, m.ConversationID, m.Seq+3); after != nil {
		t.Fatalf("a retried rewritten edit appended %+v", after)
	}
	// No answer, policy reject: refused, unchanged.
	if _, err := svc.Edit(ctx, alice, conv, m.Seq, "hang on"); !errors.As(err, &ae) || ae.Code != apierror.HookUnavailable {
		t.Fatalf("edit with a silent hook: %v, want hook_unavailable", err)
	}
	if stored() != "QUIET PLEASE" {
		t.Fatalf("a refused edit changed the text to %q", stored())
	}
}
