package push_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/push/pushtest"
	"github.com/tokenim/tokenim/shared/testenv"
)

// endpoints records the SNS endpoints deleted.
type endpoints struct {
	mu      sync.Mutex
	deleted []string
}

func (e *endpoints) DeleteEndpoint(_ context.Context, arn string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleted = append(e.deleted, arn)
	return nil
}

// withEndpoint gives a user's device an SNS endpoint, as its first push does.
func (w *world) withEndpoint(t *testing.T, user, device, arn string) {
	t.Helper()
	ds, err := w.store.ListDevices(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.DeviceID == device {
			if err := w.store.SetEndpoint(ctx, user, device, d.TokenHash(), arn); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestForgetUser: a deleted user's devices go with their SNS endpoints,
// their tokens are free for whoever registers them next, and their push
// settings, conversation settings and notifications are deleted; other
// users' stay. A device deleted through the API loses its endpoint too.
func TestForgetUser(t *testing.T) {
	w := newWorld(t)
	eps := &endpoints{}
	devices := push.NewDevices(w.store, w.env.Stores().Users, discard, nil).WithEndpoints(eps).WithUserData(pushtest.UserData(w.store)...)
	u := w.newUsers(t, "gone", 2)
	gone, other := u[0], u[1]
	tok := w.device(t, gone, "iphone", push.APNs)
	w.device(t, gone, "pixel", push.FCM)
	w.device(t, gone, "web", push.FCM)
	w.device(t, other, "iphone", push.APNs)
	w.withEndpoint(t, gone, "iphone", "arn:aws:sns:us-east-1:000000000000:endpoint/APNS/app/gone-iphone")
	w.withEndpoint(t, gone, "web", "arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/gone-web")
	w.withEndpoint(t, other, "iphone", "arn:aws:sns:us-east-1:000000000000:endpoint/APNS/app/other-iphone")
	if err := devices.Delete(ctx, *testenv.User(gone), gone, "web"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(eps.deleted, []string{"arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/gone-web"}) {
		t.Fatalf("after DELETE: endpoints deleted %v", eps.deleted)
	}
	until := time.Now().Add(time.Hour)
	for _, who := range []string{gone, other} {
		if _, err := w.settings.Put(ctx, *testenv.User(who), who, push.Prefs{Preview: false}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.settings.PutConversation(ctx, *testenv.User(who), who, "dm:"+gone+":"+other, push.ConvPref{Level: push.LevelNone, Until: &until}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.store.ClaimRecipient(ctx, push.InboxItem{UserID: who, ID: push.NewBroadcastID(time.Now()), Title: "t", Body: "b", CreatedAt: time.Now()}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := w.store.ClaimPush(ctx, who, "dm#1#iphone", time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	devices.ForgetUser(ctx, gone)
	if ds, err := w.store.ListDevices(ctx, gone); err != nil || len(ds) != 0 {
		t.Fatalf("left %+v %v", ds, err)
	}
	if !slices.Contains(eps.deleted, "arn:aws:sns:us-east-1:000000000000:endpoint/APNS/app/gone-iphone") || len(eps.deleted) != 2 {
		t.Fatalf("endpoints deleted %v", eps.deleted)
	}
	check := func(who string, kept bool) {
		t.Helper()
		p, conv, err := w.store.GetPrefs(ctx, who, []string{"dm:" + gone + ":" + other})
		if err != nil {
			t.Fatal(err)
		}
		inbox, _, _ := w.store.ListInbox(ctx, who, 10, nil)
		claimed, _ := w.store.Pushed(ctx, who, "dm#1#iphone")
		if got := []bool{!p.Preview, len(conv) == 1, len(inbox) == 1, claimed}; !slices.Equal(got, []bool{kept, kept, kept, kept}) {
			t.Fatalf("%s (kept %v): preview off, conversation setting, notification, claim = %v", who, kept, got)
		}
	}
	check(gone, false)
	check(other, true)
	if ds, _ := w.store.ListDevices(ctx, other); len(ds) != 1 {
		t.Fatalf("the other user's devices: %+v", ds)
	}
	_, _, err := w.devices.Register(ctx, *testenv.User(other), other, "old-phone", push.Registration{Platform: push.APNs, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
}
