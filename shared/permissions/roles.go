package permissions

// App-wide roles for users, in the manner of Stream's permissions: a role
// is a name and a list of grants (actions). Two roles are built in
// ("user", every user's role until set, and "moderator"); an app defines
// more. Group roles (owner, admin, member) keep working inside their
// group: grants add rights across groups, they never take group rights
// away.

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Grants: the actions a role may hold. Keep docs/permissions.md in step.
const (
	GrantCreateGroups   = "create_groups"    // POST /v1/groups
	GrantPostAnyGroup   = "post_any_group"   // send in any group, member or not, muted or not (shared/chat)
	GrantEditAny        = "edit_any_message" // edit or recall others' messages in any conversation (shared/chat)
	GrantMuteKickAny    = "mute_kick_any"    // mute or remove members but the owner in any group (shared/chat)
	GrantBan            = "ban"              // ban and unban users
	GrantReadReports    = "read_reports"     // list and resolve reports
	GrantManageWordList = "manage_words"     // read and set the word filter
)

// AllGrants lists every grant.
func AllGrants() []string {
	return []string{GrantCreateGroups, GrantPostAnyGroup, GrantEditAny, GrantMuteKickAny, GrantBan, GrantReadReports, GrantManageWordList}
}

// Built-in roles.
const (
	RoleUser      = "user"
	RoleModerator = "moderator"
)

// BuiltinRoles are the roles every deployment has; an app cannot redefine them.
var BuiltinRoles = map[string][]string{
	RoleUser:      {GrantCreateGroups},
	RoleModerator: {GrantCreateGroups, GrantPostAnyGroup, GrantEditAny, GrantMuteKickAny, GrantBan, GrantReadReports},
}

// Limits on app-defined roles: they are all read in one item.
const (
	MaxRoles        = 50
	MaxRoleNameLen  = 32
	MaxGrantsOnRole = 16
)

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidateRole checks an app-defined role: a lower-case name that is not
// built in, and known, distinct grants. Errors are validation_failed with
// details.field.
func ValidateRole(name string, grants []string) error {
	if !roleName.MatchString(name) {
		return apierror.New(apierror.ValidationFailed, "role must be 1 to %d characters: a lower-case letter, then lower-case letters, digits, '_' or '-'.", MaxRoleNameLen).
			WithDetails(map[string]any{"field": "role"})
	}
	if _, ok := BuiltinRoles[name]; ok {
		return apierror.New(apierror.ValidationFailed, "role %q is built in and cannot be redefined.", name).WithDetails(map[string]any{"field": "role"})
	}
	if len(grants) > MaxGrantsOnRole {
		return apierror.New(apierror.ValidationFailed, "grants may hold at most %d grants.", MaxGrantsOnRole).WithDetails(map[string]any{"field": "grants"})
	}
	for i, g := range grants {
		if !slices.Contains(AllGrants(), g) {
			return apierror.New(apierror.ValidationFailed, "Unknown grant %q.", truncate(g, 64)).WithDetails(map[string]any{"field": "grants"})
		}
		if slices.Contains(grants[:i], g) {
			return apierror.New(apierror.ValidationFailed, "Grant %q is repeated.", g).WithDetails(map[string]any{"field": "grants"})
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// RoleStore holds app-defined roles (one item: name -> grants).
type RoleStore interface {
	GetRoles(ctx context.Context) (map[string][]string, error)
	// PutRole sets (grants non-nil) or removes (nil) one role, refusing
	// with ok=false when the app would hold more than max roles.
	PutRole(ctx context.Context, name string, grants []string, max int) (ok bool, err error)
}

// RoleBook resolves roles to grants: built-ins from code, app roles from
// the store, read at most once per TTL per sandbox (a changed role reaches
// every token within the TTL).
type RoleBook struct {
	store RoleStore
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	roles   map[string][]string
	fetched time.Time
}

// RoleTTL is how long a sandbox keeps the app's roles.
const RoleTTL = 30 * time.Second

// NewRoleBook builds a book over store (nil: built-ins only).
func NewRoleBook(store RoleStore, now func() time.Time) *RoleBook {
	if now == nil {
		now = time.Now
	}
	return &RoleBook{store: store, ttl: RoleTTL, now: now}
}

// GrantsOf returns role's grants; "" is the built-in user role. An unknown
// role (deleted since it was given) grants what "user" does.
func (b *RoleBook) GrantsOf(ctx context.Context, role string) ([]string, error) {
	if role == "" {
		role = RoleUser
	}
	if g, ok := BuiltinRoles[role]; ok {
		return g, nil
	}
	roles, err := b.appRoles(ctx)
	if err != nil {
		return nil, err
	}
	if g, ok := roles[role]; ok {
		return g, nil
	}
	return BuiltinRoles[RoleUser], nil
}

// Exists reports whether role names a built-in or app-defined role.
func (b *RoleBook) Exists(ctx context.Context, role string) (bool, error) {
	if _, ok := BuiltinRoles[role]; ok {
		return true, nil
	}
	roles, err := b.appRoles(ctx)
	if err != nil {
		return false, err
	}
	_, ok := roles[role]
	return ok, nil
}

func (b *RoleBook) appRoles(ctx context.Context) (map[string][]string, error) {
	if b.store == nil {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.roles != nil && b.now().Sub(b.fetched) < b.ttl {
		return b.roles, nil
	}
	r, err := b.store.GetRoles(ctx)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = map[string][]string{}
	}
	b.roles, b.fetched = r, b.now()
	return r, nil
}

// Forget drops the cached roles (after this sandbox changed one).
func (b *RoleBook) Forget() {
	b.mu.Lock()
	b.roles = nil
	b.mu.Unlock()
}
