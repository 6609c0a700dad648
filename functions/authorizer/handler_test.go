package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env     *testenv.Env
	h       *Handler
	users   *users.Service
	auth    *auth.Service
	logs    *bytes.Buffer
	keyID   string
	adminOK string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	a := auth.NewService(env.Tokens, db.Credentials, db.Users)
	logs := &bytes.Buffer{}
	f := &fixture{env: env, h: NewHandler(a, logging.NewTo(logs, "authorizer")), users: users.NewService(db.Users, env.Cursors, nil), auth: a, logs: logs}
	c, secret, err := a.CreateCredential(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	f.keyID = c.KeyID
	issued, err := a.ClientCredentials(context.Background(), c.KeyID, secret, "")
	if err != nil {
		t.Fatal(err)
	}
	f.adminOK = issued.Token
	return f
}

func (f *fixture) newUser(t *testing.T) (string, string) {
	t.Helper()
	id := testenv.ID("u")
	admin := auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID}
	if _, _, err := f.users.Create(context.Background(), admin, users.CreateInput{UserID: id}, ""); err != nil {
		t.Fatal(err)
	}
	tok, err := f.auth.IssueUserToken(context.Background(), admin, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return id, tok.Token
}

// authorize invokes the authorizer as Lambda does and returns its reply, or
// the error message Lambda would report.
func (f *fixture) authorize(t *testing.T, mutate func(*events.APIGatewayCustomAuthorizerRequestTypeRequest)) (events.APIGatewayCustomAuthorizerResponse, string) {
	t.Helper()
	var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
	testenv.Fixture(t, "authorizer-request.json", &ev)
	mutate(&ev)
	payload, _ := json.Marshal(ev)
	reply, err := lambda.NewHandler(f.h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err.Error()
	}
	var out events.APIGatewayCustomAuthorizerResponse
	if err := json.Unmarshal(reply, &out); err != nil {
		t.Fatal(err)
	}
	return out, ""
}

func header(tok string) func(*events.APIGatewayCustomAuthorizerRequestTypeRequest) {
	return func(ev *events.APIGatewayCustomAuthorizerRequestTypeRequest) { ev.Headers["Authorization"] = tok }
}

func sign(t *testing.T, key []byte, method jwt.SigningMethod, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAllows checks the good paths and the context handed to handlers.
func TestAllows(t *testing.T) {
	f := newFixture(t)
	id, tok := f.newUser(t)
	tests := []struct {
		name   string
		mutate func(*events.APIGatewayCustomAuthorizerRequestTypeRequest)
		want   auth.Principal
	}{
		{"user bearer", header("Bearer " + tok), auth.Principal{Kind: auth.KindUser, UserID: id}},
		{"user lower-case bearer", header("bearer " + tok), auth.Principal{Kind: auth.KindUser, UserID: id}},
		{"admin bearer", header("Bearer " + f.adminOK), auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID, Scopes: auth.Scopes{auth.ScopeAdmin}}},
		{"websocket query token", func(ev *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
			delete(ev.Headers, "Authorization")
			ev.QueryStringParameters = map[string]string{"token": tok}
		}, auth.Principal{Kind: auth.KindUser, UserID: id}},
		{"websocket subprotocol token", func(ev *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
			delete(ev.Headers, "Authorization")
			ev.Headers["Sec-WebSocket-Protocol"] = "tokenim, " + tok
		}, auth.Principal{Kind: auth.KindUser, UserID: id}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errMsg := f.authorize(t, tc.mutate)
			if errMsg != "" {
				t.Fatalf("denied: %s", errMsg)
			}
			st := out.PolicyDocument.Statement
			if len(st) != 1 || st[0].Effect != "Allow" || st[0].Resource[0] != "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v1/users/alice" {
				t.Fatalf("policy %+v", out.PolicyDocument)
			}
			got, err := auth.FromContextFields(out.Context)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("context principal %+v (%v), want %+v", got, err, tc.want)
			}
		})
	}
	if strings.Contains(f.logs.String(), tok) || strings.Contains(f.logs.String(), f.adminOK) {
		t.Fatal("a token reached the logs")
	}
}

