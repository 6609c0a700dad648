// Package storetest holds the contract suites of the store interfaces: one
// exported func per interface, run against the in-memory fake
// (shared/memstore) and against DynamoDB (shared/aws/dynamo, emulator), after
// the repository tests of Wild Workouts. A suite needs only a constructor,
// so it follows an interface whichever adapter implements it. Suites use
// fresh ids in every case, so they can share tables with other tests, and
// never assume a table is empty.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/users"
)

// storeID returns a fresh id with a readable prefix.
func storeID(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// msNow is the current time as stores keep it: UTC, whole milliseconds.
func msNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// newUser is a user as the users service builds it.
func newUser(id string) users.User {
	now := msNow()
	return users.User{UserID: id, Nickname: "Nick " + id, AvatarURL: "https://example.com/" + id + ".png",
		Metadata: map[string]string{"team": "blue"}, CreatedAt: now, UpdatedAt: now, Gen: users.NewGen(),
		IdempotencyKey: "idem-" + id, Source: "cognito:pool:" + id}
}

func wantUser(t *testing.T, got, want users.User) {
	t.Helper()
	if got.UserID != want.UserID || got.Nickname != want.Nickname || got.AvatarURL != want.AvatarURL ||
		!maps.Equal(got.Metadata, want.Metadata) || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		got.Gen != want.Gen || got.IdempotencyKey != want.IdempotencyKey || got.Source != want.Source {
		t.Fatalf("user\n got %+v\nwant %+v", got, want)
	}
}

// storeCase is one sub-test of a suite, run on a fresh store.
type storeCase[S any] struct {
	name string
	run  func(t *testing.T, s S)
}

func runCases[S any](t *testing.T, newStore func(t *testing.T) S, cases []storeCase[S]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

// UsersStore runs the users.Store contract.
func UsersStore(t *testing.T, newStore func(t *testing.T) users.Store) {
	t.Helper()
	ctx := context.Background()
	runCases(t, newStore, []storeCase[users.Store]{
		{"put if absent then get", func(t *testing.T, s users.Store) {
			u := newUser(storeID("put"))
			if old, err := s.PutUserIfAbsent(ctx, u); err != nil || old != nil {
				t.Fatalf("put: %v %v", old, err)
			}
			got, err := s.GetUser(ctx, u.UserID)
			if err != nil {
				t.Fatal(err)
			}
			wantUser(t, got, u)
		}},
		{"empty fields read back empty", func(t *testing.T, s users.Store) {
			u := users.User{UserID: storeID("bare"), Metadata: map[string]string{}, CreatedAt: msNow(), UpdatedAt: msNow(), Gen: users.NewGen()}
			if _, err := s.PutUserIfAbsent(ctx, u); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetUser(ctx, u.UserID)
			if err != nil || len(got.Metadata) != 0 || got.Nickname != "" || got.AvatarURL != "" {
				t.Fatalf("got %+v %v, want empty fields", got, err)
			}
		}},
		{"put existing returns it and user_exists", func(t *testing.T, s users.Store) {
			first := newUser(storeID("dup"))
			if _, err := s.PutUserIfAbsent(ctx, first); err != nil {
				t.Fatal(err)
			}
			second := newUser(first.UserID)
			second.Nickname = "Other"
			old, err := s.PutUserIfAbsent(ctx, second)
			wantCode(t, err, apierror.UserExists)
			if old == nil {
				t.Fatal("no existing user returned")
			}
			wantUser(t, *old, first)
			got, _ := s.GetUser(ctx, first.UserID)
			wantUser(t, got, first)
		}},
		{"get missing is not_found", func(t *testing.T, s users.Store) {
			_, err := s.GetUser(ctx, storeID("nobody"))
			wantCode(t, err, apierror.NotFound)
		}},
		{"returned values are copies", func(t *testing.T, s users.Store) {
			u := newUser(storeID("copy"))
			if _, err := s.PutUserIfAbsent(ctx, u); err != nil {
				t.Fatal(err)
			}
			u.Metadata["team"] = "changed after put"
			got, _ := s.GetUser(ctx, u.UserID)
			got.Metadata["team"] = "changed after get"
			again, _ := s.GetUser(ctx, u.UserID)
			if again.Metadata["team"] != "blue" {
				t.Fatalf("stored metadata changed through a caller's map: %v", again.Metadata)
			}
		}},
		{"update profile patches", func(t *testing.T, s users.Store) {
			u := newUser(storeID("upd"))
			if _, err := s.PutUserIfAbsent(ctx, u); err != nil {
				t.Fatal(err)
			}
			later := u.UpdatedAt.Add(time.Minute)
			got, err := s.UpdateProfile(ctx, u.UserID, users.Patch{Nickname: ptr("New"), AvatarURL: ptr("")}, later)
			if err != nil {
				t.Fatal(err)
			}
			want := u
			want.Nickname, want.AvatarURL, want.UpdatedAt = "New", "", later
			wantUser(t, got, want)
			read, _ := s.GetUser(ctx, u.UserID)
			wantUser(t, read, want)
			got, err = s.UpdateProfile(ctx, u.UserID, users.Patch{Metadata: ptr(map[string]string{"k": "v"})}, later)
			want.Metadata = map[string]string{"k": "v"}
			if err != nil {
				t.Fatal(err)
			}
			wantUser(t, got, want)
			got, err = s.UpdateProfile(ctx, u.UserID, users.Patch{Metadata: ptr(map[string]string{})}, later)
			want.Metadata = nil
			if err != nil {
				t.Fatal(err)
			}
			wantUser(t, got, want)
		}},
		{"update missing is not_found and creates nothing", func(t *testing.T, s users.Store) {
			id := storeID("updmiss")
			_, err := s.UpdateProfile(ctx, id, users.Patch{Nickname: ptr("x")}, msNow())
			wantCode(t, err, apierror.NotFound)
			_, err = s.GetUser(ctx, id)
			wantCode(t, err, apierror.NotFound)
		}},
		{"delete returns the user once", func(t *testing.T, s users.Store) {
			u := newUser(storeID("del"))
			if _, err := s.PutUserIfAbsent(ctx, u); err != nil {
				t.Fatal(err)
			}
			got, err := s.DeleteUser(ctx, u.UserID)
			if err != nil {
				t.Fatal(err)
			}
			wantUser(t, got, u)
			_, err = s.GetUser(ctx, u.UserID)
			wantCode(t, err, apierror.NotFound)
			_, err = s.DeleteUser(ctx, u.UserID)
			wantCode(t, err, apierror.NotFound)
		}},
		{"upsert creates, updates and replays", func(t *testing.T, s users.Store) { upsertCases(t, s) }},
		{"list pages every user once in shard order", func(t *testing.T, s users.Store) { listCases(t, s) }},
		{"list refuses a page token it did not issue", func(t *testing.T, s users.Store) {
			// Both adapters' tokens are JSON with the shard under "n".
			for _, page := range []string{"x", `{"n":-1}`, `{"n":16}`, `{"n":"3"}`} {
				if _, _, err := s.ListUsers(ctx, 5, []byte(page)); err == nil {
					t.Errorf("page token %s accepted", page)
				}
			}
		}},
		{"claim idempotency key", func(t *testing.T, s users.Store) { ClaimCases(t, s.ClaimIdempotencyKey) }},
	})
}

func upsertCases(t *testing.T, s users.Store) {
	t.Helper()
	ctx := context.Background()
	id := storeID("ups")
	t0 := msNow()
	gen1 := users.NewGen()
	w := users.UpsertWrite{UserID: id, Patch: users.Patch{Nickname: ptr("A")}, Now: t0, Gen: gen1, IdemKey: "k1", Fingerprint: "fp1"}
	out, err := s.UpsertUser(ctx, w)
	if err != nil || !out.Created || out.Replayed {
		t.Fatalf("create: %+v %v", out, err)
	}
	want := users.User{UserID: id, Nickname: "A", CreatedAt: t0, UpdatedAt: t0, Gen: gen1}
	wantUser(t, out.User, want)

	// The same key again: nothing is written, the creating call replays.
	again := w
	again.Patch, again.Gen, again.Fingerprint, again.Now = users.Patch{Nickname: ptr("ignored")}, users.NewGen(), "fp-other", t0.Add(time.Second)
	out, err = s.UpsertUser(ctx, again)
	if err != nil || !out.Replayed || !out.Created || out.Fingerprint != "fp1" {
		t.Fatalf("replay: %+v %v", out, err)
	}
	wantUser(t, out.User, want)

	// Another key updates: gen and created_at stay.
	t1 := t0.Add(time.Minute)
	out, err = s.UpsertUser(ctx, users.UpsertWrite{UserID: id, Patch: users.Patch{AvatarURL: ptr("https://a/b.png")}, Now: t1, Gen: users.NewGen(), IdemKey: "k2", Fingerprint: "fp2"})
	want.AvatarURL, want.UpdatedAt = "https://a/b.png", t1
	if err != nil || out.Created || out.Replayed {
		t.Fatalf("update: %+v %v", out, err)
	}
	wantUser(t, out.User, want)
	out, err = s.UpsertUser(ctx, users.UpsertWrite{UserID: id, Now: t1.Add(time.Hour), Gen: users.NewGen(), IdemKey: "k2", Fingerprint: "x"})
	if err != nil || !out.Replayed || out.Created || out.Fingerprint != "fp2" {
		t.Fatalf("replay of an update: %+v %v", out, err)
	}
	wantUser(t, out.User, want)

	// Without a key every call writes.
	t2 := t1.Add(time.Minute)
	out, err = s.UpsertUser(ctx, users.UpsertWrite{UserID: id, Patch: users.Patch{Nickname: ptr("")}, Now: t2, Gen: users.NewGen()})
	want.Nickname, want.UpdatedAt = "", t2
	if err != nil || out.Created || out.Replayed {
		t.Fatalf("update without key: %+v %v", out, err)
	}
	wantUser(t, out.User, want)
	got, _ := s.GetUser(ctx, id)
	wantUser(t, got, want)

	// A user made by PutUserIfAbsent keeps its generation.
	u := newUser(storeID("upsput"))
	if _, err := s.PutUserIfAbsent(ctx, u); err != nil {
		t.Fatal(err)
	}
	out, err = s.UpsertUser(ctx, users.UpsertWrite{UserID: u.UserID, Now: u.UpdatedAt, Gen: users.NewGen()})
	if err != nil || out.Created || out.User.Gen != u.Gen || !out.User.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("upsert over a put user: %+v %v", out, err)
	}
}

// userShard mirrors the adapters' partitioning to predict listing order.
func userShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % 16)
}

