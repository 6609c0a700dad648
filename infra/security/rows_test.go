package security

import (
	"strings"
)

// actor picks the token a check sends.
type actor int

const (
	none actor = iota
	admin
	alice   // member of the DM and the group, owner of nothing
	bob     // owner of the group, sender of the DM
	mallory // a user with no part in any of it
)

// check is one request that must be refused with one of want (statuses)
// and, if set, the error code.
type check struct {
	name string
	as   actor
	path string // "" is the route's path with the fixture's ids
	body string // "" is the row's valid body
	ct   string
	want []int
	code string
}

// row is one route of template.yaml: a path and body a rightful caller
// would send, and the checks specific to it. Every authorized route also
// gets the token checks and every path parameter the hostile-id checks
// (see generic).
type row struct {
	route string // "METHOD /path", the template's key
	body  string
	ct    string
	admin bool // admin tokens only: a user token is refused with 403 forbidden
	// asUser: a user route that an admin token may call only naming a
	// user (the user_id query parameter or body field); without one it is
	// refused.
	asUser string // "query", "body" or ""
	checks []check
}

func refuse(name string, as actor, path, body string, code string, status ...int) check {
	return check{name: name, as: as, path: path, body: body, want: status, code: code}
}

// mass is a body with a field a client must not set, refused by strict
// decoding as unknown_field (docs/openapi.yaml's schemas have
// additionalProperties: false).
func mass(as actor, body string) check {
	return check{name: "mass assignment " + body, as: as, body: body, want: []int{400}, code: "unknown_field"}
}

// immutable is a body changing a field the resource has but no update may
// change; docs/openapi.yaml names them per route (immutable_field).
func immutable(as actor, body string) check {
	return check{name: "immutable " + body, as: as, body: body, want: []int{400}, code: "immutable_field"}
}

