package auth

// A user's standing beyond "exists with this generation": an app-wide ban
// and an app-wide role. Both live on the user item, so the authorizer's
// one read of a user token's user gives them at no extra cost, and both go
// with the user when it is deleted (a re-created id starts clean).

import (
	"context"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// UserStatus is what authenticating a user token reads.
type UserStatus struct {
	Gen  int64  // 0: no such user
	Role string // "" is the built-in "user"
	Ban  *Ban   // nil: not banned
}

// Ban is an app-wide ban.
type Ban struct {
	Reason string
	Until  int64 // ms since the epoch; 0: until lifted
	By     string
	At     int64 // ms
}

// Active reports whether the ban holds at now.
func (b *Ban) Active(now time.Time) bool {
	return b != nil && (b.Until == 0 || now.UnixMilli() < b.Until)
}

// UserStatuses reads a user's status in one read.
type UserStatuses interface {
	UserStatus(ctx context.Context, userID string) (UserStatus, error)
}

// RoleGrants turns a role name into its grants (built-in or app-defined;
// shared/permissions).
type RoleGrants interface {
	GrantsOf(ctx context.Context, role string) ([]string, error)
}

// WithStatus makes Authenticate read user tokens' status (ban, role) in
// place of the bare generation, and resolve the role's grants with roles.
func (s *Service) WithStatus(st UserStatuses, roles RoleGrants) *Service {
	s.statuses, s.roles = st, roles
	return s
}

// BannedError is a banned user's refusal; details say why and until when.
func BannedError(b *Ban) *apierror.Error {
	d := map[string]any{"reason": b.Reason}
	if b.Until != 0 {
		d["expires_at"] = time.UnixMilli(b.Until).UTC().Format(time.RFC3339Nano)
	}
	return apierror.New(apierror.Banned, "This user is banned from the app.").WithDetails(d)
}

// authenticateUser checks a user token's user and builds its principal.
// A banned user's principal comes back with the banned error: the REST
// authorizer passes both on so handlers answer 403 banned (docs/errors.md).
func (s *Service) authenticateUser(ctx context.Context, claims Claims) (Principal, error) {
	invalid := apierror.New(apierror.InvalidToken, "The access token is invalid or expired.")
	if s.statuses == nil {
		gen, err := s.users.UserGen(ctx, claims.Subject)
		if err != nil {
			return Principal{}, err
		}
		if gen == 0 || gen != claims.Gen {
			return Principal{}, invalid
		}
		return Principal{Kind: KindUser, UserID: claims.Subject}, nil
	}
	st, err := s.statuses.UserStatus(ctx, claims.Subject)
	if err != nil {
		return Principal{}, err
	}
	if st.Gen == 0 || st.Gen != claims.Gen {
		return Principal{}, invalid
	}
	p := Principal{Kind: KindUser, UserID: claims.Subject, Role: st.Role}
	if s.roles != nil {
		g, err := s.roles.GrantsOf(ctx, st.Role)
		if err != nil {
			return Principal{}, err
		}
		p.Grants = g
	}
	if st.Ban.Active(s.now()) {
		p.Ban = st.Ban
		return p, BannedError(st.Ban)
	}
	return p, nil
}
