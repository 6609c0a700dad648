package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"maps"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/idtoken"
	"github.com/tokenim/tokenim/shared/idtoken/idtokentest"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

type exchangeFixture struct {
	*fixture
	pool  *idtokentest.Pool
	db    testenv.Stores
	users *users.Service
	now   time.Time
}

// newExchangeFixture serves token exchange for a fresh fake user pool;
// db is the store the handler uses (zero: the backend's; pass DynamoDB
// adapters over a counted config to count requests).
func newExchangeFixture(t *testing.T, m signup.Mapping, db testenv.Stores) *exchangeFixture {
	t.Helper()
	f := newFixture(t)
	if db.Users == nil {
		db = f.env.Stores()
	}
	pool := idtokentest.New(t)
	now := time.Now()
	v, err := idtoken.New(pool.Config(now))
	if err != nil {
		t.Fatal(err)
	}
	svc := users.NewService(db.Users, f.env.Cursors, nil)
	f.handler = NewHandler(f.auth, auth.NewCredentials(f.env.Stores().Credentials, nil), Exchange{Verifier: v, Users: svc, Mapping: m}, nil, logging.NewTo(io.Discard, "token")).Handle
	return &exchangeFixture{fixture: f, pool: pool, db: db, users: svc, now: now}
}

// idToken is a valid ID token for sub, changed by mutate.
func (f *exchangeFixture) idToken(t *testing.T, sub string, mutate func(jwt.MapClaims)) string {
	t.Helper()
	c := f.pool.Claims(sub, f.now)
	if mutate != nil {
		mutate(c)
	}
	return f.pool.Sign(t, c)
}

func exchangeForm(token string, extra url.Values) testenv.REST {
	v := url.Values{"grant_type": {grantTokenExchange}, "subject_token": {token}, "subject_token_type": {typeIDToken}}
	for k, vals := range extra {
		v[k] = vals
	}
	return tokenReq("application/x-www-form-urlencoded", v.Encode(), nil)
}

func exchangeJSON(token string) testenv.REST {
	return tokenReq("application/json", `{"grant_type":"`+grantTokenExchange+`","subject_token":"`+token+`","subject_token_type":"`+typeIDToken+`"}`, nil)
}

