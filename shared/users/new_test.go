package users

import (
	"testing"
	"time"
)

// TestNew: the one constructor every creation path uses gives each user a
// fresh generation and millisecond UTC timestamps, and copies the input.
func TestNew(t *testing.T) {
	now := time.Date(2026, 12, 2, 5, 30, 0, 123_456_789, time.FixedZone("x", 3600))
	in := CreateInput{UserID: "ann", Profile: Profile{Nickname: "Ann", AvatarURL: "https://a.b/a.png", Metadata: map[string]string{"k": "v"}}, Source: "cognito:p:s"}
	a, b := New(in, now), New(in, now)
	want := now.UTC().Truncate(time.Millisecond)
	if !a.CreatedAt.Equal(want) || a.CreatedAt.Location() != time.UTC || !a.UpdatedAt.Equal(want) {
		t.Fatalf("timestamps %v %v, want %v UTC", a.CreatedAt, a.UpdatedAt, want)
	}
	if a.Gen == 0 || a.Gen == b.Gen {
		t.Fatalf("generations %d and %d: want fresh, nonzero ones", a.Gen, b.Gen)
	}
	if a.UserID != "ann" || a.Nickname != "Ann" || a.AvatarURL != in.AvatarURL || a.Metadata["k"] != "v" || a.Source != in.Source || a.IdempotencyKey != "" {
		t.Fatalf("user %+v does not carry the input", a)
	}
	if err := (CreateInput{UserID: "a b"}).Validate(); err == nil {
		t.Fatal("an invalid id passed Validate")
	}
	if err := (CreateInput{UserID: "ann", Profile: Profile{AvatarURL: "ftp://x"}}).Validate(); err == nil {
		t.Fatal("an invalid profile passed Validate")
	}
}
