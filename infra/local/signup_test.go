package local

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/testenv"
)

// signupEvent is events/cognito-post-confirmation.json with a fresh sub.
func signupEvent(t *testing.T) (events.CognitoEventUserPoolsPostConfirmation, []byte) {
	t.Helper()
	var ev events.CognitoEventUserPoolsPostConfirmation
	testenv.Fixture(t, "cognito-post-confirmation.json", &ev)
	sub := testenv.ID("sub")
	ev.UserName, ev.Request.UserAttributes["sub"] = sub, sub
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return ev, b
}

// TestCognitoSignupLocally delivers a Cognito PostConfirmation event to
// the real trigger through the local Lambda Invoke API, first with the
// AWS CLI (as README shows), then repeated, and checks one user results.
func TestCognitoSignupLocally(t *testing.T) {
	s := startStack(t, nil, nil)
	admin := map[string]string{"Authorization": "Bearer " + s.adminToken(t)}
	ev, payload := signupEvent(t)
	sub := ev.Request.UserAttributes["sub"]

	dir := t.TempDir()
	in, out := filepath.Join(dir, "event.json"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := exec.CommandContext(ctx, "aws", "lambda", "invoke", "--endpoint-url", s.RESTURL, "--region", "us-east-1",
		"--function-name", "CognitoSignupFunction", "--payload", "fileb://"+in, out)
	cli.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null")
	if b, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("aws lambda invoke: %v\n%s", err, b)
	}
	var back events.CognitoEventUserPoolsPostConfirmation
	if b, err := os.ReadFile(out); err != nil || json.Unmarshal(b, &back) != nil || !reflect.DeepEqual(back, ev) {
		t.Fatalf("trigger reply %s (%v), want the event unchanged", b, err)
	}

	first := do(t, "GET", s.RESTURL+"/v1/users/"+sub, admin, nil)
	if first.status != 200 || first.json["nickname"] != "Carol" {
		t.Fatalf("user after sign-up: %d %s\n%s", first.status, first.body, s.out)
	}
	// Cognito retries, and a sign-up can be confirmed twice; by the local
	// physical name this time (the stack is "tokenim-local").
	for range 2 {
		if r := do(t, "POST", s.RESTURL+lambdaAPIPrefix+"/tokenim-local-CognitoSignupFunction/invocations", nil, bytes.NewReader(payload)); r.status != 200 || r.header.Get("X-Amz-Function-Error") != "" {
			t.Fatalf("repeat: %d %v %s", r.status, r.header, r.body)
		}
	}
	if again := do(t, "GET", s.RESTURL+"/v1/users/"+sub, admin, nil); again.json["created_at"] != first.json["created_at"] {
		t.Fatalf("repeats changed the user: %s vs %s", again.body, first.body)
	}
}

// TestSignupQueueLocally: a queued sign-up reaches the worker through the
// local SQS event source and becomes a user.
func TestSignupQueueLocally(t *testing.T) {
	s := startStack(t, nil, nil)
	admin := map[string]string{"Authorization": "Bearer " + s.adminToken(t)}
	id := testenv.ID("queued")
	body, _ := json.Marshal(signup.Request{UserID: id, Nickname: "Queued", Source: "cognito:local:" + id, QueuedAt: time.Now().UTC()})
	client := sqs.NewFromConfig(testenv.Get(t).Cfg)
	if _, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.Resources.QueueURLs["SignupQueue"]), MessageBody: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := do(t, "GET", s.RESTURL+"/v1/users/"+id, admin, nil)
		if r.status == 200 && r.json["nickname"] == "Queued" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued sign-up not created: %d %s\n%s", r.status, r.body, s.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestLambdaInvokeAPI(t *testing.T) {
	s := startStack(t, nil, nil)
	_, payload := signupEvent(t)
	url := func(name string) string { return s.RESTURL + lambdaAPIPrefix + "/" + name + "/invocations" }
	tests := []struct {
		name, method, url string
		headers           map[string]string
		body              string
		status            int
		errType           string
	}{
		{"by ARN with qualifier", "POST", url("arn:aws:lambda:us-east-1:000000000000:function:tokenim-local-CognitoSignupFunction:$LATEST"), nil, string(payload), 200, ""},
		{"unknown function", "POST", url("NoSuchFunction"), nil, "{}", 404, "ResourceNotFoundException"},
		{"not JSON", "POST", url("CognitoSignupFunction"), nil, "{", 400, "InvalidRequestContentException"},
		{"over 6 MB", "POST", url("CognitoSignupFunction"), nil, `"` + strings.Repeat("a", MaxInvokePayload) + `"`, 413, "RequestTooLargeException"},
		{"dry run", "POST", url("CognitoSignupFunction"), map[string]string{"X-Amz-Invocation-Type": "DryRun"}, "{}", 204, ""},
		{"other operations", "GET", s.RESTURL + lambdaAPIPrefix + "/CognitoSignupFunction", nil, "", 404, "UnknownOperationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doString(t, tc.method, tc.url, tc.headers, tc.body)
			if r.status != tc.status || r.header.Get("x-amzn-ErrorType") != tc.errType {
				t.Fatalf("got %d %q %s, want %d %q", r.status, r.header.Get("x-amzn-ErrorType"), r.body, tc.status, tc.errType)
			}
		})
	}
	// A function error is a 200 carrying X-Amz-Function-Error, as on AWS:
	// the SQS worker fed a non-SQS event fails to decode it.
	r := do(t, "POST", url("SignupWorkerFunction"), nil, strings.NewReader(`{"Records":"nope"}`))
	if r.status != 200 || r.header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(string(r.body), "errorMessage") {
		t.Fatalf("function error: %d %v %s", r.status, r.header, r.body)
	}
}

