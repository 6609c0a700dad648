package main

import (
	"context"
	"encoding/base64"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env           *testenv.Env
	handler       any
	auth          *auth.Service
	keyID, secret string
	full          *auth.Principal // fullAdmin's, once
	log           *memstore.Audit
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	a := auth.NewService(env.Tokens, db.Credentials, db.Users)
	c, secret, err := a.CreateCredential(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	// The audit log is the memory one on both tiers: the DynamoDB adapter
	// has its contract suite (shared/storetest); here what counts is which
	// entries a request records.
	log := memstore.NewAudit()
	rec := audit.NewRecorder(log, 0, logging.NewTo(io.Discard, "token"), nil)
	return &fixture{env: env, handler: NewHandler(a, auth.NewCredentials(db.Credentials, nil), Exchange{}, rec, logging.NewTo(io.Discard, "token")).Handle,
		auth: a, keyID: c.KeyID, secret: secret, log: log}
}

func tokenReq(contentType, body string, headers map[string]string) testenv.REST {
	h := map[string]string{"Content-Type": contentType}
	for k, v := range headers {
		h[k] = v
	}
	return testenv.REST{Method: "POST", Resource: "/v1/auth/token", Path: "/v1/auth/token", Headers: h, Body: body}
}

// TestRoutesMatchTemplate reads template.yaml only: it provisions nothing.
func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, nil, Exchange{}, nil, logging.NewTo(io.Discard, "token"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("TokenFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.keyID}, "client_secret": {f.secret}}.Encode()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(f.keyID)+":"+url.QueryEscape(f.secret)))
	wrongBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.keyID+":nope"))
	tests := []struct {
		name   string
		req    testenv.REST
		status int
		code   string
	}{
		{"form post", tokenReq("application/x-www-form-urlencoded", form, nil), 200, ""},
		{"json post", tokenReq("application/json", `{"grant_type":"client_credentials","client_id":"`+f.keyID+`","client_secret":"`+f.secret+`"}`, nil), 200, ""},
		{"basic auth", tokenReq("application/x-www-form-urlencoded", "grant_type=client_credentials", map[string]string{"Authorization": basic}), 200, ""},
		{"wrong secret", tokenReq("application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.keyID}, "client_secret": {"tks_wrong"}}.Encode(), nil), 401, "invalid_client"},
		{"wrong secret via basic", tokenReq("application/x-www-form-urlencoded", "grant_type=client_credentials", map[string]string{"Authorization": wrongBasic}), 401, "invalid_client"},
		{"unknown key id", tokenReq("application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}, "client_id": {"tk_unknown"}, "client_secret": {f.secret}}.Encode(), nil), 401, "invalid_client"},
		{"no credentials", tokenReq("application/x-www-form-urlencoded", "grant_type=client_credentials", nil), 401, "invalid_client"},
		{"unsupported grant", tokenReq("application/x-www-form-urlencoded", "grant_type=password&username=a&password=b", nil), 400, "unsupported_grant_type"},
		{"missing grant", tokenReq("application/x-www-form-urlencoded", "client_id=x", nil), 400, "invalid_request"},
		{"repeated parameter", tokenReq("application/x-www-form-urlencoded", "grant_type=client_credentials&grant_type=client_credentials", nil), 400, "invalid_request"},
		{"two auth methods", tokenReq("application/x-www-form-urlencoded", form, map[string]string{"Authorization": basic}), 400, "invalid_request"},
		{"wrong content type", tokenReq("text/plain", "grant_type=client_credentials", nil), 415, "unsupported_media_type"},
		{"json unknown field", tokenReq("application/json", `{"grant_type":"client_credentials","admin":true}`, nil), 400, "unknown_field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %q", r.Status, r.Body, tc.status, tc.code)
			}
			if tc.status != 200 {
				return
			}
			if r.Headers["Cache-Control"] != "no-store" || r.JSON["token_type"] != "Bearer" || r.JSON["expires_in"] != float64(3600) {
				t.Fatalf("token response %v %s", r.Headers, r.Body)
			}
			p, err := f.auth.Authenticate(context.Background(), "Bearer "+r.JSON["access_token"].(string))
			if err != nil || p.Kind != auth.KindAdmin || p.KeyID != f.keyID {
				t.Fatalf("issued token does not authenticate as admin: %+v %v", p, err)
			}
		})
	}
}

func TestUserTokens(t *testing.T) {
	f := newFixture(t)
	db := f.env.Stores()
	admin := &auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID}
	id := testenv.ID("tok")
	if _, _, err := users.NewService(db.Users, f.env.Cursors, nil).Create(context.Background(), *admin, users.CreateInput{UserID: id}, ""); err != nil {
		t.Fatal(err)
	}
	issue := func(p *auth.Principal, user, body string) testenv.Reply {
		return testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/users/{user_id}/tokens", Path: "/v1/users/" + user + "/tokens",
			PathParams: map[string]string{"user_id": user}, Body: body, Principal: p})
	}
	r := issue(admin, id, `{"ttl_seconds":600}`)
	if r.Status != 201 || r.JSON["expires_in"] != float64(600) || r.JSON["user_id"] != id {
		t.Fatalf("issue: %d %s", r.Status, r.Body)
	}
	p, err := f.auth.Authenticate(context.Background(), r.JSON["access_token"].(string))
	if err != nil || p.Kind != auth.KindUser || p.UserID != id {
		t.Fatalf("user token: %+v %v", p, err)
	}
	// An admin token is not a user token: it cannot act where a user is required.
	if _, err := admin.User(); err == nil {
		t.Fatal("admin principal accepted as a user")
	}
	tests := []struct {
		name   string
		p      *auth.Principal
		user   string
		body   string
		status int
		code   string
	}{
		{"user mints a token", testenv.User(id), id, "", 403, "forbidden"},
		{"user mints for another", testenv.User(id), "someone", "", 403, "forbidden"},
		{"unknown user", admin, "nobody-" + id, "", 404, "not_found"},
		{"bad id", admin, "a#b", "", 400, "invalid_id"},
		{"ttl too long", admin, id, `{"ttl_seconds":99999999}`, 400, "validation_failed"},
		{"ttl too short", admin, id, `{"ttl_seconds":1}`, 400, "validation_failed"},
		// Issue 12: exact names (5), null only where nullable (6), integers as
		// JSON Schema counts them (11).
		{"ttl null", admin, id, `{"ttl_seconds":null}`, 400, "validation_failed"},
		{"null body", admin, id, `null`, 400, "validation_failed"},
		{"ttl case variant", admin, id, `{"TTL_Seconds":600}`, 400, "unknown_field"},
		{"ttl with a fraction", admin, id, `{"ttl_seconds":600.5}`, 400, "validation_failed"},
		{"ttl written 3600.0", admin, id, `{"ttl_seconds":3600.0}`, 201, ""},
		{"no principal", nil, id, "", 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := issue(tc.p, tc.user, tc.body)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
}

func TestCreateCredential(t *testing.T) {
	f := newFixture(t)
	admin := &auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID}
	r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/credentials", Path: "/v1/credentials", Body: `{"name":"ci"}`, Principal: admin})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	keyID, secret := r.JSON["key_id"].(string), r.JSON["secret"].(string)
	if _, err := f.auth.ClientCredentials(context.Background(), keyID, secret, ""); err != nil {
		t.Fatalf("new credential does not work: %v", err)
	}
	stored, err := f.env.Stores().Credentials.GetCredential(context.Background(), keyID)
	if err != nil || stored == nil || stored.SecretHash == secret || stored.SecretHash != auth.HashSecret(secret) {
		t.Fatalf("secret must be stored only as its hash: %+v %v", stored, err)
	}
	r = testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/credentials", Path: "/v1/credentials", Principal: testenv.User("u")})
	if r.Status != 403 {
		t.Fatalf("user created a credential: %d %s", r.Status, r.Body)
	}
}

