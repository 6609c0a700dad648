package main

import (
	"net/http"
	"sync"
	"testing"

	"github.com/tokenim/tokenim/shared/testenv"
)

func put(id, body string, headers map[string]string) testenv.REST {
	r := one("PUT", id)
	r.Body, r.Headers, r.Principal = body, headers, testenv.Admin()
	return r
}

func TestUpsertCreatesThenUpdates(t *testing.T) {
	f := newFixture(t)
	id := testenv.ID("up")
	r := testenv.Call(t, f.handler, put(id, `{"user_id":"`+id+`","nickname":"Ann","avatar_url":"https://example.com/a.png","metadata":{"plan":"free"}}`, nil))
	if r.Status != http.StatusCreated || r.Headers["Location"] != "/v1/users/"+id || r.JSON["nickname"] != "Ann" {
		t.Fatalf("first put: %d %v %s", r.Status, r.Headers, r.Body)
	}
	createdAt := r.JSON["created_at"]

	// Omitted fields keep their value; null clears; set fields change.
	r = testenv.Call(t, f.handler, put(id, `{"nickname":"Annie","metadata":null}`, nil))
	if r.Status != http.StatusOK || r.Headers["Location"] != "" {
		t.Fatalf("second put: %d %v %s", r.Status, r.Headers, r.Body)
	}
	if r.JSON["nickname"] != "Annie" || r.JSON["avatar_url"] != "https://example.com/a.png" || r.JSON["metadata"] != nil || r.JSON["created_at"] != createdAt {
		t.Fatalf("second put merged wrongly: %s", r.Body)
	}

	// The upserted user is a normal user: tokens of it work (same gen), a
	// PUT after a delete creates a new incarnation.
	del := withP(one("DELETE", id), testenv.Admin(), "")
	if r := testenv.Call(t, f.handler, del); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, put(id, `{}`, nil)); r.Status != http.StatusCreated || r.JSON["nickname"] != nil {
		t.Fatalf("put after delete: %d %s", r.Status, r.Body)
	}
}

// TestUpsertConcurrent: a sign-up backend retrying in parallel leaves one
// user, and exactly one reply says it created it.
func TestUpsertConcurrent(t *testing.T) {
	f := newFixture(t)
	for _, withKey := range []bool{false, true} {
		id := testenv.ID("race")
		var headers map[string]string
		if withKey {
			headers = map[string]string{"Idempotency-Key": testenv.ID("k")}
		}
		const n = 8
		replies := make([]testenv.Reply, n)
		var wg sync.WaitGroup
		for i := range replies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = testenv.Call(t, f.handler, put(id, `{"nickname":"Racer"}`, headers))
			}()
		}
		wg.Wait()
		created := 0
		for _, r := range replies {
			switch {
			case r.Status == http.StatusCreated && r.Headers["Idempotent-Replayed"] == "":
				created++
			case r.Status == http.StatusOK, r.Status == http.StatusCreated && r.Headers["Idempotent-Replayed"] == "true":
			default:
				t.Fatalf("withKey=%v: %d %s", withKey, r.Status, r.Body)
			}
			if r.JSON["created_at"] != replies[0].JSON["created_at"] || r.JSON["nickname"] != "Racer" {
				t.Fatalf("withKey=%v: replies disagree: %s vs %s", withKey, r.Body, replies[0].Body)
			}
		}
		if created != 1 {
			t.Fatalf("withKey=%v: %d replies claim the create, want 1", withKey, created)
		}
		g := withP(one("GET", id), testenv.Admin(), "")
		if r := testenv.Call(t, f.handler, g); r.Status != http.StatusOK || r.JSON["created_at"] != replies[0].JSON["created_at"] {
			t.Fatalf("withKey=%v: get: %d %s", withKey, r.Status, r.Body)
		}
	}
}

func TestUpsertIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	id := testenv.ID("upk")
	key := map[string]string{"Idempotency-Key": testenv.ID("k")}
	body := `{"nickname":"First"}`
	first := testenv.Call(t, f.handler, put(id, body, key))
	if first.Status != http.StatusCreated || first.Headers["Idempotent-Replayed"] != "" {
		t.Fatalf("first: %d %v %s", first.Status, first.Headers, first.Body)
	}
	// The user changes their nickname; a late retry of the sign-up call
	// must not undo it, and replays the original status.
	patch := withP(one("PATCH", id), testenv.User(id), `{"nickname":"Chosen"}`)
	if r := testenv.Call(t, f.handler, patch); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	retry := testenv.Call(t, f.handler, put(id, body, key))
	if retry.Status != http.StatusCreated || retry.Headers["Idempotent-Replayed"] != "true" || retry.JSON["nickname"] != "Chosen" {
		t.Fatalf("retry: %d %v %s", retry.Status, retry.Headers, retry.Body)
	}
	if r := testenv.Call(t, f.handler, put(id, `{"nickname":"Other"}`, key)); r.Status != http.StatusConflict || r.ErrorCode() != "idempotency_key_reused" {
		t.Fatalf("key reused with another body: %d %s", r.Status, r.Body)
	}
	// A new key is a new call: it updates, with 200.
	r := testenv.Call(t, f.handler, put(id, `{"nickname":"Second"}`, map[string]string{"Idempotency-Key": testenv.ID("k2")}))
	if r.Status != http.StatusOK || r.JSON["nickname"] != "Second" || r.Headers["Idempotent-Replayed"] != "" {
		t.Fatalf("new key: %d %v %s", r.Status, r.Headers, r.Body)
	}
	g := withP(one("GET", id), testenv.Admin(), "")
	if r := testenv.Call(t, f.handler, g); r.JSON["nickname"] != "Second" {
		t.Fatalf("final state: %s", r.Body)
	}
}

func TestUpsertBadInputAndPermissions(t *testing.T) {
	f := newFixture(t)
	existing := testenv.ID("upbad")
	f.create(t, existing)
	asUser := func(r testenv.REST, id string) testenv.REST { r.Principal = testenv.User(id); return r }
	tests := []struct {
		name   string
		req    testenv.REST
		status int
		code   string
	}{
		{"user upserts another user", asUser(put("y-other", `{}`, nil), existing), 403, "forbidden"},
		{"user upserts themself", asUser(put(existing, `{"nickname":"x"}`, nil), existing), 403, "forbidden"},
		{"no principal", withP(one("PUT", "y0"), nil, `{}`), 401, "unauthorized"},
		{"id with #", put("a#b", `{}`, nil), 400, "invalid_id"},
		{"body id differs from path", put("y1", `{"user_id":"y2"}`, nil), 400, "immutable_field"},
		{"created_at in body", put("y3", `{"created_at":"2020-01-01T00:00:00Z"}`, nil), 400, "immutable_field"},
		{"unknown field", put("y4", `{"role":"admin"}`, nil), 400, "unknown_field"},
		{"malformed json", put("y5", `{"nickname":`, nil), 400, "invalid_json"},
		{"bad avatar", put("y6", `{"avatar_url":"ftp://x"}`, nil), 400, "validation_failed"},
		{"bad idempotency key", put("y7", `{}`, map[string]string{"Idempotency-Key": "has space"}), 400, "validation_failed"},
		{"wrong content type", put("y8", `{}`, map[string]string{"Content-Type": "text/plain"}), 415, "unsupported_media_type"},
		{"null body", put("y9", `null`, nil), 400, "validation_failed"},
		{"case variant", put("y10", `{"NICKNAME":"x"}`, nil), 400, "unknown_field"},
		{"empty idempotency key", put("y11", `{}`, map[string]string{"Idempotency-Key": ""}), 400, "validation_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	for _, id := range []string{"y-other", "y0", "y1", "y2", "y3", "y4", "y5", "y6", "y7", "y8", "y9", "y10", "y11"} {
		if r := testenv.Call(t, f.handler, withP(one("GET", id), testenv.Admin(), "")); r.Status != http.StatusNotFound {
			t.Errorf("bad input created user %s", id)
		}
	}
	if r := testenv.Call(t, f.handler, withP(one("GET", existing), testenv.Admin(), "")); r.JSON["nickname"] != "N" {
		t.Errorf("bad upserts changed the user: %s", r.Body)
	}
}
