package presend

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// receiver is a hook endpoint on 127.0.0.1 answering with answer (or
// sleeping past the budget when answer is "hang"); it records requests.
func receiver(t *testing.T, status int, answer string) (*httptest.Server, *[]Request) {
	t.Helper()
	var got []Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("hook got %s %s: %v", r.Method, r.Header.Get("Content-Type"), err)
		}
		got = append(got, req)
		if answer == "hang" {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func check(text string) chat.SendCheck {
	ref, _ := chat.ParseConversationID("dm:alice:bob")
	return chat.SendCheck{Principal: auth.Principal{Kind: auth.KindUser, UserID: "alice"}, SenderID: "alice", Conversation: ref,
		ClientMsgID: "c1", Content: chat.SendContent{Text: text}}
}

// TestHook: each answer, timeout and failure, under each policy, gives
// the documented outcome.
func TestHook(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		answer   string
		policy   Policy
		wantText string
		wantCode apierror.Code
		wantMsg  string
	}{
		{"allow", 200, `{"action":"allow"}`, Reject, "hello", "", ""},
		{"reject with reason", 200, `{"action":"reject","reason":"no  links\nplease"}`, Allow, "", apierror.RejectedByHook, "no links please"},
		{"reject without reason", 200, `{"action":"reject"}`, Allow, "", apierror.RejectedByHook, "The message was rejected."},
		{"reject, long reason cut", 200, `{"action":"reject","reason":"` + strings.Repeat("x", 500) + `"}`, Allow, "", apierror.RejectedByHook, strings.Repeat("x", MaxReason)},
		{"replace text", 200, `{"action":"replace","text":"h***o"}`, Reject, "h***o", "", ""},
		{"timeout, policy allow", 200, "hang", Allow, "hello", "", ""},
		{"timeout, policy reject", 200, "hang", Reject, "", apierror.HookUnavailable, ""},
		{"5xx, policy allow", 500, `{}`, Allow, "hello", "", ""},
		{"5xx, policy reject", 502, `{}`, Reject, "", apierror.HookUnavailable, ""},
		{"not JSON, policy reject", 200, `<html>`, Reject, "", apierror.HookUnavailable, ""},
		{"unknown action, policy reject", 200, `{"action":"maybe"}`, Reject, "", apierror.HookUnavailable, ""},
		{"replace with nothing, policy allow", 200, `{"action":"replace"}`, Allow, "hello", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := receiver(t, tc.status, tc.answer)
			h := &Hook{Caller: &HTTPCaller{URL: srv.URL, Client: srv.Client()}, Policy: tc.policy, Log: quiet, Budget: 200 * time.Millisecond}
			start := time.Now()
			out, err := h.CheckSend(context.Background(), check("hello"))
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %v: the budget is 200 ms", took)
			}
			if len(*got) != 1 || (*got)[0].Text != "hello" || (*got)[0].SenderID != "alice" || (*got)[0].ConversationID != "dm:alice:bob" || (*got)[0].Type != "message.presend" {
				t.Errorf("hook requests %+v", *got)
			}
			if tc.wantCode != "" {
				var ae *apierror.Error
				if !errors.As(err, &ae) || ae.Code != tc.wantCode || tc.wantMsg != "" && ae.Message != tc.wantMsg {
					t.Fatalf("err %v, want %s %q", err, tc.wantCode, tc.wantMsg)
				}
				return
			}
			if err != nil || out.Text != tc.wantText {
				t.Fatalf("got %+v, %v; want text %q", out, err, tc.wantText)
			}
		})
	}
}

// TestHookThroughSend: through chat.Service, a rejected message is not
// stored and the sender gets rejected_by_hook; a replaced one is stored
// with the hook's text and payload.
func TestHookThroughSend(t *testing.T) {
	ctx := context.Background()
	w := memstore.NewWorld()
	for _, id := range []string{"alice", "bob"} {
		if _, _, err := users.NewService(w.Users, nil, nil).Create(ctx, auth.Principal{Kind: auth.KindAdmin, KeyID: "tk"}, users.CreateInput{UserID: id}, ""); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		_ = json.NewDecoder(r.Body).Decode(&req)
		if strings.Contains(req.Text, "spam") {
			io.WriteString(w, `{"action":"reject","reason":"spam is not allowed"}`)
			return
		}
		io.WriteString(w, `{"action":"replace","text":"`+strings.ToUpper(req.Text)+`","payload":{"type":"moderated","data":{"ok":true}}}`)
	}))
	defer srv.Close()
	svc := chat.NewService(w.Chat, nil, chat.Config{}, chat.Options{Log: quiet,
		Guard: &Hook{Caller: &HTTPCaller{URL: srv.URL, Client: srv.Client()}, Policy: Reject, Log: quiet}})
	alice := auth.Principal{Kind: auth.KindUser, UserID: "alice"}
	_, _, err := svc.Send(ctx, alice, chat.SendInput{ToUser: "bob", Text: "buy spam"})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.RejectedByHook || ae.Message != "spam is not allowed" || apierror.HTTPStatus(ae.Code) != 403 {
		t.Fatalf("rejected send: %v", err)
	}
	if m, err := w.Chat.GetMessage(ctx, "dm:alice:bob", 1); err != nil || m != nil {
		t.Fatalf("a rejected message was stored: %+v %v", m, err)
	}
	m, _, err := svc.Send(ctx, alice, chat.SendInput{ToUser: "bob", Text: "hello"})
	if err != nil || m.Text != "HELLO" || m.Payload == nil || m.Payload.Type != "moderated" {
		t.Fatalf("replaced send: %+v %v", m, err)
	}
	if st, err := w.Chat.GetMessage(ctx, "dm:alice:bob", m.Seq); err != nil || st == nil || st.Text != "HELLO" {
		t.Fatalf("stored %+v %v, want the hook's text", st, err)
	}
}

// TestValidateURL: https only, http only when allowed, no credentials.
func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://hooks.example.com/presend", false, true},
		{"http://hooks.example.com/presend", false, false},
		{"http://127.0.0.1:9000/hook", true, true},
		{"https://user:pw@hooks.example.com/", false, false},
		{"/relative", false, false},
		{"ftp://example.com", true, false},
	} {
		if err := ValidateURL(tc.url, tc.allowHTTP); (err == nil) != tc.ok {
			t.Errorf("%s (http %v): err %v, want ok=%v", tc.url, tc.allowHTTP, err, tc.ok)
		}
	}
}
