package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
)

// CredentialStore runs the auth.CredentialDirectory contract (which holds
// auth.CredentialStore's).
func CredentialStore(t *testing.T, newStore func(t *testing.T) auth.CredentialDirectory) {
	t.Helper()
	ctx := context.Background()
	cred := func() auth.Credential {
		return auth.Credential{KeyID: storeID("tk"), SecretHash: "hash", Name: "ci", CreatedAt: time.Now().Unix()}
	}
	get := func(t *testing.T, s auth.CredentialDirectory, keyID string) *auth.Credential {
		t.Helper()
		got, err := s.GetCredential(ctx, keyID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	put := func(t *testing.T, s auth.CredentialDirectory, c auth.Credential) {
		t.Helper()
		if err := s.PutCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	runCases(t, newStore, []storeCase[auth.CredentialDirectory]{
		{"put then get", func(t *testing.T, s auth.CredentialDirectory) {
			scoped := cred()
			scoped.Scopes, scoped.CreatedBy = auth.Scopes{auth.ScopeJobsWrite, auth.ScopeUsersRead}, "tk_creator"
			for _, c := range []auth.Credential{cred(), {KeyID: storeID("tk"), SecretHash: "h2", Revoked: true}, scoped} {
				put(t, s, c)
				if got := get(t, s, c.KeyID); got == nil || !reflect.DeepEqual(*got, c) {
					t.Fatalf("got %+v, want %+v", got, c)
				}
			}
		}},
		{"unknown key id is nil", func(t *testing.T, s auth.CredentialDirectory) {
			if got := get(t, s, storeID("tk")); got != nil {
				t.Fatalf("got %+v", got)
			}
		}},
		{"an existing key id is never overwritten", func(t *testing.T, s auth.CredentialDirectory) {
			c := cred()
			put(t, s, c)
			other := c
			other.SecretHash, other.Revoked = "other", true
			if err := s.PutCredential(ctx, other); err == nil {
				t.Fatal("second put with the same key id succeeded")
			}
			if got := get(t, s, c.KeyID); got == nil || !reflect.DeepEqual(*got, c) {
				t.Fatalf("after refused put: %+v, want %+v", got, c)
			}
		}},
		{"list pages in key-id order", func(t *testing.T, s auth.CredentialDirectory) {
			// Other cases share the table: list after a prefix only these keys have.
			prefix := storeID("tk")
			var want []auth.Credential
			for _, suffix := range []string{"c", "a", "b"} {
				c := cred()
				c.KeyID = prefix + suffix
				put(t, s, c)
			}
			for _, suffix := range []string{"a", "b", "c"} {
				c := get(t, s, prefix+suffix)
				want = append(want, *c)
			}
			if first, _, err := s.ListCredentials(ctx, "", 1); err != nil || len(first) != 1 {
				t.Fatalf("first page: %+v %v", first, err)
			}
			page, more, err := s.ListCredentials(ctx, prefix, 2)
			if err != nil || !more || !reflect.DeepEqual(page, want[:2]) {
				t.Fatalf("page 1: %+v more=%v %v, want %+v", page, more, err, want[:2])
			}
			page, _, err = s.ListCredentials(ctx, page[1].KeyID, 1)
			if err != nil || len(page) != 1 || !reflect.DeepEqual(page[0], want[2]) {
				t.Fatalf("page 2: %+v %v, want %+v", page, err, want[2])
			}
		}},
		{"disable, enable and delete", func(t *testing.T, s auth.CredentialDirectory) {
			c := cred()
			c.Scopes = auth.Scopes{auth.ScopeAuditRead}
			put(t, s, c)
			got, err := s.SetCredentialDisabled(ctx, c.KeyID, true, 42)
			want := c
			want.Revoked, want.UpdatedAt = true, 42
			if err != nil || got == nil || !reflect.DeepEqual(*got, want) || !reflect.DeepEqual(*get(t, s, c.KeyID), want) {
				t.Fatalf("disable: %+v %v, want %+v", got, err, want)
			}
			if list, _, err := s.ListCredentials(ctx, c.KeyID[:len(c.KeyID)-1], 5); err != nil || len(list) == 0 || !reflect.DeepEqual(list[0], want) {
				t.Fatalf("listing after disable: %+v %v", list, err)
			}
			if got, err := s.SetCredentialDisabled(ctx, c.KeyID, false, 43); err != nil || got == nil || got.Revoked || got.UpdatedAt != 43 {
				t.Fatalf("enable: %+v %v", got, err)
			}
			if ok, err := s.DeleteCredential(ctx, c.KeyID); err != nil || !ok {
				t.Fatalf("delete: %v %v", ok, err)
			}
			if got := get(t, s, c.KeyID); got != nil {
				t.Fatalf("deleted credential still there: %+v", got)
			}
			if list, _, err := s.ListCredentials(ctx, c.KeyID[:len(c.KeyID)-1], 5); err != nil || len(list) != 0 && list[0].KeyID == c.KeyID {
				t.Fatalf("deleted credential still listed: %+v %v", list, err)
			}
			if ok, err := s.DeleteCredential(ctx, c.KeyID); err != nil || ok {
				t.Fatalf("second delete: %v %v", ok, err)
			}
			if got, err := s.SetCredentialDisabled(ctx, c.KeyID, true, 44); err != nil || got != nil {
				t.Fatalf("disable unknown: %+v %v", got, err)
			}
			if got := get(t, s, c.KeyID); got != nil {
				t.Fatalf("disabling an unknown key id created %+v", got)
			}
		}},
	})
}
