package main

// The real item shapes: users, groups and members changed through the
// services and stores, read from the Users and Groups tables' streams by
// the template's own event sources, derive the documented events.

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/shared/chat"
	tevents "github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// recorder is a Publisher that keeps what it is handed.
type recorder struct {
	mu  sync.Mutex
	evs []tevents.Event
}

func (r *recorder) Publish(_ context.Context, evs []tevents.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

// typesOf lists the types of the events whose key is key, in order.
func (r *recorder) typesOf(key string) []tevents.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []tevents.Type
	for _, e := range r.evs {
		if e.Key == key {
			out = append(out, e.Type)
		}
	}
	return out
}

// TestLifecycleEvents: a user's and a group's life as events.
func TestLifecycleEvents(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorder{}
	h := lambda.NewHandler(NewHandler(rec, nil, quiet).Handle)
	pctx, stop := context.WithCancel(ctx)
	var polling sync.WaitGroup
	defer func() { stop(); polling.Wait() }()
	for _, name := range []string{"Users", "Groups"} {
		src := eventsSource(t, env.Template, name)
		p, err := local.NewStreamPoller(local.StreamPoller{Source: src, StreamARN: env.Res.StreamARNs[src.Table], FunctionARN: "events",
			Region: env.Cfg.Region, Client: dynamodbstreams.NewFromConfig(env.Cfg), Fn: h, Log: quiet, Interval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		polling.Go(func() { p.Run(pctx) })
	}

	db := env.DB(env.Cfg)
	us := users.NewService(db.Users, env.Cursors, nil)
	admin := *testenv.Admin()
	ids := testenv.NewUsers(t, us, "life", 3)
	owner, member, gone := ids[0], ids[1], ids[2]
	nick := "Renamed"
	if _, err := us.Update(ctx, admin, gone, users.Patch{Nickname: &nick}); err != nil {
		t.Fatal(err)
	}
	svc := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Log: quiet})
	gid := testenv.ID("g")
	if _, _, err := svc.CreateGroup(ctx, admin, chat.CreateGroupInput{GroupID: gid, OwnerID: owner, Name: "Team", Members: []string{member}}); err != nil {
		t.Fatal(err)
	}
	name := "Crew"
	steps := []func() error{
		func() error { _, err := svc.UpdateGroup(ctx, admin, gid, chat.GroupPatch{Name: &name}); return err },
		func() error { _, err := svc.AddMembers(ctx, admin, gid, []string{gone}); return err },
		func() error {
			r := chat.RoleAdmin
			_, err := svc.UpdateMember(ctx, admin, gid, member, chat.MemberUpdate{Role: &r})
			return err
		},
		func() error {
			m := true
			_, err := svc.UpdateMember(ctx, admin, gid, member, chat.MemberUpdate{Muted: &m})
			return err
		},
		func() error { return svc.RemoveMember(ctx, admin, gid, gone) },
		func() error { return svc.DissolveGroup(ctx, admin, gid) },
		func() error { return us.Delete(ctx, admin, gone) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}

	wantGroup := []tevents.Type{tevents.GroupCreated, tevents.MemberAdded, tevents.MemberAdded, tevents.GroupUpdated, tevents.MemberAdded,
		tevents.MemberRoleChanged, tevents.MemberMuted, tevents.MemberRemoved, tevents.GroupDissolved, tevents.MemberRemoved, tevents.MemberRemoved}
	wantUser := []tevents.Type{tevents.UserCreated, tevents.UserUpdated, tevents.UserDeleted}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && (len(rec.typesOf("group:"+gid)) < len(wantGroup) || len(rec.typesOf("user:"+gone)) < len(wantUser)) {
		time.Sleep(200 * time.Millisecond)
	}
	if got := rec.typesOf("user:" + gone); !slices.Equal(got, wantUser) {
		t.Errorf("user events %v, want %v", got, wantUser)
	}
	got := rec.typesOf("group:" + gid)
	// The initial members' order within the create transaction is not
	// defined, nor is the purge's after the dissolve: compare as sets
	// there, in order elsewhere.
	if len(got) != len(wantGroup) || got[0] != tevents.GroupCreated || !slices.Equal(got[3:9], wantGroup[3:9]) {
		t.Errorf("group events %v, want %v", got, wantGroup)
	}
}
