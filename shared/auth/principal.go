// Package auth holds who is calling (Principal), how callers prove it
// (JWT access tokens, app credentials) and the permission checks every
// use case shares.
package auth

import (
	"context"

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
}

func (p Principal) IsAdmin() bool { return p.Kind == KindAdmin }

// Admin is a permission check: admin tokens only. User tokens get 403.
func (p Principal) Admin() error {
	if p.Kind != KindAdmin {
		return apierror.New(apierror.Forbidden, "This operation requires an admin token.")
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
)

// ContextFields is what the authorizer returns as its context.
func (p Principal) ContextFields() map[string]any {
	return map[string]any{ctxKind: string(p.Kind), ctxUserID: p.UserID, ctxKeyID: p.KeyID}
}

// FromContextFields reads the principal API Gateway passed on. A missing or
// unknown kind means the route was reached without the authorizer: refuse.
func FromContextFields(m map[string]any) (Principal, error) {
	s := func(k string) string { v, _ := m[k].(string); return v }
	p := Principal{Kind: Kind(s(ctxKind)), UserID: s(ctxUserID), KeyID: s(ctxKeyID)}
	switch {
	case p.Kind == KindAdmin && p.KeyID != "":
		return p, nil
	case p.Kind == KindUser && p.UserID != "":
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