func listCases(t *testing.T, s users.Store) {
	t.Helper()
	ctx := context.Background()
	prefix := storeID("list")
	mine := map[string]bool{}
	var want []string
	for i := range 20 {
		u := newUser(prefix + "-" + string(rune('a'+i)))
		if _, err := s.PutUserIfAbsent(ctx, u); err != nil {
			t.Fatal(err)
		}
		mine[u.UserID] = true
		want = append(want, u.UserID)
	}
	slices.SortFunc(want, func(a, b string) int {
		if d := userShard(a) - userShard(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var got []string
	var page []byte
	for n := 0; ; n++ {
		if n > 10_000 {
			t.Fatal("listing did not end")
		}
		list, next, err := s.ListUsers(ctx, 3, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 3 {
			t.Fatalf("page of %d users, limit 3", len(list))
		}
		for _, u := range list {
			if mine[u.UserID] {
				got = append(got, u.UserID)
			}
		}
		if len(next) == 0 {
			break
		}
		page = throughCodec(t, "users", next)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed\n%v\nwant\n%v", got, want)
	}
}

// ClaimCases runs the idempotency-key contract on claim (users.Store and
// batch.Store share it).
func ClaimCases(t *testing.T, claim func(ctx context.Context, scope, key, fp string, ttl time.Duration) (string, error)) {
	t.Helper()
	ctx := context.Background()
	key := storeID("key")
	mustClaim := func(scope, key, fp string, ttl time.Duration, want string) {
		t.Helper()
		got, err := claim(ctx, scope, key, fp, ttl)
		if err != nil || got != want {
			t.Fatalf("claim(%s, %s, %s) = %q, %v; want %q", scope, key, fp, got, err, want)
		}
	}
	mustClaim("s1", key, "fp1", time.Hour, "")
	mustClaim("s1", key, "fp2", time.Hour, "fp1")
	mustClaim("s1", key, "fp1", time.Hour, "fp1")
	mustClaim("s2", key, "fp3", time.Hour, "") // scopes are separate
	// An expired record counts as absent even before TTL deletes it.
	old := storeID("expired")
	mustClaim("s1", old, "fp1", -2*time.Second, "")
	mustClaim("s1", old, "fp2", time.Hour, "")
	mustClaim("s1", old, "fp3", time.Hour, "fp2")
}

// UserGens runs the auth.UserGens contract; users creates users in the
// same storage.
func UserGens(t *testing.T, newStore func(t *testing.T) (auth.UserGens, users.Store)) {
	t.Helper()
	ctx := context.Background()
	gens, us := newStore(t)
	if g, err := gens.UserGen(ctx, storeID("nobody")); err != nil || g != 0 {
		t.Fatalf("unknown user: %d %v", g, err)
	}
	u := newUser(storeID("gen"))
	if _, err := us.PutUserIfAbsent(ctx, u); err != nil {
		t.Fatal(err)
	}
	if g, err := gens.UserGen(ctx, u.UserID); err != nil || g != u.Gen {
		t.Fatalf("gen %d %v, want %d", g, err, u.Gen)
	}
	if _, err := us.DeleteUser(ctx, u.UserID); err != nil {
		t.Fatal(err)
	}
	if g, err := gens.UserGen(ctx, u.UserID); err != nil || g != 0 {
		t.Fatalf("deleted user: %d %v", g, err)
	}
}