// checkIssued asserts r is a successful exchange for userID whose token
// the authorizer accepts, and returns the user.
func (f *exchangeFixture) checkIssued(t *testing.T, r testenv.Reply, userID string) users.User {
	t.Helper()
	if r.Status != 200 || r.JSON["user_id"] != userID || r.JSON["token_type"] != "Bearer" ||
		r.JSON["issued_token_type"] != typeAccessToken || r.JSON["expires_in"] != float64(auth.DefaultUserTTL/time.Second) {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	if r.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("token response is cacheable: %v", r.Headers)
	}
	p, err := f.auth.Authenticate(context.Background(), "Bearer "+r.JSON["access_token"].(string))
	if err != nil || p.Kind != auth.KindUser || p.UserID != userID {
		t.Fatalf("issued token does not authenticate as %s: %+v %v", userID, p, err)
	}
	u, err := f.db.Users.GetUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTokenExchange(t *testing.T) {
	f := newExchangeFixture(t, signup.Mapping{MetadataAttributes: []string{"custom:team", "email_verified"}}, testenv.Stores{})
	sub := testenv.ID("sub")
	tok := f.idToken(t, sub, func(c jwt.MapClaims) {
		c["name"] = "Ada Lovelace"
		c["picture"] = "https://example.com/ada.png"
		c["custom:team"] = "blue"
	})
	first := f.checkIssued(t, testenv.Call(t, f.handler, exchangeForm(tok, nil)), sub)
	want := users.User{UserID: sub, Nickname: "Ada Lovelace", AvatarURL: "https://example.com/ada.png",
		Metadata: map[string]string{"custom:team": "blue", "email_verified": "true"}, Source: signup.CognitoSource(f.pool.PoolID, sub)}
	if first.Nickname != want.Nickname || first.AvatarURL != want.AvatarURL || !reflect.DeepEqual(first.Metadata, want.Metadata) ||
		first.Source != want.Source || first.Gen == 0 {
		t.Fatalf("created user %+v, want %+v", first, want)
	}
	// Again (JSON this time, and a changed profile): the same user, not
	// created again; the exchange does not edit the profile.
	tok2 := f.idToken(t, sub, func(c jwt.MapClaims) { c["name"] = "Someone Else" })
	again := f.checkIssued(t, testenv.Call(t, f.handler, exchangeJSON(tok2)), sub)
	if !reflect.DeepEqual(again, first) {
		t.Fatalf("second exchange changed the user: %+v, was %+v", again, first)
	}

	t.Run("user the trigger already created", func(t *testing.T) {
		sub := testenv.ID("sub")
		m := signup.Mapping{}
		in, _, err := m.Account(signup.CognitoSource(f.pool.PoolID, sub), map[string]string{"sub": sub, "name": "Trig"})
		if err != nil {
			t.Fatal(err)
		}
		made, _, err := f.users.Ensure(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		got := f.checkIssued(t, testenv.Call(t, f.handler, exchangeForm(f.idToken(t, sub, nil), nil)), sub)
		if got.Gen != made.Gen || got.Nickname != "Trig" {
			t.Fatalf("exchange replaced the trigger's user: %+v, was %+v", got, made)
		}
	})
	t.Run("preferred_username when no name, requested type given", func(t *testing.T) {
		sub := testenv.ID("sub")
		tok := f.idToken(t, sub, func(c jwt.MapClaims) { c["preferred_username"] = "ada" })
		u := f.checkIssued(t, testenv.Call(t, f.handler, exchangeForm(tok, url.Values{"requested_token_type": {typeAccessToken}})), sub)
		if u.Nickname != "ada" {
			t.Fatalf("nickname %q", u.Nickname)
		}
	})
}

func TestTokenExchangeWithIDAttribute(t *testing.T) {
	f := newExchangeFixture(t, signup.Mapping{IDAttribute: "custom:chat_id"}, testenv.Stores{})
	chatID := testenv.ID("chat")
	tok := f.idToken(t, testenv.ID("sub"), func(c jwt.MapClaims) { c["custom:chat_id"] = chatID })
	f.checkIssued(t, testenv.Call(t, f.handler, exchangeForm(tok, nil)), chatID)
	r := testenv.Call(t, f.handler, exchangeForm(f.idToken(t, testenv.ID("sub"), nil), nil))
	if r.Status != 400 || r.ErrorCode() != "invalid_grant" {
		t.Fatalf("token without the id attribute: %d %s", r.Status, r.Body)
	}
}

// TestTokenExchangeConcurrent: parallel first exchanges for one new user
// all succeed, for one user.
func TestTokenExchangeConcurrent(t *testing.T) {
	f := newExchangeFixture(t, signup.Mapping{}, testenv.Stores{})
	sub := testenv.ID("sub")
	tok := f.idToken(t, sub, nil)
	replies := make([]testenv.Reply, 5)
	t.Run("group", func(t *testing.T) {
		for i := range replies {
			t.Run("", func(t *testing.T) {
				t.Parallel()
				replies[i] = testenv.Call(t, f.handler, exchangeForm(tok, nil))
			})
		}
	})
	gens := map[int64]bool{}
	for _, r := range replies {
		gens[f.checkIssued(t, r, sub).Gen] = true
	}
	if len(gens) != 1 {
		t.Fatalf("concurrent exchanges saw %d incarnations of the user", len(gens))
	}
}

// TestTokenExchangeRefused tries to break every rule; each refusal
// writes nothing and never echoes the token.
func TestTokenExchangeRefused(t *testing.T) {
	f := newExchangeFixture(t, signup.Mapping{}, testenv.Stores{})
	p := f.pool
	der, err := x509.MarshalPKIXPublicKey(&p.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	claims := func(sub string, mutate func(jwt.MapClaims)) jwt.MapClaims {
		c := p.Claims(sub, f.now)
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	signed := func(mutate func(jwt.MapClaims)) func(sub string) string {
		return func(sub string) string { return p.Sign(t, claims(sub, mutate)) }
	}
	with := func(m jwt.SigningMethod, key any, kid string) func(sub string) string {
		return func(sub string) string { return idtokentest.SignWith(t, m, key, kid, claims(sub, nil)) }
	}
	otherKey := idtokentest.NewKey(t)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.keyID+":"+f.secret))
	tests := []struct {
		name   string
		token  func(sub string) string
		req    func(token string) testenv.REST // default: exchangeForm(token, nil)
		status int
		code   string
	}{
		{"alg none", with(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, p.KID), nil, 400, "invalid_grant"},
		{"HS256 keyed with the public key", with(jwt.SigningMethodHS256, pubPEM, p.KID), nil, 400, "invalid_grant"},
		{"RS512", with(jwt.SigningMethodRS512, p.Key, p.KID), nil, 400, "invalid_grant"},
		{"wrong RSA key, same kid", with(jwt.SigningMethodRS256, otherKey, p.KID), nil, 400, "invalid_grant"},
		{"unknown kid", with(jwt.SigningMethodRS256, otherKey, "kid-unknown"), nil, 400, "invalid_grant"},
		{"expired", signed(func(c jwt.MapClaims) { c["exp"] = f.now.Add(-time.Minute).Unix() }), nil, 400, "invalid_grant"},
		{"nbf in the future", signed(func(c jwt.MapClaims) { c["nbf"] = f.now.Add(time.Minute).Unix() }), nil, 400, "invalid_grant"},
		{"wrong iss", signed(func(c jwt.MapClaims) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil" }), nil, 400, "invalid_grant"},
		{"wrong aud", signed(func(c jwt.MapClaims) { c["aud"] = "client-evil" }), nil, 400, "invalid_grant"},
		{"access token", signed(func(c jwt.MapClaims) { c["token_use"] = "access" }), nil, 400, "invalid_grant"},
		{"missing sub", signed(func(c jwt.MapClaims) { delete(c, "sub") }), nil, 400, "invalid_grant"},
		{"sub not a valid user id", func(sub string) string { return p.Sign(t, claims(sub+"#x", nil)) }, nil, 400, "invalid_grant"},
		{"malformed", func(string) string { return "not.a.jwt" }, nil, 400, "invalid_grant"},
		{"missing subject_token", signed(nil), func(string) testenv.REST {
			return tokenReq("application/x-www-form-urlencoded", url.Values{"grant_type": {grantTokenExchange}, "subject_token_type": {typeIDToken}}.Encode(), nil)
		}, 400, "invalid_request"},
		{"missing subject_token_type", signed(nil), func(tok string) testenv.REST {
			return tokenReq("application/x-www-form-urlencoded", url.Values{"grant_type": {grantTokenExchange}, "subject_token": {tok}}.Encode(), nil)
		}, 400, "invalid_request"},
		{"access-token subject type", signed(nil), func(tok string) testenv.REST {
			return exchangeForm(tok, url.Values{"subject_token_type": {typeAccessToken}})
		}, 400, "invalid_request"},
		{"refresh token requested", signed(nil), func(tok string) testenv.REST {
			return exchangeForm(tok, url.Values{"requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"}})
		}, 400, "invalid_request"},
		{"actor token", signed(nil), func(tok string) testenv.REST { return exchangeForm(tok, url.Values{"actor_token": {tok}}) }, 400, "invalid_request"},
		{"repeated subject_token", signed(nil), func(tok string) testenv.REST {
			return exchangeForm(tok, url.Values{"subject_token": {tok, tok}})
		}, 400, "invalid_request"},
		{"client credentials in the body", signed(nil), func(tok string) testenv.REST {
			return exchangeForm(tok, url.Values{"client_id": {f.keyID}, "client_secret": {f.secret}})
		}, 400, "invalid_request"},
		{"client id alone", signed(nil), func(tok string) testenv.REST { return exchangeForm(tok, url.Values{"client_id": {p.ClientID}}) }, 400, "invalid_request"},
		{"client credentials via Basic", signed(nil), func(tok string) testenv.REST {
			r := exchangeForm(tok, nil)
			r.Headers["Authorization"] = basic
			return r
		}, 400, "invalid_request"},
		{"client credentials in JSON", signed(nil), func(tok string) testenv.REST {
			return tokenReq("application/json", `{"grant_type":"`+grantTokenExchange+`","subject_token":"`+tok+`","subject_token_type":"`+typeIDToken+`","client_id":"`+f.keyID+`","client_secret":"`+f.secret+`"}`, nil)
		}, 400, "invalid_request"},
		{"JSON actor_token", signed(nil), func(tok string) testenv.REST {
			return tokenReq("application/json", `{"grant_type":"`+grantTokenExchange+`","subject_token":"`+tok+`","subject_token_type":"`+typeIDToken+`","actor_token":"x"}`, nil)
		}, 400, "unknown_field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := testenv.ID("sub")
			tok := tc.token(sub)
			req := exchangeForm(tok, nil)
			if tc.req != nil {
				req = tc.req(tok)
			}
			r := testenv.Call(t, f.handler, req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if parts := strings.Split(tok, "."); len(parts) == 3 && len(parts[1]) > 8 && strings.Contains(r.Body, parts[1]) {
				t.Fatalf("error echoes the token: %s", r.Body)
			}
			if gen, err := f.db.Users.UserGen(context.Background(), sub); err != nil || gen != 0 {
				t.Fatalf("refused exchange created user %s (gen %d, %v)", sub, gen, err)
			}
		})
	}
}

// TestTokenExchangeOtherIdentity: an id that belongs to another identity
// is refused (403) and that user is left as it was.
func TestTokenExchangeOtherIdentity(t *testing.T) {
	f := newExchangeFixture(t, signup.Mapping{IDAttribute: "preferred_username"}, testenv.Stores{})
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(id string) // makes user id belong to someone else
	}{
		{"user made over REST", func(id string) {
			if _, _, err := f.users.Create(ctx, *testenv.Admin(), users.CreateInput{UserID: id, Profile: users.Profile{Nickname: "Owner"}}, ""); err != nil {
				t.Fatal(err)
			}
		}},
		{"user of another pool", func(id string) {
			if _, _, err := f.users.Ensure(ctx, users.CreateInput{UserID: id, Source: signup.CognitoSource("us-east-1_Other", id)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"user of another sub in this pool", func(id string) {
			other := f.idToken(t, testenv.ID("sub"), func(c jwt.MapClaims) { c["preferred_username"] = id })
			f.checkIssued(t, testenv.Call(t, f.handler, exchangeForm(other, nil)), id)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := testenv.ID("victim")
			tc.setup(id)
			before, err := f.db.Users.GetUser(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			tok := f.idToken(t, testenv.ID("sub"), func(c jwt.MapClaims) { c["preferred_username"] = id; c["name"] = "Mallory" })
			r := testenv.Call(t, f.handler, exchangeForm(tok, nil))
			if r.Status != 403 || r.ErrorCode() != "forbidden" {
				t.Fatalf("got %d %s, want 403 forbidden", r.Status, r.Body)
			}
			after, err := f.db.Users.GetUser(ctx, id)
			if err != nil || !reflect.DeepEqual(after, before) {
				t.Fatalf("victim changed: %+v, was %+v (%v)", after, before, err)
			}
		})
	}
}

func TestTokenExchangeDisabled(t *testing.T) {
	f := newFixture(t) // Exchange{}: COGNITO_ISSUER empty
	disabled, err := idtoken.New(idtoken.Config{})
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]any{
		"no exchange wired": f.handler,
		"empty issuer":      NewHandler(f.auth, nil, Exchange{Verifier: disabled}, nil, logging.NewTo(io.Discard, "token")).Handle,
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			r := testenv.Call(t, h, exchangeForm("a.b.c", nil))
			if r.Status != 400 || r.ErrorCode() != "unsupported_grant_type" || !strings.Contains(r.Body, "not configured") {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestTokenExchangeRequestCounts pins the DynamoDB cost of an exchange:
// one conditional PutItem (users.Service.Ensure), first time or not; the
// token carries the generation that write returns, so nothing is read.
// A refused token costs nothing.
func TestTokenExchangeRequestCounts(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	cfg, counter := env.Counted()
	d := env.DB(cfg)
	f := newExchangeFixture(t, signup.Mapping{}, testenv.Stores{Users: d.Users, Credentials: d.Credentials})
	sub := testenv.ID("sub")
	tests := []struct {
		name  string
		token string
		want  map[string]int
	}{
		{"first exchange", f.idToken(t, sub, nil), map[string]int{"DynamoDB.PutItem": 1}},
		{"repeat exchange", f.idToken(t, sub, nil), map[string]int{"DynamoDB.PutItem": 1}},
		{"refused token", f.idToken(t, sub, func(c jwt.MapClaims) { c["aud"] = "client-evil" }), map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counter.Reset()
			testenv.Call(t, f.handler, exchangeForm(tc.token, nil))
			if got := counter.Snapshot().Requests; !maps.Equal(got, tc.want) {
				t.Fatalf("requests %v, want %v", got, tc.want)
			}
		})
	}
}