// TestLocalUserPool: with CognitoUserPool=create the local stack stands
// in for the pool: a sign-up runs the real trigger, and the ID token it
// issues is exchanged by the real token function for a chat token.
func TestLocalUserPool(t *testing.T) {
	s := startStack(t, nil, func(o *Options) { o.Params = map[string]string{"CognitoUserPool": "create"} })
	if s.UserPool == nil {
		t.Fatal("no local user pool")
	}
	pool := s.UserPool.Info()
	if got := s.Env["TokenFunction"]["COGNITO_ISSUER"]; got != pool.Issuer {
		t.Fatalf("token function trusts %q, the local pool is %q", got, pool.Issuer)
	}
	username := testenv.ID("zoe") + "@example.com"
	r := doString(t, "POST", pool.SignUpURL, nil, `{"username":"`+username+`","attributes":{"name":"Zoe","email":"`+username+`"}}`)
	if r.status != 200 {
		t.Fatalf("sign-up: %d %s\n%s", r.status, r.body, s.out)
	}
	sub, idToken := r.json["user_sub"].(string), r.json["id_token"].(string)

	admin := map[string]string{"Authorization": "Bearer " + s.adminToken(t)}
	if u := do(t, "GET", s.RESTURL+"/v1/users/"+sub, admin, nil); u.status != 200 || u.json["nickname"] != "Zoe" {
		t.Fatalf("the trigger did not create the chat user: %d %s", u.status, u.body)
	}
	exchange := func(tok string) reply {
		return doString(t, "POST", s.RESTURL+"/v1/auth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token&subject_token="+tok)
	}
	x := exchange(idToken)
	if x.status != 200 || x.json["user_id"] != sub {
		t.Fatalf("exchange: %d %s", x.status, x.body)
	}
	me := do(t, "GET", s.RESTURL+"/v1/users/"+sub, map[string]string{"Authorization": "Bearer " + x.json["access_token"].(string)}, nil)
	if me.status != 200 {
		t.Fatalf("the exchanged token does not work: %d %s", me.status, me.body)
	}
	in := doString(t, "POST", pool.SignInURL, nil, `{"username":"`+username+`"}`)
	if in.status != 200 || exchange(in.json["id_token"].(string)).json["user_id"] != sub {
		t.Fatalf("sign-in: %d %s", in.status, in.body)
	}

	tests := []struct {
		name, url, body, errType string
	}{
		{"username taken", pool.SignUpURL, `{"username":"` + username + `"}`, "UsernameExistsException"},
		{"sub cannot be chosen", pool.SignUpURL, `{"username":"x-` + username + `","attributes":{"sub":"alice"}}`, "InvalidParameterException"},
		{"unknown user signs in", pool.SignInURL, `{"username":"nobody"}`, "UserNotFoundException"},
		{"not JSON", pool.SignUpURL, `{`, "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doString(t, "POST", tc.url, nil, tc.body)
			if r.status != 400 || r.json["__type"] != tc.errType {
				t.Fatalf("got %d %s, want 400 %s", r.status, r.body, tc.errType)
			}
		})
	}
	// A token the pool did not sign is refused by the exchange.
	parts := strings.Split(idToken, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if f := exchange(forged); f.status != 400 || f.errorCode() != "invalid_grant" {
		t.Fatalf("forged token: %d %s", f.status, f.body)
	}
}
