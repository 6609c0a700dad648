package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/permissions"
)

// TestScopesRolesAndBans: the context handed to handlers carries an
// admin token's scopes and a user's role and grants; a banned user's REST
// request goes through with the ban (handlers answer 403 banned) and
// their WebSocket handshake is refused; an expired ban is no ban.
func TestScopesRolesAndBans(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mod := f.env.Moderation()
	f.auth.WithStatus(mod, permissions.NewRoleBook(mod, nil))
	f.h = NewHandler(f.auth, logging.NewTo(f.logs, "authorizer"))

	creds := auth.NewCredentials(f.env.Stores().Credentials, nil)
	c, secret, err := creds.Create(ctx, auth.Principal{Kind: auth.KindAdmin, KeyID: f.keyID}, auth.CreateCredentialInput{Scopes: []string{"jobs:write"}})
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := f.auth.ClientCredentials(ctx, c.KeyID, secret, "")
	if err != nil {
		t.Fatal(err)
	}
	out, msg := f.authorize(t, header("Bearer "+scoped.Token))
	p, err := auth.FromContextFields(out.Context)
	if msg != "" || err != nil || !reflect.DeepEqual(p.Scopes, auth.Scopes{auth.ScopeJobsWrite}) {
		t.Fatalf("scoped admin: %q %+v %v", msg, p, err)
	}

	id, tok := f.newUser(t)
	if _, err := mod.SetRole(ctx, id, permissions.RoleModerator); err != nil {
		t.Fatal(err)
	}
	out, _ = f.authorize(t, header("Bearer "+tok))
	p, err = auth.FromContextFields(out.Context)
	if err != nil || p.Role != "moderator" || !reflect.DeepEqual(p.Grants, permissions.BuiltinRoles[permissions.RoleModerator]) {
		t.Fatalf("moderator context: %+v %v", p, err)
	}

	if _, err := mod.SetBan(ctx, id, auth.Ban{Reason: "spam", Until: time.Now().Add(time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	out, msg = f.authorize(t, header("Bearer "+tok))
	if msg != "" || out.PolicyDocument.Statement[0].Effect != "Allow" {
		t.Fatalf("banned REST request: %q %+v", msg, out)
	}
	if _, err := auth.FromContextFields(out.Context); !apierror.Is(err, apierror.Banned) {
		t.Fatalf("banned context: %v", err)
	}
	_, msg = f.authorize(t, func(ev *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
		ev.Headers["Authorization"] = "Bearer " + tok
		ev.MethodArn = "arn:aws:execute-api:us-east-1:123456789012:ws123/prod/$connect"
	})
	if msg != "Unauthorized" {
		t.Fatalf("banned $connect: %q", msg)
	}
	if _, err := mod.SetBan(ctx, id, auth.Ban{Reason: "spam", Until: time.Now().Add(-time.Second).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	out, _ = f.authorize(t, header("Bearer "+tok))
	if _, err := auth.FromContextFields(out.Context); err != nil {
		t.Fatalf("expired ban: %v", err)
	}
}

// TestFailedAuthSummarised: invalid tokens from one address leave one
// audit entry at the 5th failure, not one per failure.
func TestFailedAuthSummarised(t *testing.T) {
	f := newFixture(t)
	log := memstore.NewAudit()
	f.h.WithFailures(audit.NewFailures(audit.NewRecorder(log, 0, logging.NewTo(f.logs, "authorizer"), nil), nil))
	for i := range 7 {
		if _, msg := f.authorize(t, header("Bearer not.a.token")); msg != "" {
			t.Fatalf("failure %d answered %q, want a Deny policy", i, msg)
		}
		if want := map[bool]int{true: 1, false: 0}[i >= 4]; len(log.Entries()) != want {
			t.Fatalf("after %d failures: %d entries", i+1, len(log.Entries()))
		}
	}
	e := log.Entries()[0]
	if e.Actor != "ip:203.0.113.7" || e.Action != "auth.failed" || e.Target != "invalid_token" || e.Count != 5 {
		t.Fatalf("summary %+v", e)
	}
}
