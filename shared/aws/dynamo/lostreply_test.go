package dynamo_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// TestLostReplyOfAnAppliedPut: the first attempt of each PutItem reaches
// DynamoDB and is applied, but its answer is lost (a 500, as a broken
// connection or a timeout after the write would be); the SDK retries, and
// the retry's condition fails on that very write. The conditional creates
// (user, message, audit entry) report success, not "exists"; a
// different writer of the same key still gets the conflict.
func TestLostReplyOfAnAppliedPut(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	cfg := env.Cfg.Copy()
	var attempts, lost atomic.Int64
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("test.lose-first-reply",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) != "PutItem" || attempts.Add(1)%2 == 0 {
					return next.HandleDeserialize(ctx, in)
				}
				_, md, _ := next.HandleDeserialize(ctx, in) // applied
				lost.Add(1)
				resp := &smithyhttp.Response{Response: &http.Response{StatusCode: 500, Header: http.Header{}}}
				return middleware.DeserializeOutput{}, md, &awshttp.ResponseError{
					ResponseError: &smithyhttp.ResponseError{Response: resp, Err: errors.New("answer lost after the write")}}
			}), middleware.Before)
	})
	db := env.DB(cfg)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)

	uid := testenv.ID("lost")
	if old, err := db.Users.PutUserIfAbsent(ctx, users.User{UserID: uid, Nickname: "n", CreatedAt: now, UpdatedAt: now}); err != nil || old != nil {
		t.Fatalf("create user: %+v, %v; want success", old, err)
	}
	if _, err := env.DB(env.Cfg).Users.PutUserIfAbsent(ctx, users.User{UserID: uid, Nickname: "other", CreatedAt: now.Add(time.Millisecond), UpdatedAt: now}); !apierror.Is(err, apierror.UserExists) {
		t.Fatalf("another writer of %s: %v, want user_exists", uid, err)
	}

	conv := chat.GroupConversationID(testenv.ID("g"))
	claim := chat.Claim{ConversationID: conv, Key: testenv.ID("cm"), Seq: 1, MessageID: testenv.ID("m"), CreatedAt: now, Fingerprint: "fp"}
	// A claim is not recognised (identical claims are the point of
	// client_msg_id): its retry gets the claim itself back.
	if old, err := db.Chat.ClaimClientMsgID(ctx, claim); err != nil || (old != nil && old.MessageID != claim.MessageID) {
		t.Fatalf("claim: %+v, %v; want success or our own claim", old, err)
	}
	msg := chat.Message{ConversationID: conv, Seq: 1, MessageID: claim.MessageID, Kind: chat.KindMessage, SenderType: chat.SenderUser,
		SenderID: "a", Text: "hi", CreatedAt: now}
	if old, err := db.Chat.PutMessage(ctx, msg); err != nil || old != nil {
		t.Fatalf("put message: %+v, %v; want success", old, err)
	}
	other := msg
	other.MessageID, other.Text = testenv.ID("m"), "someone else's"
	if old, err := env.DB(env.Cfg).Chat.PutMessage(ctx, other); err != nil || old == nil || old.MessageID != msg.MessageID {
		t.Fatalf("another message at the same seq: %+v, %v; want the stored one back", old, err)
	}
	// An audit entry: its retry meets its own write (recognised by the
	// write token), while the same entry appended by another call is
	// refused (an entry is never written over).
	entry := audit.Entry{ID: audit.NewID(now), At: now, Actor: "credential:tk_lost", Action: "user.update", Target: "user:" + uid,
		RequestID: "req-lost", ExpiresAt: now.Add(time.Hour).Unix()}
	if err := dynamo.NewAudit(db.Client(), env.Res.Tables["AuditTable"]).Append(ctx, entry); err != nil {
		t.Fatalf("audit entry whose answer was lost: %v, want success", err)
	}
	if err := dynamo.NewAudit(env.DB(env.Cfg).Client(), env.Res.Tables["AuditTable"]).Append(ctx, entry); err == nil {
		t.Fatal("the same audit entry appended again by another call: written over")
	}
	// At least one per put (an emulator's own retry may add an attempt,
	// and so another lost answer; every put above still had to succeed).
	if lost.Load() < 4 {
		t.Fatalf("%d answers lost, want at least 4 (one per put): the scenario did not happen", lost.Load())
	}
}
