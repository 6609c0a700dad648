package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/push"
)

// Push is the push stores of one adapter.
type Push interface {
	push.DeviceStore
	push.PrefStore
}

// pushDevice is a device as the devices service builds it.
func pushDevice(user, id string, p push.Platform, token string) push.Device {
	now := msNow()
	d := push.Device{UserID: user, DeviceID: id, Platform: p, Token: token, Locale: "en-GB", AppVersion: "1.2.3", CreatedAt: now, UpdatedAt: now}
	if p == push.Web {
		d.Keys = &push.WebKeys{P256dh: "BP" + strings.Repeat("a", 85), Auth: "c2VjcmV0c2VjcmV0MTIzNA"}
	}
	return d
}

func apnsToken() string {
	return strings.Repeat("ab", 16) + strings.Repeat("0", 32-10) + storeID("")[1:]
}

func mustPutDevice(t *testing.T, s Push, d push.Device) push.PutResult {
	t.Helper()
	r, err := s.PutDevice(context.Background(), d, push.MaxDevicesPerUser)
	if err != nil {
		t.Fatalf("put device %s/%s: %v", d.UserID, d.DeviceID, err)
	}
	return r
}

func deviceIDs(t *testing.T, s Push, user string) []string {
	t.Helper()
	ds, err := s.ListDevices(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, d := range ds {
		out = append(out, d.DeviceID)
	}
	return out
}

// PushStore runs the push.DeviceStore and push.PrefStore contract.
func PushStore(t *testing.T, newStore func(t *testing.T) Push) {
	t.Helper()
	ctx := context.Background()
	runCases(t, newStore, []storeCase[Push]{
		{"put, list in id order, replace keeps created_at", func(t *testing.T, s Push) {
			u := storeID("u")
			web := pushDevice(u, "b-web", push.Web, "https://push.example.com/"+storeID("sub"))
			ios := pushDevice(u, "a-ios", push.APNs, apnsToken())
			if r := mustPutDevice(t, s, web); !r.Created || r.TakenFrom != nil {
				t.Fatalf("first put: %+v", r)
			}
			mustPutDevice(t, s, ios)
			got, err := s.ListDevices(ctx, u)
			if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], ios) || !reflect.DeepEqual(got[1], web) {
				t.Fatalf("list %+v %v\nwant %+v %+v", got, err, ios, web)
			}
			again := ios
			again.Locale, again.UpdatedAt, again.CreatedAt = "fr", ios.UpdatedAt.Add(time.Minute), ios.UpdatedAt.Add(time.Minute)
			r := mustPutDevice(t, s, again)
			if r.Created || r.TakenFrom != nil || !r.Device.CreatedAt.Equal(ios.CreatedAt) || r.Device.Locale != "fr" {
				t.Fatalf("replace: %+v", r)
			}
		}},
		{"a user with no devices lists none", func(t *testing.T, s Push) {
			if got := deviceIDs(t, s, storeID("nobody")); len(got) != 0 {
				t.Fatalf("got %v", got)
			}
		}},
		{"device limit refuses a new id, not a re-registration", func(t *testing.T, s Push) {
			u := storeID("u")
			for i := range 2 {
				if _, err := s.PutDevice(ctx, pushDevice(u, "d"+string(rune('0'+i)), push.FCM, storeID("fcm-token-"+strings.Repeat("x", 30))), 2); err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.PutDevice(ctx, pushDevice(u, "d9", push.FCM, storeID("fcm-token-"+strings.Repeat("y", 30))), 2)
			wantCode(t, err, apierror.DeviceLimit)
			if _, err := s.PutDevice(ctx, pushDevice(u, "d0", push.FCM, storeID("fcm-token-"+strings.Repeat("z", 30))), 2); err != nil {
				t.Fatalf("re-register at the limit: %v", err)
			}
			if got := deviceIDs(t, s, u); !reflect.DeepEqual(got, []string{"d0", "d1"}) {
				t.Fatalf("devices %v", got)
			}
		}},
		{"one token one user: registering it elsewhere removes the first device", func(t *testing.T, s Push) {
			a, b, tok := storeID("a"), storeID("b"), apnsToken()
			mustPutDevice(t, s, pushDevice(a, "phone", push.APNs, tok))
			mustPutDevice(t, s, pushDevice(a, "tablet", push.APNs, apnsToken()))
			r := mustPutDevice(t, s, pushDevice(b, "phone", push.APNs, tok))
			if r.TakenFrom == nil || *r.TakenFrom != (push.DeviceRef{UserID: a, DeviceID: "phone"}) {
				t.Fatalf("taken from %+v", r.TakenFrom)
			}
			if got := deviceIDs(t, s, a); !reflect.DeepEqual(got, []string{"tablet"}) {
				t.Fatalf("first user keeps %v", got)
			}
			// The same token on another platform is another token.
			if r := mustPutDevice(t, s, pushDevice(a, "sandbox", push.APNsSandbox, tok)); r.TakenFrom != nil {
				t.Fatalf("sandbox token taken from %+v", r.TakenFrom)
			}
		}},
		{"one token one user under concurrency: of users registering it at once, exactly one keeps it", func(t *testing.T, s Push) {
			for round := range 4 {
				tok := apnsToken()
				var users []string
				for i := range 6 {
					users = append(users, storeID(fmt.Sprintf("c%d-%d", round, i)))
				}
				var wg sync.WaitGroup
				for _, u := range users {
					wg.Go(func() {
						if _, err := s.PutDevice(context.Background(), pushDevice(u, "phone", push.APNs, tok), push.MaxDevicesPerUser); err != nil {
							t.Errorf("put %s: %v", u, err)
						}
					})
				}
				wg.Wait()
				var holders []string
				for _, u := range users {
					if len(deviceIDs(t, s, u)) > 0 {
						holders = append(holders, u)
					}
				}
				if len(holders) != 1 {
					t.Fatalf("round %d: %d users hold the token: %v", round, len(holders), holders)
				}
				// The holder is the owner: another user taking the token
				// over takes it from the holder.
				r := mustPutDevice(t, s, pushDevice(storeID("late"), "phone", push.APNs, tok))
				if r.TakenFrom == nil || r.TakenFrom.UserID != holders[0] || len(deviceIDs(t, s, holders[0])) != 0 {
					t.Fatalf("round %d: late registration took from %+v, holder %s", round, r.TakenFrom, holders[0])
				}
			}
		}},
		{"a device's old token is released when it gets a new one", func(t *testing.T, s Push) {
			a, b, old := storeID("a"), storeID("b"), apnsToken()
			mustPutDevice(t, s, pushDevice(a, "phone", push.APNs, old))
			mustPutDevice(t, s, pushDevice(a, "phone", push.APNs, apnsToken()))
			if r := mustPutDevice(t, s, pushDevice(b, "phone", push.APNs, old)); r.TakenFrom != nil {
				t.Fatalf("old token still owned by %+v", r.TakenFrom)
			}
			if got := deviceIDs(t, s, a); !reflect.DeepEqual(got, []string{"phone"}) {
				t.Fatalf("first user's device with its new token was removed: %v", got)
			}
		}},
		{"delete once, then not_found; the token is free again", func(t *testing.T, s Push) {
			a, b, tok := storeID("a"), storeID("b"), apnsToken()
			d := pushDevice(a, "phone", push.APNs, tok)
			mustPutDevice(t, s, d)
			got, err := s.DeleteDevice(ctx, a, "phone")
			if err != nil || got.Token != tok {
				t.Fatalf("delete: %+v %v", got, err)
			}
			_, err = s.DeleteDevice(ctx, a, "phone")
			wantCode(t, err, apierror.NotFound)
			if r := mustPutDevice(t, s, pushDevice(b, "x", push.APNs, tok)); r.TakenFrom != nil {
				t.Fatalf("deleted device still owns its token: %+v", r.TakenFrom)
			}
		}},
		{"remove only while the device holds the token", func(t *testing.T, s Push) {
			a := storeID("a")
			d := pushDevice(a, "phone", push.APNs, apnsToken())
			mustPutDevice(t, s, d)
			newer := pushDevice(a, "phone", push.APNs, apnsToken())
			mustPutDevice(t, s, newer)
			if ok, err := s.RemoveDevice(ctx, a, "phone", d.TokenHash()); ok || err != nil {
				t.Fatalf("removed a re-registered device: %v %v", ok, err)
			}
			if ok, err := s.RemoveDevice(ctx, a, "phone", newer.TokenHash()); !ok || err != nil {
				t.Fatalf("remove: %v %v", ok, err)
			}
			if got := deviceIDs(t, s, a); len(got) != 0 {
				t.Fatalf("left %v", got)
			}
		}},
		{"endpoint set for the current token, kept on re-registration", func(t *testing.T, s Push) {
			a, tok := storeID("a"), apnsToken()
			d := pushDevice(a, "phone", push.APNs, tok)
			mustPutDevice(t, s, d)
			if err := s.SetEndpoint(ctx, a, "phone", push.TokenHash(push.APNs, "other"), "arn:wrong"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetEndpoint(ctx, a, "phone", d.TokenHash(), "arn:ep"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetEndpoint(ctx, a, "gone", d.TokenHash(), "arn:ep"); err != nil {
				t.Fatalf("set endpoint of a missing device: %v", err)
			}
			r := mustPutDevice(t, s, pushDevice(a, "phone", push.APNs, tok))
			ds, _ := s.ListDevices(ctx, a)
			if r.Device.EndpointARN != "arn:ep" || len(ds) != 1 || ds[0].EndpointARN != "arn:ep" {
				t.Fatalf("endpoint %q / %+v", r.Device.EndpointARN, ds)
			}
			mustPutDevice(t, s, pushDevice(a, "phone", push.APNs, apnsToken()))
			if ds, _ := s.ListDevices(ctx, a); ds[0].EndpointARN != "" {
				t.Fatalf("a new token kept the old endpoint %q", ds[0].EndpointARN)
			}
		}},
		{"preferences: defaults, then as written", func(t *testing.T, s Push) {
			u := storeID("u")
			p, conv, err := s.GetPrefs(ctx, u, []string{"dm:a:b"})
			if err != nil || !reflect.DeepEqual(p, push.DefaultPrefs()) || len(conv) != 0 {
				t.Fatalf("defaults %+v %+v %v", p, conv, err)
			}
			want := push.Prefs{Preview: false, DND: &push.DND{Start: "22:00", End: "07:00", TimeZone: "Europe/Paris"}}
			if err := s.PutPrefs(ctx, u, want); err != nil {
				t.Fatal(err)
			}
			until := msNow().Add(time.Hour)
			if err := s.PutConvPref(ctx, u, "g:team", push.ConvPref{Level: push.LevelNone, Until: &until}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutConvPref(ctx, u, "dm:a:b", push.ConvPref{Level: push.LevelMentions}); err != nil {
				t.Fatal(err)
			}
			p, conv, err = s.GetPrefs(ctx, u, []string{"g:team", "dm:a:b", "g:other"})
			if err != nil || !reflect.DeepEqual(p, want) || len(conv) != 2 || conv["g:team"].Level != push.LevelNone ||
				!conv["g:team"].Until.Equal(until) || conv["dm:a:b"].Level != push.LevelMentions || conv["dm:a:b"].Until != nil {
				t.Fatalf("got %+v %+v %v", p, conv, err)
			}
			if err := s.PutConvPref(ctx, u, "dm:a:b", push.ConvPref{Level: push.LevelAll}); err != nil {
				t.Fatal(err)
			}
			if _, conv, _ = s.GetPrefs(ctx, u, []string{"dm:a:b"}); len(conv) != 0 {
				t.Fatalf("all without until is the default, not an item: %+v", conv)
			}
		}},
		{"a push is claimed once until released", func(t *testing.T, s Push) {
			u := storeID("u")
			for i, want := range []bool{true, false} {
				if ok, err := s.ClaimPush(ctx, u, "dm:a:b#1#phone", time.Hour); ok != want || err != nil {
					t.Fatalf("claim %d: %v %v", i, ok, err)
				}
			}
			if ok, _ := s.ClaimPush(ctx, storeID("other"), "dm:a:b#1#phone", time.Hour); !ok {
				t.Fatal("another user's claim collided")
			}
			if err := s.ReleasePush(ctx, u, "dm:a:b#1#phone"); err != nil {
				t.Fatal(err)
			}
			if pushed, err := s.Pushed(ctx, u, "dm:a:b#1#phone"); pushed || err != nil {
				t.Fatalf("pushed after release: %v %v", pushed, err)
			}
			if ok, err := s.ClaimPush(ctx, u, "dm:a:b#1#phone", time.Hour); !ok || err != nil {
				t.Fatalf("claim after release: %v %v", ok, err)
			}
			if pushed, err := s.Pushed(ctx, u, "dm:a:b#1#phone"); !pushed || err != nil {
				t.Fatalf("pushed after claim: %v %v", pushed, err)
			}
			if pushed, _ := s.Pushed(ctx, u, "dm:a:b#2#phone"); pushed {
				t.Fatal("an unclaimed key reads as pushed")
			}
		}},
	})
}
