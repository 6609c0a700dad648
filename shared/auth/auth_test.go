package auth

import (
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

func TestCheckSecret(t *testing.T) {
	c, secret, err := NewCredential("x", 0)
	if err != nil {
		t.Fatal(err)
	}
	revoked := c
	revoked.Revoked = true
	tests := []struct {
		name   string
		c      *Credential
		secret string
		want   bool
	}{
		{"right secret", &c, secret, true},
		{"wrong secret", &c, secret + "x", false},
		{"empty secret", &c, "", false},
		{"unknown key id", nil, secret, false},
		{"revoked", &revoked, secret, false},
	}
	for _, tc := range tests {
		if got := CheckSecret(tc.c, tc.secret); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestPrincipalChecks(t *testing.T) {
	admin := Principal{Kind: KindAdmin, KeyID: "k"}
	alice := Principal{Kind: KindUser, UserID: "alice"}
	tests := []struct {
		name string
		err  error
		want apierror.Code
	}{
		{"admin on admin route", admin.Admin(), ""},
		{"user on admin route", alice.Admin(), apierror.Forbidden},
		{"user on self", alice.SelfOrAdmin("alice"), ""},
		{"user on other", alice.SelfOrAdmin("bob"), apierror.Forbidden},
		{"admin on other", admin.SelfOrAdmin("bob"), ""},
		{"admin where a user is required", func() error { _, err := admin.User(); return err }(), apierror.Forbidden},
		{"empty principal on self", Principal{}.SelfOrAdmin(""), apierror.Forbidden},
	}
	for _, tc := range tests {
		if got := apierror.CodeOf(tc.err); got != tc.want {
			t.Errorf("%s: got %q want %q", tc.name, got, tc.want)
		}
	}
	if _, err := FromContextFields(map[string]any{"principal_kind": "admin"}); err == nil {
		t.Error("admin context without key id accepted")
	}
	if _, err := FromContextFields(map[string]any{"principal_kind": "root", "user_id": "x"}); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestTokensRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk, err := NewTokens([]byte("0123456789abcdef0123456789abcdef"), "iss", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	u, err := tk.IssueUser("alice", 42, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, kind, err := tk.Verify(u.Token)
	if err != nil || kind != KindUser || c.Subject != "alice" || c.Gen != 42 || u.ExpiresIn != int64(DefaultUserTTL/time.Second) {
		t.Fatalf("user token: %+v %v %v", c, kind, err)
	}
	later, _ := NewTokens([]byte("0123456789abcdef0123456789abcdef"), "iss", func() time.Time { return now.Add(DefaultUserTTL + time.Minute) })
	if _, _, err := later.Verify(u.Token); !apierror.Is(err, apierror.InvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := NewTokens([]byte("short"), "iss", nil); err == nil {
		t.Fatal("short key accepted")
	}
}

// BenchmarkCheckSecret shows the unknown-key-id path and the wrong-secret
// path cost the same (both hash and compare in constant time).
func BenchmarkCheckSecret(b *testing.B) {
	c, secret, _ := NewCredential("x", 0)
	wrong := secret[:len(secret)-1] + "A"
	b.Run("unknown_key_id", func(b *testing.B) {
		for b.Loop() {
			CheckSecret(nil, secret)
		}
	})
	b.Run("wrong_secret", func(b *testing.B) {
		for b.Loop() {
			CheckSecret(&c, wrong)
		}
	})
}