// rows is the table: one entry per REST route of template.yaml
// (TestEveryRouteHasRows). {a}, {b}, {m}, {g}, {dm}, {gc}, {job} are the
// fixture's alice, bob, mallory, group, DM, group conversation and job.
var rows = []row{
	{route: "POST /v1/auth/token", ct: "application/x-www-form-urlencoded",
		checks: []check{
			{name: "wrong secret", ct: "application/x-www-form-urlencoded", body: "grant_type=client_credentials&client_id={key}&client_secret=wrong", want: []int{401}, code: "invalid_client"},
			{name: "unknown key", ct: "application/x-www-form-urlencoded", body: "grant_type=client_credentials&client_id=tk_nobody&client_secret={secret}", want: []int{401}, code: "invalid_client"},
			{name: "key id with expression syntax", ct: "application/x-www-form-urlencoded", body: "grant_type=client_credentials&client_id=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D&client_secret={secret}", want: []int{401}, code: "invalid_client"},
			{name: "forged ID token exchanged", ct: "application/x-www-form-urlencoded", body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={forged}&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token", want: []int{400}, code: ""},
			{name: "user token is no client secret", as: alice, ct: "application/x-www-form-urlencoded", body: "grant_type=client_credentials&client_id={a}&client_secret={alicetoken}", want: []int{401}, code: "invalid_client"},
		}},
	{route: "POST /v1/credentials", body: `{"name":"x"}`, admin: true,
		checks: []check{mass(admin, `{"name":"x","revoked":false}`), mass(admin, `{"name":"x","key_id":"tk_mine"}`), mass(admin, `{"name":"x","created_at":1}`)}},
	{route: "POST /v1/users", body: `{"user_id":"new-{m}"}`, admin: true,
		checks: []check{
			mass(admin, `{"user_id":"mass-{m}","role":"admin"}`), mass(admin, `{"user_id":"mass-{m}","created_at":"2020-01-01T00:00:00Z"}`),
			mass(admin, `{"user_id":"mass-{m}","gen":1}`), mass(admin, `{"user_id":"mass-{m}","User_Id":"x"}`),
			refuse("id with expression syntax", admin, "", `{"user_id":"${jndi:ldap://x}"}`, "invalid_id", 400),
			refuse("id with path traversal", admin, "", `{"user_id":"../../etc/passwd"}`, "invalid_id", 400),
			refuse("id with a control character", admin, "", `{"user_id":"a\u0000b"}`, "invalid_id", 400),
		}},
	{route: "GET /v1/users", admin: true},
	{route: "GET /v1/users/{user_id}", checks: []check{refuse("another user's profile", mallory, "/v1/users/{a}", "", "forbidden", 403)}},
	{route: "PATCH /v1/users/{user_id}", body: `{"nickname":"n"}`,
		checks: []check{
			refuse("another user's profile", mallory, "/v1/users/{a}", "", "forbidden", 403),
			immutable(alice, `{"nickname":"n","user_id":"{m}"}`), immutable(alice, `{"created_at":"2020-01-01T00:00:00Z"}`),
			immutable(alice, `{"updated_at":"2020-01-01T00:00:00Z"}`), mass(alice, `{"role":"admin"}`), mass(alice, `{"gen":1}`),
		}},
	{route: "PUT /v1/users/{user_id}", body: `{"nickname":"n"}`, admin: true,
		checks: []check{immutable(admin, `{"nickname":"n","created_at":"2020-01-01T00:00:00Z"}`), immutable(admin, `{"user_id":"{m}"}`),
			mass(admin, `{"nickname":"n","role":"admin"}`)}},
	{route: "DELETE /v1/users/{user_id}", checks: []check{refuse("another user", mallory, "/v1/users/{a}", "", "forbidden", 403)}},
	{route: "POST /v1/users/{user_id}/tokens", body: `{"ttl_seconds":60}`, admin: true,
		checks: []check{mass(admin, `{"ttl_seconds":60,"aud":"tokenim:admin"}`), mass(admin, `{"ttl_seconds":60,"sub":"{b}"}`)}},
	{route: "POST /v1/groups", body: `{"group_id":"g-{m}","name":"x"}`,
		checks: []check{
			refuse("a group owned by another user", mallory, "", `{"group_id":"own-{m}","owner_id":"{a}"}`, "forbidden", 403),
			mass(mallory, `{"group_id":"mass-{m}","created_at":"2020-01-01T00:00:00Z"}`), mass(mallory, `{"group_id":"mass-{m}","seq":7}`),
			refuse("id with expression syntax", mallory, "", `{"group_id":"#{7*7}"}`, "invalid_id", 400),
			refuse("member id with a control character", mallory, "", `{"group_id":"cc-{m}","members":["a\nb"]}`, "invalid_id", 400),
		}},
	{route: "GET /v1/groups/{group_id}", checks: []check{refuse("not a member", mallory, "/v1/groups/{g}", "", "", 403, 404)}},
	{route: "PATCH /v1/groups/{group_id}", body: `{"name":"y"}`,
		checks: []check{
			refuse("not a member", mallory, "/v1/groups/{g}", "", "", 403, 404),
			refuse("plain member", alice, "/v1/groups/{g}", "", "forbidden", 403),
			immutable(bob, `{"owner_id":"{m}"}`), immutable(bob, `{"group_id":"x"}`), immutable(bob, `{"member_count":1}`),
			immutable(bob, `{"created_at":"2020-01-01T00:00:00Z"}`), mass(bob, `{"members":["{m}"]}`),
		}},
	{route: "DELETE /v1/groups/{group_id}", checks: []check{
		refuse("not a member", mallory, "/v1/groups/{g}", "", "", 403, 404),
		refuse("plain member", alice, "/v1/groups/{g}", "", "forbidden", 403)}},
	{route: "POST /v1/groups/{group_id}/members", body: `{"user_ids":["{m}"]}`, checks: []check{
		refuse("adding oneself", mallory, "/v1/groups/{g}/members", "", "", 403, 404),
		refuse("plain member", alice, "/v1/groups/{g}/members", "", "forbidden", 403),
		mass(bob, `{"user_ids":["{m}"],"role":"owner"}`)}},
	{route: "GET /v1/groups/{group_id}/members", checks: []check{refuse("not a member", mallory, "/v1/groups/{g}/members", "", "", 403, 404)}},
	{route: "PATCH /v1/groups/{group_id}/members/{user_id}", body: `{"muted":true}`, checks: []check{
		refuse("not a member", mallory, "/v1/groups/{g}/members/{a}", "", "", 403, 404),
		refuse("plain member makes itself admin", alice, "/v1/groups/{g}/members/{a}", `{"role":"admin"}`, "forbidden", 403),
		refuse("plain member makes itself owner", alice, "/v1/groups/{g}/members/{a}", `{"role":"owner"}`, "forbidden", 403),
		mass(bob, `{"muted":true,"joined_at":"2020-01-01T00:00:00Z"}`)}},
	{route: "DELETE /v1/groups/{group_id}/members/{user_id}", checks: []check{
		refuse("not a member", mallory, "/v1/groups/{g}/members/{a}", "", "", 403, 404),
		refuse("plain member removes the owner", alice, "/v1/groups/{g}/members/{b}", "", "forbidden|last_owner", 400, 403)}},
	{route: "POST /v1/groups/{group_id}/transfer", body: `{"user_id":"{a}"}`, checks: []check{
		refuse("not a member", mallory, "/v1/groups/{g}/transfer", `{"user_id":"{m}"}`, "", 403, 404),
		refuse("plain member", alice, "/v1/groups/{g}/transfer", `{"user_id":"{a}"}`, "forbidden", 403),
		mass(bob, `{"user_id":"{a}","owner_id":"{m}"}`)}},
	{route: "POST /v1/messages", body: `{"to_user":"{a}","text":"hi"}`, asUser: "body", checks: []check{
		refuse("into another pair's DM", mallory, "", `{"conversation_id":"{dm}","text":"hi"}`, "", 403, 404),
		refuse("into a group it is not in", mallory, "", `{"to_group":"{g}","text":"hi"}`, "", 403, 404),
		refuse("as another sender", mallory, "", `{"to_user":"{a}","sender_id":"{b}","text":"hi"}`, "forbidden", 403),
		refuse("a system message", mallory, "", `{"to_user":"{a}","system":true,"text":"hi"}`, "forbidden", 403),
		mass(mallory, `{"to_user":"{a}","text":"hi","seq":1}`), mass(mallory, `{"to_user":"{a}","text":"hi","created_at":"2020-01-01T00:00:00Z"}`),
		mass(mallory, `{"to_user":"{a}","text":"hi","sender":"{b}"}`),
		refuse("recipient with expression syntax", mallory, "", `{"to_user":"${jndi:ldap://x}","text":"hi"}`, "invalid_id", 400),
		refuse("recipient with path traversal", mallory, "", `{"to_user":"../{a}","text":"hi"}`, "invalid_id", 400),
	}},
	{route: "GET /v1/conversations", asUser: "query", checks: []check{
		refuse("as another user", mallory, "/v1/conversations?user_id={a}", "", "forbidden", 403)}},
	{route: "GET /v1/conversations/{conversation_id}", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}", "", "", 403, 404),
		refuse("as another user", mallory, "/v1/conversations/{dm}?user_id={a}", "", "forbidden", 403)}},
	{route: "GET /v1/conversations/{conversation_id}/messages", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/messages", "", "", 403, 404),
		refuse("as another user", mallory, "/v1/conversations/{dm}/messages?user_id={a}", "", "forbidden", 403),
		refuse("a forged cursor", alice, "/v1/conversations/{dm}/messages?cursor=eyJzIjoiZG0ifQ", "", "invalid_cursor", 400)}},
	{route: "PATCH /v1/conversations/{conversation_id}/messages/{seq}", body: `{"text":"edited"}`, checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1", "", "", 403, 404),
		refuse("another sender's message", alice, "/v1/conversations/{dm}/messages/1", "", "forbidden", 403),
		mass(bob, `{"text":"edited","seq":9}`), mass(bob, `{"text":"edited","sender_id":"{a}"}`)}},
	{route: "POST /v1/conversations/{conversation_id}/messages/{seq}/recall", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1/recall", "", "", 403, 404),
		refuse("another sender's message", alice, "/v1/conversations/{dm}/messages/1/recall", "", "forbidden", 403)}},
	{route: "POST /v1/conversations/{conversation_id}/read", body: `{"seq":1}`, asUser: "body", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/read", "", "", 403, 404),
		refuse("as another user", alice, "/v1/conversations/{dm}/read", `{"seq":1,"user_id":"{b}"}`, "forbidden", 403),
		mass(alice, `{"seq":1,"unread":0}`)}},
	{route: "POST /v1/sync", body: `{}`, asUser: "body", checks: []check{
		refuse("as another user", mallory, "", `{"user_id":"{a}"}`, "forbidden", 403),
		refuse("since another pair's DM", mallory, "", `{"since":{"{dm}":0}}`, "", 200, 403, 404),
		mass(mallory, `{"seq":1}`)}},
	{route: "POST /v1/jobs/users", body: "user_id\njob-{m}\n", ct: "text/csv", admin: true, checks: []check{
		{name: "mass assignment in every row", as: admin, ct: "application/json", body: `[{"user_id":"mass-{m}","role":"admin"}]`, want: []int{400}, code: "no_valid_rows"}}},
	{route: "POST /v1/jobs/groups", body: "group_id,owner_id\njob-{m},{a}\n", ct: "text/csv", admin: true},
	{route: "POST /v1/jobs/verify", body: `{"user_ids":["{a}"]}`, admin: true, checks: []check{mass(admin, `{"user_ids":["{a}"],"job_id":"x"}`)}},
	{route: "GET /v1/jobs/{job_id}", admin: true},
	{route: "GET /v1/jobs/{job_id}/errors", admin: true},
	// Push (issue 14): devices, settings and notifications are a user's own.
	{route: "PUT /v1/users/{user_id}/devices/{device_id}", body: `{"platform":"fcm","token":"fcm-token-0123456789abcdefghijklmnopqrstuvwxyz"}`, checks: []check{
		refuse("another user's device", mallory, "/v1/users/{a}/devices/phone-1", "", "", 403, 404),
		mass(alice, `{"platform":"fcm","token":"fcm-token-0123456789abcdefghijklmnopqrstuvwxyz","user_id":"{m}"}`),
		mass(alice, `{"platform":"fcm","token":"fcm-token-0123456789abcdefghijklmnopqrstuvwxyz","created_at":"2020-01-01T00:00:00Z"}`)}},
	{route: "GET /v1/users/{user_id}/devices", checks: []check{refuse("another user's devices", mallory, "/v1/users/{a}/devices", "", "", 403, 404)}},
	{route: "DELETE /v1/users/{user_id}/devices/{device_id}", checks: []check{refuse("another user's device", mallory, "/v1/users/{a}/devices/phone-1", "", "", 403, 404)}},
	{route: "GET /v1/users/{user_id}/push-settings", checks: []check{refuse("another user's settings", mallory, "/v1/users/{a}/push-settings", "", "", 403, 404)}},
	{route: "PUT /v1/users/{user_id}/push-settings", body: `{"preview":false}`, checks: []check{
		refuse("another user's settings", mallory, "/v1/users/{a}/push-settings", "", "", 403, 404), mass(alice, `{"preview":false,"badge":3}`)}},
	{route: "GET /v1/users/{user_id}/push-settings/conversations/{conversation_id}", checks: []check{
		refuse("another user's setting", mallory, "/v1/users/{a}/push-settings/conversations/{dm}", "", "", 403, 404)}},
	{route: "PUT /v1/users/{user_id}/push-settings/conversations/{conversation_id}", body: `{"level":"none"}`, checks: []check{
		refuse("another user's setting", mallory, "/v1/users/{a}/push-settings/conversations/{dm}", "", "", 403, 404), mass(alice, `{"level":"none","user_id":"{m}"}`)}},
	{route: "GET /v1/push/web"},
	{route: "POST /v1/notifications", body: `{"title":"t","body":"b","audience":{"user_ids":["{a}"]}}`, admin: true, checks: []check{
		mass(admin, `{"title":"t","body":"b","audience":{"user_ids":["{a}"]},"counts":{"pushed":1}}`)}},
	{route: "GET /v1/notifications/{notification_id}", admin: true},
	{route: "GET /v1/users/{user_id}/notifications", checks: []check{refuse("another user's notifications", mallory, "/v1/users/{a}/notifications", "", "", 403, 404)}},
	{route: "POST /v1/users/{user_id}/notifications/read", body: `{"all":true}`, checks: []check{
		refuse("another user's notifications", mallory, "/v1/users/{a}/notifications/read", "", "", 403, 404), mass(alice, `{"all":true,"user_id":"{m}"}`)}},
	// Credentials (issue 17): admin only; a credential cannot change itself.
	{route: "GET /v1/credentials", admin: true},
	{route: "PATCH /v1/credentials/{key_id}", body: `{"disabled":true}`, admin: true, checks: []check{
		refuse("the caller's own credential", admin, "", "", "forbidden", 403),
		mass(admin, `{"disabled":false,"scopes":["admin"]}`), mass(admin, `{"disabled":false,"key_id":"tk_mine"}`)}},
	{route: "DELETE /v1/credentials/{key_id}", admin: true, checks: []check{
		refuse("the caller's own credential", admin, "", "", "forbidden", 403)}},
	// Moderation (issue 14... 17): bans, roles, word filter and reports are
	// a moderator's; blocks are a user's own.
	{route: "PUT /v1/users/{user_id}/ban", body: `{"reason":"spam"}`, admin: true, checks: []check{
		refuse("a user banning itself", mallory, "/v1/users/{m}/ban", "", "forbidden", 403),
		mass(admin, `{"reason":"spam","banned_by":"{m}"}`), mass(admin, `{"reason":"spam","created_at":"2020-01-01T00:00:00Z"}`)}},
	{route: "DELETE /v1/users/{user_id}/ban", admin: true, checks: []check{
		refuse("a user lifting its own ban", mallory, "/v1/users/{m}/ban", "", "forbidden", 403)}},
	{route: "PUT /v1/users/{user_id}/role", body: `{"role":"moderator"}`, admin: true, checks: []check{
		refuse("a user promoting itself", mallory, "/v1/users/{m}/role", "", "forbidden", 403),
		mass(admin, `{"role":"user","grants":["ban"]}`)}},
	{route: "GET /v1/roles", admin: true},
	{route: "PUT /v1/roles/{role}", body: `{"grants":["read_reports"]}`, admin: true, checks: []check{
		mass(admin, `{"grants":["read_reports"],"builtin":true}`), mass(admin, `{"grants":["read_reports"],"name":"moderator"}`)}},
	{route: "DELETE /v1/roles/{role}", admin: true},
	{route: "GET /v1/users/{user_id}/blocks", checks: []check{
		refuse("another user's blocklist", mallory, "/v1/users/{a}/blocks", "", "", 403, 404)}},
	{route: "PUT /v1/users/{user_id}/blocks/{blocked_id}", checks: []check{
		refuse("blocking for another user", mallory, "/v1/users/{a}/blocks/{b}", "", "", 403, 404)}},
	{route: "DELETE /v1/users/{user_id}/blocks/{blocked_id}", checks: []check{
		refuse("unblocking for another user", mallory, "/v1/users/{a}/blocks/{b}", "", "", 403, 404)}},
	{route: "GET /v1/moderation/word-filter", admin: true},
	{route: "PUT /v1/moderation/word-filter", body: `{"action":"mask","words":["spamword"]}`, admin: true, checks: []check{
		mass(admin, `{"action":"mask","words":["spamword"],"updated_at":"2020-01-01T00:00:00Z"}`)}},
	{route: "POST /v1/reports", body: `{"conversation_id":"{dm}","seq":1,"reason":"spam"}`, checks: []check{
		refuse("a message it cannot read", mallory, "", "", "", 403, 404),
		refuse("a group message it cannot read", mallory, "", `{"conversation_id":"{gc}","seq":1,"reason":"spam"}`, "", 403, 404),
		mass(alice, `{"conversation_id":"{dm}","seq":1,"reason":"spam","status":"resolved"}`),
		mass(alice, `{"conversation_id":"{dm}","seq":1,"reason":"spam","reporter_id":"{b}"}`)}},
	{route: "GET /v1/reports", admin: true},
	{route: "POST /v1/reports/{report_id}/resolve", body: `{"resolution":"removed"}`, admin: true, checks: []check{
		mass(admin, `{"resolution":"removed","status":"open"}`)}},
	// Audit (issue 17): read-only, admin only.
	{route: "GET /v1/audit", admin: true},
	// Webhooks (issue 15): admin only (webhooks:manage); URLs to private
	// or metadata addresses refused.
	{route: "POST /v1/webhooks", body: `{"url":"https://93.184.216.34/hook","types":["message.created"]}`, admin: true, checks: []check{
		refuse("the instance metadata service", admin, "", `{"url":"https://169.254.169.254/latest/meta-data"}`, "invalid_webhook_url", 400),
		refuse("a private address", admin, "", `{"url":"https://10.0.0.5/hook"}`, "invalid_webhook_url", 400),
		mass(admin, `{"url":"https://93.184.216.34/hook","id":"wh_00000000000000000001"}`),
		mass(admin, `{"url":"https://93.184.216.34/hook","dead_streak":0}`)}},
	{route: "GET /v1/webhooks", admin: true},
	{route: "GET /v1/webhooks/{webhook_id}", admin: true},
	{route: "PATCH /v1/webhooks/{webhook_id}", body: `{"enabled":true}`, admin: true, checks: []check{
		mass(admin, `{"enabled":true,"secret":"whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="}`)}},
	{route: "DELETE /v1/webhooks/{webhook_id}", admin: true},
	{route: "POST /v1/webhooks/{webhook_id}/rotate", body: `{}`, admin: true},
	{route: "GET /v1/webhooks/{webhook_id}/deliveries", admin: true},
	{route: "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", admin: true},
	{route: "POST /v1/webhooks/{webhook_id}/replay", body: `{"from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z"}`, admin: true, checks: []check{
		mass(admin, `{"from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z","endpoint_id":"wh_00000000000000000001"}`)}},
	// Threads, reactions, pins (issue 16).
	{route: "GET /v1/conversations/{conversation_id}/messages/{seq}/thread", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1/thread", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/messages/1/thread", "", "", 403, 404),
		refuse("as another user", mallory, "/v1/conversations/{dm}/messages/1/thread?user_id={a}", "", "forbidden", 403)}},
	{route: "POST /v1/conversations/{conversation_id}/messages/{seq}/reactions", body: `{"emoji":"👍"}`, checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1/reactions", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/messages/1/reactions", "", "", 403, 404),
		refuse("an admin token (a reaction is a user's)", admin, "", "", "forbidden", 403),
		mass(alice, `{"emoji":"👍","user_id":"{b}"}`), mass(alice, `{"emoji":"👍","count":100}`)}},
	{route: "DELETE /v1/conversations/{conversation_id}/messages/{seq}/reactions", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1/reactions?emoji=%F0%9F%91%8D", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/messages/1/reactions?emoji=%F0%9F%91%8D", "", "", 403, 404)}},
	{route: "PUT /v1/conversations/{conversation_id}/messages/{seq}/pin", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1/pin", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/messages/1/pin", "", "", 403, 404),
		refuse("plain group member", alice, "/v1/conversations/{gc}/messages/1/pin", "", "forbidden", 403)}},
	{route: "DELETE /v1/conversations/{conversation_id}/messages/{seq}/pin", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/messages/1/pin", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/messages/1/pin", "", "", 403, 404),
		refuse("plain group member", alice, "/v1/conversations/{gc}/messages/1/pin", "", "forbidden", 403)}},
	// Attachments (issue 16): uploads to conversations the caller is in;
	// downloads for members only.
	{route: "POST /v1/uploads", body: `{"conversation_id":"{dm}","name":"a.png","content_type":"image/png","size":10}`, checks: []check{
		refuse("another pair's DM", mallory, "", "", "", 403, 404),
		refuse("a group it is not in", mallory, "", `{"conversation_id":"{gc}","name":"a.png","content_type":"image/png","size":10}`, "", 403, 404),
		refuse("an admin token (an upload is a user's)", admin, "", "", "forbidden", 403),
		refuse("an executable", alice, "", `{"conversation_id":"{dm}","name":"a.exe","content_type":"application/x-msdownload","size":10}`, "content_type_not_allowed", 400),
		refuse("above the size limit", alice, "", `{"conversation_id":"{dm}","name":"a.png","content_type":"image/png","size":1000000000000}`, "upload_too_large", 400),
		mass(alice, `{"conversation_id":"{dm}","name":"a.png","content_type":"image/png","size":10,"owner_id":"{b}"}`),
		mass(alice, `{"conversation_id":"{dm}","name":"a.png","content_type":"image/png","size":10,"key":"uploads/x"}`)}},
	{route: "POST /v1/uploads/{upload_id}/complete", body: `{"parts":[{"part_number":1,"etag":"\"x\""}]}`, checks: []check{
		refuse("an upload that is not the caller's", mallory, "/v1/uploads/up_aaaaaaaaaaaaaaaaaaaaaaaaaa/complete", "", "upload_not_found", 400),
		refuse("an admin token (an upload is a user's)", admin, "/v1/uploads/up_aaaaaaaaaaaaaaaaaaaaaaaaaa/complete", "", "forbidden", 403),
		refuse("mass assignment of the object key", alice, "/v1/uploads/up_aaaaaaaaaaaaaaaaaaaaaaaaaa/complete",
			`{"parts":[{"part_number":1,"etag":"\"x\""}],"key":"uploads/x"}`, "unknown_field", 400)}},
	{route: "GET /v1/conversations/{conversation_id}/attachments/{attachment_id}", checks: []check{
		refuse("another pair's DM", mallory, "/v1/conversations/{dm}/attachments/up_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", "", 403, 404),
		refuse("a group it is not in", mallory, "/v1/conversations/{gc}/attachments/up_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", "", 403, 404)}},
}

// hostileIDs go into every path parameter (URL-escaped as a client
// would): expression syntax, path traversal, control characters, a
// DynamoDB key separator. Each must be refused (400 invalid_id, 404) and
// never reach a 2xx or a 5xx. A bare ".." segment is not here: RFC 3986
// clients remove it before sending (the local gateway's ServeMux answers
// it with a redirect to the parent path, which call does not follow).
var hostileIDs = map[string]string{
	"expression syntax ${}": "%24%7Bjndi%3Aldap%3A%2F%2Fx%7D",
	"expression syntax #{}": "%23%7B7*7%7D",
	"NoSQL operator":        "%7B%22%24gt%22%3A%22%22%7D",
	"path traversal":        "..%2F..%2Fetc%2Fpasswd",
	"NUL":                   "a%00b",
	"newline":               "a%0Ab",
	"key separator":         "dm%23a%23b",
	"too long":              strings.Repeat("a", 65),
}
