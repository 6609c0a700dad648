package main

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/testenv"
)

// scopedAdmin creates a credential with scopes (through the API, as the
// fixture's full-rights credential), gets a token for it through the token
// endpoint, and returns the principal the authorizer would pass on.
func (f *fixture) scopedAdmin(t *testing.T, scopes ...string) (auth.Principal, string, string) {
	t.Helper()
	body := `{"name":"scoped","scopes":["` + strings.Join(scopes, `","`) + `"]}`
	r := testenv.Call(t, f.handler, credReq("POST", "", body, f.fullAdmin(t)))
	if r.Status != 201 {
		t.Fatalf("create scoped credential: %d %s", r.Status, r.Body)
	}
	keyID, secret := r.JSON["key_id"].(string), r.JSON["secret"].(string)
	return f.principalOf(t, keyID, secret, ""), keyID, secret
}

// principalOf runs the token endpoint then the authorizer's check.
func (f *fixture) principalOf(t *testing.T, keyID, secret, scope string) auth.Principal {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {keyID}, "client_secret": {secret}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := testenv.Call(t, f.handler, tokenReq("application/x-www-form-urlencoded", form.Encode(), nil))
	if r.Status != 200 {
		t.Fatalf("token for %s: %d %s", keyID, r.Status, r.Body)
	}
	p, err := f.auth.Authenticate(context.Background(), "Bearer "+r.JSON["access_token"].(string))
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// fullAdmin is the fixture credential's principal (one token request: the
// token route's per-credential limit would refuse one per call).
func (f *fixture) fullAdmin(t *testing.T) *auth.Principal {
	t.Helper()
	if f.full == nil {
		p := f.principalOf(t, f.keyID, f.secret, "")
		f.full = &p
	}
	return f.full
}

func credReq(method, keyID, body string, p *auth.Principal) testenv.REST {
	r := testenv.REST{Method: method, Resource: "/v1/credentials", Path: "/v1/credentials", Body: body, Principal: p}
	if keyID != "" {
		r.Resource, r.Path, r.PathParams = "/v1/credentials/{key_id}", "/v1/credentials/"+keyID, map[string]string{"key_id": keyID}
	}
	return r
}

// TestScopedCredential: a credential's scopes reach its tokens, the token
// endpoint narrows on request and refuses more, and an existing
// (bootstrap) credential keeps full rights.
func TestScopedCredential(t *testing.T) {
	f := newFixture(t)
	if got := f.fullAdmin(t).Scopes; !reflect.DeepEqual(got, auth.Scopes{auth.ScopeAdmin}) {
		t.Fatalf("bootstrap credential's token scopes %v, want admin", got)
	}
	p, keyID, secret := f.scopedAdmin(t, "users:read", "jobs:write")
	if want := (auth.Scopes{auth.ScopeJobsWrite, auth.ScopeUsersRead}); !reflect.DeepEqual(p.Scopes, want) {
		t.Fatalf("scoped token: %v, want %v", p.Scopes, want)
	}
	if got := f.principalOf(t, keyID, secret, "jobs:write").Scopes; !reflect.DeepEqual(got, auth.Scopes{auth.ScopeJobsWrite}) {
		t.Fatalf("narrowed token: %v", got)
	}
	for _, scope := range []string{"users:write", "admin", "jobs:write nope"} {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {keyID}, "client_secret": {secret}, "scope": {scope}}
		r := testenv.Call(t, f.handler, tokenReq("application/x-www-form-urlencoded", form.Encode(), nil))
		if r.Status != 400 || r.ErrorCode() != "invalid_scope" {
			t.Errorf("token with scope %q: %d %s, want 400 invalid_scope", scope, r.Status, r.Body)
		}
	}
	// A scoped token cannot mint user tokens (tokens:write), at the edge.
	r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/users/{user_id}/tokens", Path: "/v1/users/bob/tokens",
		PathParams: map[string]string{"user_id": "bob"}, Principal: &p})
	if r.Status != 403 || r.ErrorCode() != "scope_required" {
		t.Fatalf("user token without tokens:write: %d %s", r.Status, r.Body)
	}
}

