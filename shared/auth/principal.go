// Package auth holds who is calling (Principal), how callers prove it
// (JWT access tokens, app credentials) and the permission checks every
// use case shares.
package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Kind tells an app administrator (a backend holding an API key) from an
// end user of the app.
type Kind string

const (
	KindAdmin Kind = "admin"
	KindUser  Kind = "user"
)

// Principal is the authenticated caller. The authorizer builds it from a
// verified token and API Gateway passes it to handlers in the request
// context (see ContextFields / FromContextFields).
type Principal struct {
	Kind   Kind
	UserID string // set for KindUser
	KeyID  string // set for KindAdmin: the credential that minted the token
	// Scopes are an admin token's rights (nil: full rights; see Scopes).
	Scopes Scopes
	// Role and Grants are a user's app-wide role ("" is the built-in
	// "user") and what it grants (shared/permissions).
	Role   string
	Grants []string
	// Ban is set on a banned user's principal, which the REST authorizer
	// passes on so that handlers answer 403 banned.
	Ban *Ban
}

func (p Principal) IsAdmin() bool { return p.Kind == KindAdmin }

// Admin is a permission check: admin tokens only. User tokens get 403.
func (p Principal) Admin() error {
	if p.Kind != KindAdmin {
		return apierror.New(apierror.Forbidden, "This operation requires an admin token.")
	}
	return nil
}

// Actor names the principal in audit entries and "by" fields:
// "credential:<key id>" or "user:<id>".
func (p Principal) Actor() string {
	if p.Kind == KindAdmin {
		return "credential:" + p.KeyID
	}
	return "user:" + p.UserID
}

// RequireScope is the admin half of a route's rule: an admin token
// without scope s gets 403 scope_required naming it, a user token 403
// forbidden.
func (p Principal) RequireScope(s Scope) error {
	if err := p.Admin(); err != nil {
		return err
	}
	if !p.Scopes.Has(s) {
		return apierror.New(apierror.ScopeRequired, "This operation requires the %q scope, which this admin token does not hold.", s).
			WithDetails(map[string]any{"required_scope": string(s)})
	}
	return nil
}

// SelfOrAdmin allows admins, and users acting on their own id. A user
// touching another user gets 403 forbidden (documented in docs/errors.md).
func (p Principal) SelfOrAdmin(userID string) error {
	if p.Kind == KindAdmin || (p.Kind == KindUser && p.UserID == userID) {
		return nil
	}
	return apierror.New(apierror.Forbidden, "A user token may act only on its own user.")
}

// User requires a user identity: admin tokens cannot stand in for a user.
func (p Principal) User() (string, error) {
	if p.Kind != KindUser || p.UserID == "" {
		return "", apierror.New(apierror.Forbidden, "This operation requires a user token.")
	}
	return p.UserID, nil
}

// Context fields the authorizer returns to API Gateway and API Gateway hands
// to every integration (requestContext.authorizer).
const (
	ctxKind   = "principal_kind"
	ctxUserID = "user_id"
	ctxKeyID  = "key_id"
	ctxScopes = "scopes" // space-separated; API Gateway context values are strings
	ctxRole   = "role"
	ctxGrants = "grants" // space-separated
	// A banned user's ban: the authorizer lets the request through so the
	// handler can answer 403 banned with the reason (a Deny could only be
	// the gateway's 401).
	ctxBanReason = "ban_reason"
	ctxBanUntil  = "ban_until" // ms, "0" for no expiry
)

// ContextFields is what the authorizer returns as its context.
func (p Principal) ContextFields() map[string]any {
	m := map[string]any{ctxKind: string(p.Kind), ctxUserID: p.UserID, ctxKeyID: p.KeyID}
	if p.Kind == KindAdmin {
		m[ctxScopes] = p.Scopes.String()
	}
	if p.Kind == KindUser {
		m[ctxRole] = p.Role
		if p.Grants != nil {
			m[ctxGrants] = strings.Join(p.Grants, " ")
		}
		if p.Ban != nil {
			m[ctxBanReason], m[ctxBanUntil] = p.Ban.Reason, strconv.FormatInt(p.Ban.Until, 10)
		}
	}
	return m
}

// FromContextFields reads the principal API Gateway passed on. A missing or
// unknown kind means the route was reached without the authorizer: refuse.
func FromContextFields(m map[string]any) (Principal, error) {
	s := func(k string) string { v, _ := m[k].(string); return v }
	p := Principal{Kind: Kind(s(ctxKind)), UserID: s(ctxUserID), KeyID: s(ctxKeyID)}
	switch {
	case p.Kind == KindAdmin && p.KeyID != "":
		// The authorizer always sets scopes; a context without them comes
		// from an authorizer deployed before scopes existed, whose tokens
		// had full rights.
		if _, ok := m[ctxScopes]; ok {
			p.Scopes = knownScopes(s(ctxScopes))
		}
		return p, nil
	case p.Kind == KindUser && p.UserID != "":
		p.Role = s(ctxRole)
		if _, ok := m[ctxGrants]; ok { // absent: no role resolved (nil); present: exactly these
			p.Grants = append([]string{}, strings.Fields(s(ctxGrants))...)
		}
		if until, ok := m[ctxBanUntil]; ok {
			b := &Ban{Reason: s(ctxBanReason)}
			b.Until, _ = strconv.ParseInt(fmt.Sprint(until), 10, 64)
			return p, BannedError(b)
		}
		return p, nil
	}
	return Principal{}, apierror.New(apierror.Unauthorized, "Missing or invalid credentials.")
}

type principalKey struct{}

// WithPrincipal stores p in ctx for use cases deeper down.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored by WithPrincipal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