// TestDenies tries to break every token rule: none may be an Allow. No
// token is "Unauthorized" (401 unauthorized); a token that is not valid is
// a Deny on REST (ACCESS_DENIED: 401 invalid_token) and "Unauthorized" on
// a WebSocket $connect, which has no gateway responses.
func TestDenies(t *testing.T) {
	f := newFixture(t)
	id, tok := f.newUser(t)
	deletedID, deletedTok := f.newUser(t)
	admin := auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID}
	if err := f.users.Delete(context.Background(), admin, deletedID); err != nil {
		t.Fatal(err)
	}
	// Recreating the id must not revive the old token.
	if _, _, err := f.users.Create(context.Background(), admin, users.CreateInput{UserID: deletedID}, ""); err != nil {
		t.Fatal(err)
	}
	revokedKey, revokedSecret, err := f.auth.CreateCredential(context.Background(), "revoked")
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := f.auth.ClientCredentials(context.Background(), revokedKey.KeyID, revokedSecret, "")
	if err != nil {
		t.Fatal(err)
	}
	f.env.Revoke(t, revokedKey.KeyID)
	jwtKey := jwtKeyOf(t, f)
	now := time.Now()
	claims := func(aud, iss string, exp time.Time) jwt.Claims {
		return auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: id, Issuer: iss, Audience: jwt.ClaimStrings{aud},
			IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(exp)}, Gen: genOf(t, f, id)}
	}
	good := claims(auth.AudienceUser, "tokenim", now.Add(time.Hour))
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else","aud":["tokenim:user"],"iss":"tokenim","exp":9999999999,"iat":1}`)) + "." + parts[2]
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + strings.Split(sign(t, jwtKey, jwt.SigningMethodHS256, good), ".")[1] + "."
	tests := []struct {
		name   string
		header string
	}{
		{"no token", ""},
		{"Bearer without a token", "Bearer"},
		{"Bearer and spaces", "Bearer   "},
		{"not a jwt", "Bearer hello"},
		{"expired", "Bearer " + sign(t, jwtKey, jwt.SigningMethodHS256, claims(auth.AudienceUser, "tokenim", now.Add(-time.Hour)))},
		{"no expiry", "Bearer " + sign(t, jwtKey, jwt.SigningMethodHS256, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: id, Issuer: "tokenim", Audience: jwt.ClaimStrings{auth.AudienceUser}}, Gen: genOf(t, f, id)})},
		{"tampered payload", "Bearer " + tampered},
		{"alg none", "Bearer " + noneTok},
		{"HS256 with the wrong key", "Bearer " + sign(t, []byte("0123456789abcdef0123456789abcdef-wrong"), jwt.SigningMethodHS256, good)},
		{"HS512 with the right key", "Bearer " + sign(t, jwtKey, jwt.SigningMethodHS512, good)},
		{"wrong audience", "Bearer " + sign(t, jwtKey, jwt.SigningMethodHS256, claims("someone-else", "tokenim", now.Add(time.Hour)))},
		{"wrong issuer", "Bearer " + sign(t, jwtKey, jwt.SigningMethodHS256, claims(auth.AudienceUser, "evil", now.Add(time.Hour)))},
		{"deleted (and recreated) user", "Bearer " + deletedTok},
		{"user token claiming admin audience", "Bearer " + sign(t, jwtKey, jwt.SigningMethodHS256, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: id, Issuer: "tokenim", Audience: jwt.ClaimStrings{auth.AudienceAdmin}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}})},
	}
	tests = append(tests, struct {
		name   string
		header string
	}{"revoked credential", "Bearer " + revoked.Token})
	const restArn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v1/users/alice"
	const wsArn = "arn:aws:execute-api:us-east-1:123456789012:ws123/prod/$connect"
	for _, tc := range tests {
		for _, arn := range []string{restArn, wsArn} {
			t.Run(tc.name+" "+arn[strings.LastIndex(arn, ":")+1:], func(t *testing.T) {
				out, errMsg := f.authorize(t, func(ev *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
					header(tc.header)(ev)
					ev.MethodArn = arn
				})
				if strings.TrimSpace(strings.TrimPrefix(tc.header, "Bearer")) == "" || arn == wsArn {
					if errMsg != "Unauthorized" {
						t.Fatalf("got %+v / %q, want Unauthorized", out, errMsg)
					}
					return
				}
				st := out.PolicyDocument.Statement
				if errMsg != "" || out.PrincipalID == "" || len(st) != 1 || st[0].Effect != "Deny" || len(st[0].Resource) != 1 || st[0].Resource[0] != arn {
					t.Fatalf("got %+v / %q, want a Deny of %s", out, errMsg, arn)
				}
			})
		}
	}
	// The good token still works (so the table above is not vacuous).
	if _, errMsg := f.authorize(t, header("Bearer "+tok)); errMsg != "" {
		t.Fatalf("valid token denied: %s", errMsg)
	}
}

// jwtKeyOf recovers the derived JWT key the same way config.Keys does.
func jwtKeyOf(t *testing.T, f *fixture) []byte {
	t.Helper()
	return testenv.JWTKey(f.env.SigningKey)
}

func genOf(t *testing.T, f *fixture, id string) int64 {
	t.Helper()
	g, err := f.env.Stores().Users.UserGen(context.Background(), id)
	if err != nil || g == 0 {
		t.Fatalf("gen of %s: %d %v", id, g, err)
	}
	return g
}