// TestCreateCredentialRefused: unknown, repeated, empty or too many scopes,
// escalation beyond the creator's scopes, and no credentials:write; each
// gets its documented code and writes nothing.
func TestCreateCredentialRefused(t *testing.T) {
	f := newFixture(t)
	narrow, _, _ := f.scopedAdmin(t, "credentials:write", "jobs:write")
	reader, _, _ := f.scopedAdmin(t, "credentials:read")
	tooMany := `["` + strings.Repeat(`users:read","`, 33) + `users:read"]`
	tests := []struct {
		name   string
		p      auth.Principal
		body   string
		status int
		code   string
	}{
		{"unknown scope", *f.fullAdmin(t), `{"scopes":["users:read","root"]}`, 400, "invalid_scope"},
		{"scope in another case", *f.fullAdmin(t), `{"scopes":["Users:Read"]}`, 400, "invalid_scope"},
		{"repeated scope", *f.fullAdmin(t), `{"scopes":["users:read","users:read"]}`, 400, "invalid_scope"},
		{"empty list", *f.fullAdmin(t), `{"scopes":[]}`, 400, "invalid_scope"},
		{"oversized list", *f.fullAdmin(t), `{"scopes":` + tooMany + `}`, 400, "invalid_scope"},
		{"not a list", *f.fullAdmin(t), `{"scopes":"users:read"}`, 400, "validation_failed"},
		{"escalation: a scope the creator lacks", narrow, `{"scopes":["users:write"]}`, 403, "forbidden"},
		{"escalation: admin", narrow, `{"scopes":["admin"]}`, 403, "forbidden"},
		{"no credentials:write", reader, `{"scopes":["credentials:read"]}`, 403, "scope_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.listAll(t)
			r := testenv.Call(t, f.handler, credReq("POST", "", tc.body, &tc.p))
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if after := f.listAll(t); len(after) != len(before) {
				t.Fatalf("a refused create wrote: %d credentials, was %d", len(after), len(before))
			}
		})
	}
	// Within its own scopes, and without a list (the creator's own), works.
	for _, body := range []string{`{"scopes":["jobs:write"]}`, `{"name":"same as me"}`} {
		r := testenv.Call(t, f.handler, credReq("POST", "", body, &narrow))
		if r.Status != 201 || r.JSON["created_by"] != narrow.KeyID {
			t.Fatalf("create %s: %d %s", body, r.Status, r.Body)
		}
		if body == `{"name":"same as me"}` && !reflect.DeepEqual(r.JSON["scopes"], []any{"credentials:write", "jobs:write"}) {
			t.Fatalf("default scopes %v, want the creator's", r.JSON["scopes"])
		}
	}
}

// listAll pages through GET /v1/credentials with a full-rights token.
func (f *fixture) listAll(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 100 {
		req := credReq("GET", "", "", f.fullAdmin(t))
		req.Query = map[string]string{"limit": "2"}
		if cursor != "" {
			req.Query["cursor"] = cursor
		}
		r := testenv.Call(t, f.handler, req)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		for _, c := range r.JSON["credentials"].([]any) {
			out = append(out, c.(map[string]any))
		}
		next, _ := r.JSON["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("listing did not end in 100 pages")
	return nil
}

// TestListCredentials: listed without secrets, paged, scope-checked; a
// bad cursor or limit is refused.
func TestListCredentials(t *testing.T) {
	f := newFixture(t)
	f.scopedAdmin(t, "users:read")
	f.scopedAdmin(t, "audit:read")
	all := f.listAll(t)
	if len(all) < 3 {
		t.Fatalf("listed %d credentials, want at least 3", len(all))
	}
	for _, c := range all {
		if _, ok := c["secret"]; ok {
			t.Fatalf("listing shows a secret: %v", c)
		}
		if _, ok := c["secret_hash"]; ok {
			t.Fatalf("listing shows a secret hash: %v", c)
		}
	}
	noRead, _, _ := f.scopedAdmin(t, "credentials:write")
	tests := []struct {
		name  string
		p     *auth.Principal
		query map[string]string
		code  string
	}{
		{"no credentials:read", &noRead, nil, "scope_required"},
		{"user token", testenv.User("u"), nil, "forbidden"},
		{"made-up cursor", f.fullAdmin(t), map[string]string{"cursor": "not-a-cursor"}, "invalid_cursor"},
		{"limit too large", f.fullAdmin(t), map[string]string{"limit": "101"}, "limit_out_of_range"},
	}
	for _, tc := range tests {
		req := credReq("GET", "", "", tc.p)
		req.Query = tc.query
		if r := testenv.Call(t, f.handler, req); r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, r.Status, r.Body, tc.code)
		}
	}
}

