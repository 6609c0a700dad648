package auth

// Scopes limit what an app credential (and every admin token it mints)
// may do. The route each scope opens is in shared/permissions (the one
// rule table) and docs/permissions.md; this file is the vocabulary.

import (
	"slices"
	"strings"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Scope is one right of an app credential.
type Scope string

// The scopes. ScopeAdmin holds every other one. Keep docs/permissions.md
// in step (TestScopesDocumented).
const (
	ScopeAdmin             Scope = "admin"
	ScopeUsersRead         Scope = "users:read"
	ScopeUsersWrite        Scope = "users:write"
	ScopeTokensWrite       Scope = "tokens:write"
	ScopeGroupsRead        Scope = "groups:read"
	ScopeGroupsWrite       Scope = "groups:write"
	ScopeMessagesRead      Scope = "messages:read"
	ScopeMessagesSend      Scope = "messages:send"
	ScopeMessagesWrite     Scope = "messages:write"
	ScopeJobsRead          Scope = "jobs:read"
	ScopeJobsWrite         Scope = "jobs:write"
	ScopeNotificationsSend Scope = "notifications:send"
	ScopeModerationRead    Scope = "moderation:read"
	ScopeModerationWrite   Scope = "moderation:write"
	ScopeAuditRead         Scope = "audit:read"
	ScopeCredentialsRead   Scope = "credentials:read"
	ScopeCredentialsWrite  Scope = "credentials:write"
	ScopeWebhooksManage    Scope = "webhooks:manage"
)

// AllScopes lists every scope, ScopeAdmin first.
func AllScopes() []Scope {
	return []Scope{ScopeAdmin, ScopeUsersRead, ScopeUsersWrite, ScopeTokensWrite, ScopeGroupsRead, ScopeGroupsWrite,
		ScopeMessagesRead, ScopeMessagesSend, ScopeMessagesWrite, ScopeJobsRead, ScopeJobsWrite, ScopeNotificationsSend,
		ScopeModerationRead, ScopeModerationWrite, ScopeAuditRead, ScopeCredentialsRead, ScopeCredentialsWrite,
		ScopeWebhooksManage}
}

// MaxScopes bounds a scope list (there are fewer distinct scopes; a longer
// list is a client bug or an attack on the parser).
const MaxScopes = 32

// Scopes is a sorted set of scopes. A nil Scopes on an admin principal
// means full rights: a credential stored before scopes existed, or a
// principal built in-process (the authorizer always sets them).
type Scopes []Scope

// FullRights is what a credential without a scope list holds.
var FullRights = Scopes{ScopeAdmin}

// ParseScopes validates names and returns them as a set. An unknown or
// repeated name, an empty list or one longer than MaxScopes is
// invalid_scope, naming the first offender.
func ParseScopes(names []string) (Scopes, error) {
	if len(names) == 0 {
		return nil, apierror.New(apierror.InvalidScope, "scopes must name at least one scope.")
	}
	if len(names) > MaxScopes {
		return nil, apierror.New(apierror.InvalidScope, "scopes may name at most %d scopes.", MaxScopes)
	}
	out := make(Scopes, 0, len(names))
	for _, n := range names {
		s := Scope(n)
		if !slices.Contains(AllScopes(), s) {
			return nil, apierror.New(apierror.InvalidScope, "Unknown scope %q.", truncate(n, 64)).WithDetails(map[string]any{"scope": truncate(n, 64)})
		}
		if slices.Contains(out, s) {
			return nil, apierror.New(apierror.InvalidScope, "Scope %q is repeated.", n).WithDetails(map[string]any{"scope": n})
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out, nil
}

// ParseScopeString parses an OAuth2 scope parameter (space-separated,
// RFC 6749 §3.3).
func ParseScopeString(s string) (Scopes, error) { return ParseScopes(strings.Fields(s)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Has reports whether the set grants s: it holds s or ScopeAdmin. A nil
// set is full rights (see Scopes).
func (ss Scopes) Has(s Scope) bool {
	return ss == nil || slices.Contains(ss, ScopeAdmin) || slices.Contains(ss, s)
}

// Covers reports whether ss grants every scope of other: a credential may
// hand out only what it holds. Only ScopeAdmin covers ScopeAdmin.
func (ss Scopes) Covers(other Scopes) bool {
	for _, s := range other {
		if !ss.Has(s) {
			return false
		}
	}
	return true
}

// Intersect returns the scopes both sets grant (the narrower of two).
func (ss Scopes) Intersect(other Scopes) Scopes {
	switch {
	case ss.Has(ScopeAdmin):
		return other.orFull()
	case other.Has(ScopeAdmin):
		return ss.orFull()
	}
	out := Scopes{}
	for _, s := range ss {
		if other.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

func (ss Scopes) orFull() Scopes {
	if ss == nil {
		return FullRights
	}
	return ss
}

// Strings returns the names ([] for an empty set, FullRights' for nil).
func (ss Scopes) Strings() []string {
	out := []string{}
	for _, s := range ss.orFull() {
		out = append(out, string(s))
	}
	return out
}

// String is the OAuth2 form: names separated by spaces.
func (ss Scopes) String() string { return strings.Join(ss.Strings(), " ") }

// knownScopes reads a space-separated list leniently, keeping the known
// names: a signed token or an authorizer context is trusted, and a scope
// retired since it was minted grants nothing. The result is never nil, so
// an empty list grants nothing rather than everything.
func knownScopes(s string) Scopes {
	out := Scopes{}
	for _, n := range strings.Fields(s) {
		if sc := Scope(n); slices.Contains(AllScopes(), sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	slices.Sort(out)
	return out
}
