package chat_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestGroupsPerUserLimit: a user token creates at most a burst of 10
// groups, then gets rate_limited with retry_after_ms and nothing is
// created; another user is not affected; a refused request (bad input)
// takes no token; admin tokens are not limited; a new token arrives every
// 72 minutes (20 a day).
func TestGroupsPerUserLimit(t *testing.T) {
	f := newFixture(t, chat.Config{})
	svc, clock := f.clocked(nil)
	u := f.newUsers(t, "gl", 2)
	create := func(p string) error {
		_, _, err := svc.CreateGroup(ctx, user(p), chat.CreateGroupInput{Name: "g"})
		return err
	}
	// Bad input first: refused by validation, it must not use a token.
	if _, _, err := svc.CreateGroup(ctx, user(u[0]), chat.CreateGroupInput{Name: "g", GroupID: "bad id"}); err == nil {
		t.Fatal("a bad group id was accepted")
	}
	for i := range 10 {
		if err := create(u[0]); err != nil {
			t.Fatalf("group %d of the burst: %v", i+1, err)
		}
	}
	_, _, err := svc.CreateGroup(ctx, user(u[0]), chat.CreateGroupInput{Name: "g", GroupID: "gl-refused-" + u[0]})
	wantCode(t, err, apierror.RateLimited)
	var e *apierror.Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not an apierror", err)
	}
	if ms, _ := e.Details.(map[string]any)["retry_after_ms"].(int64); ms < 60*60*1000 || ms > 72*60*1000 {
		t.Fatalf("details %v, want retry_after_ms of about 72 minutes", e.Details)
	}
	if _, err := svc.GetGroup(ctx, admin(), "gl-refused-"+u[0]); !apierror.Is(err, apierror.NotFound) {
		t.Fatalf("the refused group exists: %v", err)
	}
	if err := create(u[1]); err != nil {
		t.Fatalf("another user: %v", err)
	}
	if _, _, err := svc.CreateGroup(ctx, admin(), chat.CreateGroupInput{Name: "g", OwnerID: u[0]}); err != nil {
		t.Fatalf("admin token for the limited user: %v", err)
	}
	*clock = clock.Add(73 * time.Minute)
	if err := create(u[0]); err != nil {
		t.Fatalf("after 73 minutes: %v", err)
	}
	wantCode(t, create(u[0]), apierror.RateLimited)
}