// TestDisableAndDeleteCredential: disabling stops the credential's live
// tokens at their next request and enabling restores them; deleting is
// for good; a credential cannot change itself or a wider one.
func TestDisableAndDeleteCredential(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	full := f.fullAdmin(t)
	victim, victimKey, victimSecret := f.scopedAdmin(t, "users:read")
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {victimKey}, "client_secret": {victimSecret}}.Encode()
	tok := testenv.Call(t, f.handler, tokenReq("application/x-www-form-urlencoded", form, nil)).JSON["access_token"].(string)

	r := testenv.Call(t, f.handler, credReq("PATCH", victimKey, `{"disabled":true}`, full))
	if r.Status != 200 || r.JSON["disabled"] != true {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if _, err := f.auth.Authenticate(ctx, "Bearer "+tok); err == nil {
		t.Fatal("a disabled credential's live token still authenticates")
	}
	if r := testenv.Call(t, f.handler, tokenReq("application/x-www-form-urlencoded", form, nil)); r.ErrorCode() != "invalid_client" {
		t.Fatalf("a disabled credential got a token: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, credReq("PATCH", victimKey, `{"disabled":false}`, full)); r.Status != 200 || r.JSON["disabled"] != false {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	if p, err := f.auth.Authenticate(ctx, "Bearer "+tok); err != nil || p.KeyID != victim.KeyID {
		t.Fatalf("re-enabled credential's token: %+v %v", p, err)
	}

	narrow, _, _ := f.scopedAdmin(t, "credentials:write", "users:read")
	refusals := []struct {
		name, method, keyID, body string
		p                         *auth.Principal
		status                    int
		code                      string
	}{
		{"disable itself", "PATCH", full.KeyID, `{"disabled":true}`, full, 403, "forbidden"},
		{"delete itself", "DELETE", full.KeyID, "", full, 403, "forbidden"},
		{"disable a wider credential", "PATCH", full.KeyID, `{"disabled":true}`, &narrow, 403, "forbidden"},
		{"delete a wider credential", "DELETE", full.KeyID, "", &narrow, 403, "forbidden"},
		{"without credentials:write", "DELETE", narrow.KeyID, "", &victim, 403, "scope_required"},
		{"unknown key id", "PATCH", "tk_0000", `{"disabled":true}`, full, 404, "not_found"},
		{"malformed key id", "DELETE", "TK#1", "", full, 400, "invalid_id"},
		{"missing disabled", "PATCH", victimKey, `{}`, full, 400, "validation_failed"},
		{"null disabled", "PATCH", victimKey, `{"disabled":null}`, full, 400, "validation_failed"},
	}
	for _, tc := range refusals {
		if r := testenv.Call(t, f.handler, credReq(tc.method, tc.keyID, tc.body, tc.p)); r.Status != tc.status || r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
		}
	}
	if c, _ := f.env.Stores().Credentials.GetCredential(ctx, full.KeyID); c == nil || c.Revoked {
		t.Fatalf("a refused request changed the credential: %+v", c)
	}

	// A narrower credential may delete one within its scopes.
	if r := testenv.Call(t, f.handler, credReq("DELETE", victimKey, "", &narrow)); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if _, err := f.auth.Authenticate(ctx, "Bearer "+tok); err == nil {
		t.Fatal("a deleted credential's token still authenticates")
	}
	if r := testenv.Call(t, f.handler, credReq("DELETE", victimKey, "", full)); r.Status != 404 {
		t.Fatalf("second delete: %d %s", r.Status, r.Body)
	}
	for _, c := range f.listAll(t) {
		if c["key_id"] == victimKey {
			t.Fatal("deleted credential still listed")
		}
	}
}
