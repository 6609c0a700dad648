// Package storetest holds one contract suite per store interface. Each
// runs against every implementation (the in-memory fakes in
// shared/memstore and the DynamoDB adapter in shared/aws/dynamo, on the
// emulator), so a fake cannot drift from the adapter it stands for. Every
// test uses fresh ids, so implementations may share tables across tests.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/cursor"
)

// ChatUsers is what the chat suite needs besides chat.Store: a way to make
// users exist (MissingUsers and ConvQuery.UserExists read them).
type ChatUsers interface {
	AddUsers(ctx context.Context, ids ...string) error
}

type chatCase struct {
	name string
	run  func(t *testing.T, s chat.Store)
}

// ChatOption adjusts the chat suite to a store's known limits.
type ChatOption func(*chatOptions)

type chatOptions struct{ moto bool }

// OnMoto skips the cases moto cannot pass through no fault of the adapter,
// each with its reason (DynamoDB Local, which LocalStack runs, passes them
// all, and so do the fakes): moto neither isolates concurrent
// TransactWriteItems nor keeps writes made during a cancelled one (it
// restores a copy of the table), and it accepts some requests DynamoDB
// rejects.
func OnMoto() ChatOption { return func(o *chatOptions) { o.moto = true } }

// A motoCase is a case moto fails, and why.
type motoCase struct {
	chatCase
	why string
}

// ChatStore runs the chat.Store contract against the stores newStore
// returns (one per test; it may return the same store every time). The
// store must also implement ChatUsers.
func ChatStore(t *testing.T, newStore func(t *testing.T) chat.Store, opts ...ChatOption) {
	t.Helper()
	var o chatOptions
	for _, opt := range opts {
		opt(&o)
	}
	var cases []chatCase
	cases = append(cases, chatGroupCases()...)
	cases = append(cases, chatMemberCases()...)
	cases = append(cases, chatConversationCases()...)
	cases = append(cases, chatMessageCases()...)
	cases = append(cases, chatThreadCases()...)
	cases = append(cases, chatReactionCases()...)
	cases = append(cases, chatMentionCases()...)
	cases = append(cases, chatPinCases()...)
	cases = append(cases, chatRejectedCases()...)
	// Serial: moto's TransactWriteItems is not safe against concurrent
	// writes to the same table (it fails with HTTP 500); the concurrency
	// cases still race requests on purpose.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	for _, tc := range chatMotoCases() {
		t.Run(tc.name, func(t *testing.T) {
			if o.moto {
				t.Skip("moto: " + tc.why)
			}
			tc.run(t, newStore(t))
		})
	}
}

// base is a time in whole milliseconds: stores keep milliseconds, UTC.
var base = time.UnixMilli(1_767_225_600_123).UTC()

func at(ms int64) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

// newID returns a unique id with a readable prefix.
func newID(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func ctxOf(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantCode fails unless err carries the API error code.
func wantCode(t *testing.T, err error, code apierror.Code) {
	t.Helper()
	if !apierror.Is(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, chat.ErrConflict) {
		t.Fatalf("error = %v, want chat.ErrConflict", err)
	}
}

// wantFailure fails unless err is a plain error: neither nil nor an API
// error a client would see as a rule (a rejected request, a caller bug).
func wantFailure(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("error = nil, want the request rejected")
	}
	if errors.Is(err, chat.ErrConflict) {
		t.Fatalf("error = %v, want a rejected request, not a conflict", err)
	}
}

func addUsers(t *testing.T, s chat.Store, ids ...string) {
	t.Helper()
	u, ok := s.(ChatUsers)
	if !ok {
		t.Fatalf("%T does not implement storetest.ChatUsers", s)
	}
	must(t, u.AddUsers(ctxOf(t), ids...))
}

// throughCodec carries a store's page token through a signed cursor and
// back, as the use cases hand it to clients, and returns what comes back.
func throughCodec(t *testing.T, scope string, page []byte) []byte {
	t.Helper()
	type state struct {
		Page []byte `json:"p"`
	}
	codec := cursor.New([]byte("storetest"))
	tok, err := codec.Encode(scope, state{Page: page})
	must(t, err)
	var got state
	must(t, codec.Decode(scope, tok, &got))
	return got.Page
}
