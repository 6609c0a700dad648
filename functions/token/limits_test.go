package main

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// TestTokenRouteLimits: the per-credential and per-address limits of the
// token endpoint trigger with 429, Retry-After and retry_after_ms, and
// recover with time; another address or credential is not affected.
func TestTokenRouteLimits(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	h := newHandler(f.auth, nil, Exchange{}, nil, logging.NewTo(io.Discard, "token"), func() time.Time { return now }).Handle
	call := func(ip, keyID, secret string) testenv.Reply {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {keyID}, "client_secret": {secret}}.Encode()
		ev := tokenReq("application/x-www-form-urlencoded", form, nil).Event(t)
		ev.RequestContext.Identity.SourceIP = ip
		var resp events.APIGatewayProxyResponse
		testenv.Invoke(t, h, ev, &resp)
		out := testenv.Reply{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}
		json.Unmarshal([]byte(resp.Body), &out.JSON)
		return out
	}
	for i := range TokenPerCredential[0].N {
		if r := call("198.51.100.1", f.keyID, f.secret); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := call("198.51.100.2", f.keyID, f.secret) // another address, the same credential
	d, _ := r.JSON["error"].(map[string]any)["details"].(map[string]any)
	if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Headers["Retry-After"] != "1" || d["retry_after_ms"] == nil {
		t.Fatalf("per-credential limit: %d %v %s", r.Status, r.Headers, r.Body)
	}
	now = now.Add(time.Second)
	if r := call("198.51.100.2", f.keyID, f.secret); r.Status != 200 {
		t.Fatalf("after a second: %d %s", r.Status, r.Body)
	}
	// One address trying many key ids is limited per address.
	n := 0
	for range TokenPerIP[0].N + 1 {
		if r := call("192.0.2.9", "tk_"+testenv.ID("k")[2:12], "x"); r.Status == 429 {
			break
		}
		n++
	}
	if n != TokenPerIP[0].N {
		t.Fatalf("per-address limit after %d requests, want %d", n, TokenPerIP[0].N)
	}
	if r := call("192.0.2.10", f.keyID, f.secret); r.Status != 200 {
		t.Fatalf("another address: %d %s", r.Status, r.Body)
	}
}

// TestMintLimitPerCredential: minting user tokens
// (POST /v1/users/{user_id}/tokens) is limited per admin credential: past
// MintPerCredential's per-second budget the next mint gets 429
// rate_limited with Retry-After and retry_after_ms, before the user is
// read; another credential still mints, and the first recovers a second
// later.
func TestMintLimitPerCredential(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	h := newHandler(f.auth, nil, Exchange{}, nil, logging.NewTo(io.Discard, "token"), func() time.Time { return now }).Handle
	id := testenv.ID("mint")
	if _, _, err := users.NewService(f.env.Stores().Users, f.env.Cursors, nil).Create(context.Background(), *testenv.Admin(), users.CreateInput{UserID: id}, ""); err != nil {
		t.Fatal(err)
	}
	mint := func(keyID, user string) testenv.Reply {
		t.Helper()
		return testenv.Call(t, h, testenv.REST{Method: "POST", Resource: "/v1/users/{user_id}/tokens", Path: "/v1/users/" + user + "/tokens",
			PathParams: map[string]string{"user_id": user}, Principal: &auth.Principal{Kind: auth.KindAdmin, KeyID: keyID}})
	}
	for i := range MintPerCredential[0].N {
		if r := mint("tk_one", id); r.Status != 201 {
			t.Fatalf("mint %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Over the limit, even for a user that does not exist: refused first.
	for _, user := range []string{id, "nobody-" + id} {
		r := mint("tk_one", user)
		e, _ := r.JSON["error"].(map[string]any)
		d, _ := e["details"].(map[string]any)
		if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Headers["Retry-After"] != "1" || d["retry_after_ms"] == nil {
			t.Fatalf("mint over the limit for %s: %d %v %s", user, r.Status, r.Headers, r.Body)
		}
	}
	if r := mint("tk_two", id); r.Status != 201 {
		t.Fatalf("another credential: %d %s", r.Status, r.Body)
	}
	now = now.Add(time.Second)
	if r := mint("tk_one", id); r.Status != 201 {
		t.Fatalf("a second later: %d %s", r.Status, r.Body)
	}
}
