package security

// The security suite's harness: one local stack of template.yaml (real
// function binaries behind the local REST and WebSocket gateways, against
// the emulator), three users, a group, a DM and a job, tokens of every bad
// kind, and a record of every response and log line for the leak scan.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is the stack and what the suite made in it. alice and bob share
// a DM and a group (bob owns it, alice is a member); mallory is a user
// with no part in either, the attacker of "a token of another user".
type world struct {
	*local.Stack
	out    *localtest.Log // the functions' output
	gwLog  *localtest.Log // the gateways' own log
	db     dynamo.Stores
	key    []byte // the stack's JWT key
	issuer string

	admin, alice, bob, mallory string // access tokens
	adminKeyID, adminSecret    string
	aliceID, bobID, malloryID  string
	groupID, dmID, groupConvID string
	jobID                      string
	secretText                 string // in bob's DM to alice: nobody else may ever see it

	bad map[string]string // badTokens, by name

	mu         sync.Mutex
	responses  []string // every response body, for the leak scan
	foreign    []string // responses to mallory, nobody and bad tokens
	checkStart int      // responses before it are the fixture's
}

func start(t *testing.T) *world {
	t.Helper()
	testenv.NeedAWS(t) // the local stack provisions its tables and queues in the emulator
	env := testenv.Get(t)
	bins := localtest.Binaries(t)
	w := &world{out: &localtest.Log{}, gwLog: &localtest.Log{}}
	o := local.Options{Template: env.Template, AWS: env.Cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Prefix: testenv.ID("sec") + "-",
		RESTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Concurrency: 2, SQSWait: time.Second, BinDir: bins,
		Output: w.out, Log: slog.New(slog.NewJSONHandler(w.gwLog, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := local.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	w.Stack = s
	w.db = local.StoreFor(s, env.DB(env.Cfg))
	sec, err := secretsmanager.NewFromConfig(env.Cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.Resources.Secrets["SigningKeySecret"])})
	if err != nil {
		t.Fatal(err)
	}
	w.key = config.Derive([]byte(aws.ToString(sec.SecretString)), "jwt")
	w.issuer = s.Env["TokenFunction"]["TOKEN_ISSUER"]
	if w.issuer == "" {
		w.issuer = config.DefaultIssuer
	}
	w.populate(t)
	return w
}

// populate makes the users, group, conversations and job the rows use,
// through the API itself.
func (w *world) populate(t *testing.T) {
	t.Helper()
	c, secret, err := auth.NewService(nil, w.db.Credentials, w.db.Users).CreateCredential(context.Background(), "security suite")
	if err != nil {
		t.Fatal(err)
	}
	w.adminKeyID, w.adminSecret = c.KeyID, secret
	r := w.call(t, "", "POST", "/v1/auth/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&client_id="+c.KeyID+"&client_secret="+secret)
	w.admin = r.str("access_token")
	if r.status != 200 || w.admin == "" {
		t.Fatalf("admin token: %d %s", r.status, r.body)
	}
	w.aliceID, w.bobID, w.malloryID = testenv.ID("alice"), testenv.ID("bob"), testenv.ID("mallory")
	w.alice, w.bob, w.mallory = w.newUser(t, w.aliceID), w.newUser(t, w.bobID), w.newUser(t, w.malloryID)
	w.groupID = testenv.ID("grp")
	w.must(t, w.call(t, w.bob, "POST", "/v1/groups", "", `{"group_id":"`+w.groupID+`","name":"team","members":["`+w.aliceID+`"]}`), 201)
	w.secretText = "secret-" + testenv.ID("dm")
	dm := w.must(t, w.call(t, w.bob, "POST", "/v1/messages", "", `{"to_user":"`+w.aliceID+`","client_msg_id":"m1","text":"`+w.secretText+`"}`), 201)
	w.dmID = dm.str("conversation_id")
	gm := w.must(t, w.call(t, w.bob, "POST", "/v1/messages", "", `{"to_group":"`+w.groupID+`","client_msg_id":"m2","text":"`+w.secretText+`-group"}`), 201)
	w.groupConvID = gm.str("conversation_id")
	// A small job may finish inline (200) or be queued (202).
	job := w.call(t, w.admin, "POST", "/v1/jobs/users", "text/csv", "user_id\n"+testenv.ID("imp")+"\n")
	if job.status != 200 && job.status != 202 {
		t.Fatalf("job: %d %s", job.status, job.body)
	}
	w.jobID = job.str("job_id")
	if w.dmID == "" || w.groupConvID == "" || w.jobID == "" {
		t.Fatalf("fixture ids: dm %q group conv %q job %q", w.dmID, w.groupConvID, w.jobID)
	}
}

func (w *world) newUser(t *testing.T, id string) string {
	t.Helper()
	w.must(t, w.call(t, w.admin, "POST", "/v1/users", "", `{"user_id":"`+id+`","nickname":"`+id+`"}`), 201)
	r := w.must(t, w.call(t, w.admin, "POST", "/v1/users/"+id+"/tokens", "", ""), 201)
	return r.str("access_token")
}

func (w *world) must(t *testing.T, r reply, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", r.what, r.status, r.body, status)
	}
	return r
}

