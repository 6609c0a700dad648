package verify

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// finder knows some users; fail makes every call fail.
type finder struct {
	known map[string]bool
	fail  bool
	calls int
}

func (f *finder) FindUsers(_ context.Context, ids []string) (map[string]string, error) {
	f.calls++
	if len(ids) > findPage {
		return nil, errors.New("more than 100 ids")
	}
	if f.fail {
		return nil, errors.New("read failed")
	}
	found := map[string]string{}
	for _, id := range ids {
		if f.known[id] {
			found[id] = ""
		}
	}
	return found, nil
}

type groups map[string]bool

func (g groups) GetGroup(_ context.Context, gid string) (*chat.Group, error) {
	if gid == "boom" {
		return nil, errors.New("read failed")
	}
	if !g[gid] {
		return nil, nil
	}
	return &chat.Group{GroupID: gid}, nil
}

var admin = auth.Principal{Kind: auth.KindAdmin, KeyID: "k"}

func many(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "u" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	return ids
}

func TestUsers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		p            auth.Principal
		ids          []string
		fail         bool
		wantCode     apierror.Code
		wantExisting []string
		wantMissing  []string
	}{
		{name: "split in request order, repeats dropped", p: admin, ids: []string{"bob", "zed", "alice", "bob"},
			wantExisting: []string{"bob", "alice"}, wantMissing: []string{"zed"}},
		{name: "a failed read is internal, not a wrong answer", p: admin, ids: []string{"alice", "zed"}, fail: true,
			wantCode: apierror.Internal},
		{name: "user principal", p: auth.Principal{Kind: auth.KindUser, UserID: "alice"}, ids: []string{"alice"}, wantCode: apierror.Forbidden},
		{name: "empty", p: admin, ids: []string{}, wantCode: apierror.ValidationFailed},
		{name: "too many", p: admin, ids: many(MaxIDs + 1), wantCode: apierror.ValidationFailed},
		{name: "bad id", p: admin, ids: []string{"alice", "no spaces"}, wantCode: apierror.InvalidID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &finder{known: map[string]bool{"alice": true, "bob": true}, fail: tc.fail}
			got, err := New(f, groups{}).Users(context.Background(), tc.p, tc.ids)
			check(t, got, err, tc.wantCode, tc.wantExisting, tc.wantMissing)
		})
	}
}

// TestUsersPages: 1,000 ids are read 100 at a time.
func TestUsersPages(t *testing.T) {
	f := &finder{known: map[string]bool{}}
	got, err := New(f, groups{}).Users(context.Background(), admin, many(MaxIDs))
	if err != nil || len(got.Missing) != MaxIDs || f.calls != MaxIDs/findPage {
		t.Fatalf("missing %d, calls %d, err %v; want %d missing in %d calls", len(got.Missing), f.calls, err, MaxIDs, MaxIDs/findPage)
	}
}

func TestGroups(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ids          []string
		wantCode     apierror.Code
		wantErr      bool
		wantExisting []string
		wantMissing  []string
	}{
		{name: "split in request order", ids: []string{"g2", "nope", "g1", "g2"}, wantExisting: []string{"g2", "g1"}, wantMissing: []string{"nope"}},
		{name: "a failed read fails the call", ids: []string{"g1", "boom"}, wantErr: true},
		{name: "bad id", ids: []string{"g/1"}, wantCode: apierror.InvalidID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New(&finder{}, groups{"g1": true, "g2": true}).Groups(context.Background(), admin, tc.ids)
			if tc.wantErr {
				if apierror.CodeOf(err) != apierror.Internal {
					t.Fatalf("err = %v, want an internal error", err)
				}
				return
			}
			check(t, got, err, tc.wantCode, tc.wantExisting, tc.wantMissing)
		})
	}
}

func check(t *testing.T, got Result, err error, code apierror.Code, existing, missing []string) {
	t.Helper()
	if code != "" {
		if apierror.CodeOf(err) != code {
			t.Fatalf("err = %v, want %s", err, code)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Existing, existing) || !slices.Equal(got.Missing, missing) {
		t.Fatalf("got %+v, want existing %v missing %v", got, existing, missing)
	}
}
