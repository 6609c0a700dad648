// Package permissions is the one rule table of who may call what: for
// every REST route, the scope an admin token needs and what a user token
// may do there (and which grant of its app-wide role it needs, if any). shared/httpapi checks each request against it before the
// route's handler runs; the use cases keep their finer rules (a user on
// their own id, group roles) behind it. docs/permissions.md is the same
// table for people; tests keep the two, template.yaml and
// docs/openapi.yaml in step, and try to break every row.
package permissions

import (
	"slices"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// Users says what a user token may do on a route.
type Users string

const (
	// UsersNone: admin tokens only; a user token gets 403 forbidden here.
	UsersNone Users = "none"
	// UsersSelf: a user token, on its own user id only (the use case checks).
	UsersSelf Users = "self"
	// UsersMember: a user token, within the conversations and groups the
	// user belongs to, by group role (the chat use cases check).
	UsersMember Users = "member"
	// UsersPublic: no token at all (the token endpoint).
	UsersPublic Users = "public"
	// UsersAny: any user token; the route holds nothing of one user's
	// (the Web Push public key).
	UsersAny Users = "any"
)

// Rule is one row of the table.
type Rule struct {
	Route string     // "METHOD /resource", as template.yaml and httpapi key it
	Scope auth.Scope // what an admin token needs ("" on a public route)
	Users Users
	// Grant, if set, is what a user token's role must grant (a user
	// without it gets 403 forbidden, whatever Users says).
	Grant string
}

// Rules is the table, in the order of docs/permissions.md.
var Rules = []Rule{
	{"POST /v1/auth/token", "", UsersPublic, ""},

	{"POST /v1/credentials", auth.ScopeCredentialsWrite, UsersNone, ""},
	{"GET /v1/credentials", auth.ScopeCredentialsRead, UsersNone, ""},
	{"PATCH /v1/credentials/{key_id}", auth.ScopeCredentialsWrite, UsersNone, ""},
	{"DELETE /v1/credentials/{key_id}", auth.ScopeCredentialsWrite, UsersNone, ""},

	{"POST /v1/users", auth.ScopeUsersWrite, UsersNone, ""},
	{"GET /v1/users", auth.ScopeUsersRead, UsersNone, ""},
	{"GET /v1/users/{user_id}", auth.ScopeUsersRead, UsersSelf, ""},
	{"PATCH /v1/users/{user_id}", auth.ScopeUsersWrite, UsersSelf, ""},
	{"PUT /v1/users/{user_id}", auth.ScopeUsersWrite, UsersNone, ""},
	{"DELETE /v1/users/{user_id}", auth.ScopeUsersWrite, UsersSelf, ""},
	{"POST /v1/users/{user_id}/tokens", auth.ScopeTokensWrite, UsersNone, ""},

	{"POST /v1/groups", auth.ScopeGroupsWrite, UsersMember, GrantCreateGroups},
	{"GET /v1/groups/{group_id}", auth.ScopeGroupsRead, UsersMember, ""},
	{"PATCH /v1/groups/{group_id}", auth.ScopeGroupsWrite, UsersMember, ""},
	{"DELETE /v1/groups/{group_id}", auth.ScopeGroupsWrite, UsersMember, ""},
	{"POST /v1/groups/{group_id}/members", auth.ScopeGroupsWrite, UsersMember, ""},
	{"GET /v1/groups/{group_id}/members", auth.ScopeGroupsRead, UsersMember, ""},
	{"PATCH /v1/groups/{group_id}/members/{user_id}", auth.ScopeGroupsWrite, UsersMember, ""},
	{"DELETE /v1/groups/{group_id}/members/{user_id}", auth.ScopeGroupsWrite, UsersMember, ""},
	{"POST /v1/groups/{group_id}/transfer", auth.ScopeGroupsWrite, UsersMember, ""},

	{"POST /v1/messages", auth.ScopeMessagesSend, UsersMember, ""},
	{"GET /v1/conversations", auth.ScopeMessagesRead, UsersMember, ""},
	{"GET /v1/conversations/{conversation_id}", auth.ScopeMessagesRead, UsersMember, ""},
	{"GET /v1/conversations/{conversation_id}/messages", auth.ScopeMessagesRead, UsersMember, ""},
	{"PATCH /v1/conversations/{conversation_id}/messages/{seq}", auth.ScopeMessagesWrite, UsersMember, ""},
	{"POST /v1/conversations/{conversation_id}/messages/{seq}/recall", auth.ScopeMessagesWrite, UsersMember, ""},
	{"POST /v1/conversations/{conversation_id}/read", auth.ScopeMessagesWrite, UsersMember, ""},
	{"POST /v1/sync", auth.ScopeMessagesRead, UsersMember, ""},
	{"POST /v1/conversations/{conversation_id}/messages/{seq}/reactions", auth.ScopeMessagesWrite, UsersMember, ""},
	{"DELETE /v1/conversations/{conversation_id}/messages/{seq}/reactions", auth.ScopeMessagesWrite, UsersMember, ""},
	{"PUT /v1/conversations/{conversation_id}/messages/{seq}/pin", auth.ScopeMessagesWrite, UsersMember, ""},
	{"DELETE /v1/conversations/{conversation_id}/messages/{seq}/pin", auth.ScopeMessagesWrite, UsersMember, ""},
	{"GET /v1/conversations/{conversation_id}/messages/{seq}/thread", auth.ScopeMessagesRead, UsersMember, ""},

	{"POST /v1/jobs/users", auth.ScopeJobsWrite, UsersNone, ""},
	{"POST /v1/jobs/groups", auth.ScopeJobsWrite, UsersNone, ""},
	{"POST /v1/jobs/verify", auth.ScopeJobsWrite, UsersNone, ""},
	{"GET /v1/jobs/{job_id}", auth.ScopeJobsRead, UsersNone, ""},
	{"GET /v1/jobs/{job_id}/errors", auth.ScopeJobsRead, UsersNone, ""},

	{"PUT /v1/users/{user_id}/ban", auth.ScopeModerationWrite, UsersNone, GrantBan},
	{"DELETE /v1/users/{user_id}/ban", auth.ScopeModerationWrite, UsersNone, GrantBan},
	{"PUT /v1/users/{user_id}/role", auth.ScopeModerationWrite, UsersNone, ""},
	{"GET /v1/roles", auth.ScopeModerationRead, UsersNone, ""},
	{"PUT /v1/roles/{role}", auth.ScopeModerationWrite, UsersNone, ""},
	{"DELETE /v1/roles/{role}", auth.ScopeModerationWrite, UsersNone, ""},
	{"GET /v1/users/{user_id}/blocks", auth.ScopeModerationRead, UsersSelf, ""},
	{"PUT /v1/users/{user_id}/blocks/{blocked_id}", auth.ScopeModerationWrite, UsersSelf, ""},
	{"DELETE /v1/users/{user_id}/blocks/{blocked_id}", auth.ScopeModerationWrite, UsersSelf, ""},
	{"GET /v1/moderation/word-filter", auth.ScopeModerationRead, UsersNone, GrantManageWordList},
	{"PUT /v1/moderation/word-filter", auth.ScopeModerationWrite, UsersNone, GrantManageWordList},
	{"POST /v1/reports", auth.ScopeModerationWrite, UsersMember, ""},
	{"GET /v1/reports", auth.ScopeModerationRead, UsersNone, GrantReadReports},
	{"POST /v1/reports/{report_id}/resolve", auth.ScopeModerationWrite, UsersNone, GrantReadReports},

	{"GET /v1/audit", auth.ScopeAuditRead, UsersNone, ""},

	// Push (issue 14; docs/push.md).
	{"PUT /v1/users/{user_id}/devices/{device_id}", auth.ScopeUsersWrite, UsersSelf, ""},
	{"GET /v1/users/{user_id}/devices", auth.ScopeUsersRead, UsersSelf, ""},
	{"DELETE /v1/users/{user_id}/devices/{device_id}", auth.ScopeUsersWrite, UsersSelf, ""},
	{"GET /v1/users/{user_id}/push-settings", auth.ScopeUsersRead, UsersSelf, ""},
	{"PUT /v1/users/{user_id}/push-settings", auth.ScopeUsersWrite, UsersSelf, ""},
	{"GET /v1/users/{user_id}/push-settings/conversations/{conversation_id}", auth.ScopeUsersRead, UsersSelf, ""},
	{"PUT /v1/users/{user_id}/push-settings/conversations/{conversation_id}", auth.ScopeUsersWrite, UsersSelf, ""},
	{"GET /v1/users/{user_id}/notifications", auth.ScopeUsersRead, UsersSelf, ""},
	{"POST /v1/users/{user_id}/notifications/read", auth.ScopeUsersWrite, UsersSelf, ""},
	{"GET /v1/push/web", auth.ScopeUsersRead, UsersAny, ""},
	{"POST /v1/notifications", auth.ScopeNotificationsSend, UsersNone, ""},
	{"GET /v1/notifications/{notification_id}", auth.ScopeNotificationsSend, UsersNone, ""},

	// Webhooks (issue 15; docs/events.md).
	{"POST /v1/webhooks", auth.ScopeWebhooksManage, UsersNone, ""},
	{"GET /v1/webhooks", auth.ScopeWebhooksManage, UsersNone, ""},
	{"GET /v1/webhooks/{webhook_id}", auth.ScopeWebhooksManage, UsersNone, ""},
	{"PATCH /v1/webhooks/{webhook_id}", auth.ScopeWebhooksManage, UsersNone, ""},
	{"DELETE /v1/webhooks/{webhook_id}", auth.ScopeWebhooksManage, UsersNone, ""},
	{"POST /v1/webhooks/{webhook_id}/rotate", auth.ScopeWebhooksManage, UsersNone, ""},
	{"GET /v1/webhooks/{webhook_id}/deliveries", auth.ScopeWebhooksManage, UsersNone, ""},
	{"POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", auth.ScopeWebhooksManage, UsersNone, ""},
	{"POST /v1/webhooks/{webhook_id}/replay", auth.ScopeWebhooksManage, UsersNone, ""},
	// Attachments (issue 16): an upload is a user's (admin tokens get 403
	// from the use case); downloads by membership, or any admin.
	{"POST /v1/uploads", auth.ScopeMessagesSend, UsersMember, ""},
	// Completing a multipart upload: the uploader's own upload only.
	{"POST /v1/uploads/{upload_id}/complete", auth.ScopeMessagesSend, UsersSelf, ""},
	{"GET /v1/conversations/{conversation_id}/attachments/{attachment_id}", auth.ScopeMessagesRead, UsersMember, ""},
}

var byRoute = func() map[string]Rule {
	m := make(map[string]Rule, len(Rules))
	for _, r := range Rules {
		m[r.Route] = r
	}
	return m
}()

// ForRoute returns the route's rule. A route with no row (one added
// without a row: a test fails on it) needs the admin scope and is open to
// users as the use case decides, so a scoped credential never gains
// access through an omission and existing behaviour is kept.
func ForRoute(route string) (Rule, bool) {
	r, ok := byRoute[route]
	if !ok {
		return Rule{Route: route, Scope: auth.ScopeAdmin, Users: UsersMember}, false
	}
	return r, true
}

// CheckRoute is the table's check for one request: an admin token needs
// the route's scope (403 scope_required), a user token may not call an
// admin-only route (403 forbidden). Public routes are never checked (they
// carry no principal).
func CheckRoute(p auth.Principal, route string) error {
	r, _ := ForRoute(route)
	switch {
	case r.Users == UsersPublic:
		return nil
	case p.Kind == auth.KindAdmin:
		return p.RequireScope(r.Scope)
	case r.Grant != "":
		if !slices.Contains(GrantsOf(p), r.Grant) {
			return apierror.New(apierror.Forbidden, "This operation requires a role with the %q grant.", r.Grant).
				WithDetails(map[string]any{"required_grant": r.Grant})
		}
		return nil
	case r.Users == UsersNone:
		return apierror.New(apierror.Forbidden, "This operation requires an admin token.")
	}
	return nil
}

// GrantsOf is a user principal's grants. A principal the authorizer did
// not resolve a role for (nil grants: built in-process, or by an
// authorizer deployed before roles) has the built-in user role's.
func GrantsOf(p auth.Principal) []string {
	if p.Grants == nil {
		return BuiltinRoles[RoleUser]
	}
	return p.Grants
}
