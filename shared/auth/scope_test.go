package auth

import (
	"context"
	"reflect"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

// TestParseScopes: unknown, repeated, empty and oversized lists are
// invalid_scope; a good list comes back sorted.
func TestParseScopes(t *testing.T) {
	many := make([]string, MaxScopes+1)
	for i := range many {
		many[i] = "users:read"
	}
	for _, bad := range [][]string{nil, {}, {"users:read", "root"}, {"Users:Read"}, {" users:read"}, {"users:read", "users:read"}, many} {
		if _, err := ParseScopes(bad); !apierror.Is(err, apierror.InvalidScope) {
			t.Errorf("%q: %v, want invalid_scope", bad, err)
		}
	}
	got, err := ParseScopes([]string{"users:read", "audit:read"})
	if err != nil || !reflect.DeepEqual(got, Scopes{ScopeAuditRead, ScopeUsersRead}) {
		t.Fatalf("%v %v", got, err)
	}
}

// TestScopeAlgebra: admin holds everything; only admin covers admin; a
// nil set (a credential made before scopes) is full rights, an empty one
// none; intersecting never widens.
func TestScopeAlgebra(t *testing.T) {
	jobs := Scopes{ScopeJobsWrite}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"admin has users:write", Scopes{ScopeAdmin}.Has(ScopeUsersWrite), true},
		{"nil has admin", Scopes(nil).Has(ScopeAdmin), true},
		{"empty has nothing", Scopes{}.Has(ScopeJobsWrite), false},
		{"jobs has not users:read", jobs.Has(ScopeUsersRead), false},
		{"jobs covers jobs", jobs.Covers(jobs), true},
		{"jobs does not cover admin", jobs.Covers(Scopes{ScopeAdmin}), false},
		{"jobs does not cover jobs and users", jobs.Covers(Scopes{ScopeJobsWrite, ScopeUsersRead}), false},
		{"admin covers admin", Scopes{ScopeAdmin}.Covers(Scopes{ScopeAdmin, ScopeAuditRead}), true},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %v", tc.name, tc.got)
		}
	}
	if got := jobs.Intersect(FullRights); !reflect.DeepEqual(got, jobs) {
		t.Errorf("jobs ∩ admin = %v", got)
	}
	if got := (Scopes{ScopeJobsWrite, ScopeUsersRead}).Intersect(Scopes{ScopeUsersRead, ScopeAuditRead}); !reflect.DeepEqual(got, Scopes{ScopeUsersRead}) {
		t.Errorf("intersection %v", got)
	}
	if got := jobs.Intersect(Scopes{ScopeAuditRead}); got == nil || len(got) != 0 {
		t.Errorf("disjoint sets must intersect to none, not full rights: %#v", got)
	}
	if got := knownScopes("jobs:write retired:scope jobs:write"); !reflect.DeepEqual(got, jobs) {
		t.Errorf("known scopes %v", got)
	}
}

// TestNarrowedCredentialNarrowsLiveTokens: a token's scopes are
// intersected with its credential's current ones at each request.
func TestNarrowedCredentialNarrowsLiveTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tk, _ := NewTokens(key, "iss", nil)
	store := &mapCreds{m: map[string]*Credential{}}
	s := NewService(tk, store, nil)
	c, secret, _ := NewCredential("c", 0)
	c.Scopes = Scopes{ScopeJobsWrite, ScopeUsersRead}
	store.m[c.KeyID] = &c
	issued, err := s.ClientCredentials(t.Context(), c.KeyID, secret, "")
	if err != nil || issued.Scope != "jobs:write users:read" {
		t.Fatalf("%+v %v", issued, err)
	}
	c.Scopes = Scopes{ScopeJobsWrite}
	p, err := s.Authenticate(t.Context(), issued.Token)
	if err != nil || !reflect.DeepEqual(p.Scopes, Scopes{ScopeJobsWrite}) {
		t.Fatalf("after narrowing: %+v %v", p, err)
	}
}

type mapCreds struct{ m map[string]*Credential }

func (m *mapCreds) GetCredential(_ context.Context, id string) (*Credential, error) {
	return m.m[id], nil
}
func (m *mapCreds) PutCredential(_ context.Context, c Credential) error {
	m.m[c.KeyID] = &c
	return nil
}