// TestCreateCredentialName: the name limit counts characters (Unicode code
// points, as the spec's maxLength does), not bytes (issue 12, defect 7), and
// the body is strict (defects 5, 6).
func TestCreateCredentialName(t *testing.T) {
	f := newFixture(t)
	admin := &auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID}
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"128 two-byte characters", `{"name":"` + strings.Repeat("é", 128) + `"}`, 201, ""},
		{"128 four-byte characters", `{"name":"` + strings.Repeat("😀", 128) + `"}`, 201, ""},
		{"129 characters", `{"name":"` + strings.Repeat("é", 129) + `"}`, 400, "validation_failed"},
		{"null name", `{"name":null}`, 400, "validation_failed"},
		{"null body", `null`, 400, "validation_failed"},
		{"case variant", `{"Name":"x"}`, 400, "unknown_field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/credentials", Path: "/v1/credentials", Body: tc.body, Principal: admin})
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
}

// BenchmarkClientCredentialsFailure compares the two failure paths: an
// unknown key id and a wrong secret run the same hash-and-compare, so
// their times should differ only by noise (run with -count and benchstat).
func BenchmarkClientCredentialsFailure(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.Run("unknown_key_id", func(b *testing.B) {
		for b.Loop() {
			f.auth.ClientCredentials(ctx, "tk_00000000000000000000", f.secret, "")
		}
	})
	b.Run("wrong_secret", func(b *testing.B) {
		for b.Loop() {
			f.auth.ClientCredentials(ctx, f.keyID, "tks_wrongwrongwrongwrongwrongwrongwrongwrongw", "")
		}
	})
}