type reply struct {
	what   string
	status int
	body   string
	json   map[string]any
}

func (r reply) str(k string) string { s, _ := r.json[k].(string); return s }

func (r reply) code() string {
	e, _ := r.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r reply) path(keys ...string) string {
	var v any = r.json
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// call sends one request; token "" sends no Authorization header; ct ""
// is application/json when there is a body.
func (w *world) call(t *testing.T, token, method, path, ct, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, w.RESTURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	// Redirects are not followed: a check is about the route it names.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{what: method + " " + path, status: resp.StatusCode, body: string(b)}
	json.Unmarshal(b, &r.json)
	w.mu.Lock()
	w.responses = append(w.responses, r.body)
	w.mu.Unlock()
	return r
}

// badTokens are tokens every authorized route and $connect must refuse,
// by name. They are for alice, so a route that accepted one would act as
// a real user.
func (w *world) badTokens(t *testing.T) map[string]string {
	t.Helper()
	gen, err := w.db.Users.UserGen(context.Background(), w.aliceID)
	if err != nil || gen == 0 {
		t.Fatalf("gen of alice: %d %v", gen, err)
	}
	now := time.Now()
	claims := func(mod func(*auth.Claims)) auth.Claims {
		c := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: w.aliceID, Issuer: w.issuer, Audience: jwt.ClaimStrings{auth.AudienceUser},
			IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}, Gen: gen}
		mod(&c)
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c auth.Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	same := func(*auth.Claims) {}
	parts := strings.Split(w.alice, ".")
	bobParts := strings.Split(w.bob, ".")
	return map[string]string{
		"expired":         sign(jwt.SigningMethodHS256, w.key, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) })),
		"forged key":      sign(jwt.SigningMethodHS256, []byte("not-the-stack-key-0123456789abcdef"), claims(same)),
		"alg none":        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(same)),
		"wrong audience":  sign(jwt.SigningMethodHS256, w.key, claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{"tokenim:other"} })),
		"two audiences":   sign(jwt.SigningMethodHS256, w.key, claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{auth.AudienceUser, auth.AudienceAdmin} })),
		"wrong issuer":    sign(jwt.SigningMethodHS256, w.key, claims(func(c *auth.Claims) { c.Issuer = "https://evil.example" })),
		"wrong gen":       sign(jwt.SigningMethodHS256, w.key, claims(func(c *auth.Claims) { c.Gen = gen + 1 })),
		"payload swapped": parts[0] + "." + bobParts[1] + "." + parts[2],
		"garbage":         "not-a-jwt",
	}
}
