package local

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// binaries builds the function binaries once per test process (see
// localtest.Binaries for the layout).
func binaries(t testing.TB) string { return localtest.Binaries(t) }

type testStack struct {
	*Stack
	out  *localtest.Log
	db   dynamo.Stores
	tmpl *template.Template
}

// startStack runs tmpl (nil: template.yaml) on random ports and stops it
// when the test ends; without an emulator it skips the test.
func startStack(t *testing.T, tmpl *template.Template, mutate func(*Options)) *testStack {
	t.Helper()
	testenv.NeedAWS(t) // the stack provisions its tables and queues in the emulator
	env := testenv.Get(t)
	bins := binaries(t)
	if tmpl == nil {
		tmpl = env.Template
	}
	out := &localtest.Log{}
	var logw io.Writer = io.Discard
	if os.Getenv("TOKENIM_TEST_LOG") != "" {
		logw = os.Stderr
	}
	o := Options{Template: tmpl, AWS: env.Cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Prefix: testenv.ID("l") + "-",
		RESTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Concurrency: 4, SQSWait: time.Second,
		BinDir: bins,
		Output: out, Log: slog.New(slog.NewJSONHandler(logw, nil))}
	if mutate != nil {
		mutate(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	r := s.Resources
	db := env.DB(env.Cfg)
	db = dynamo.New(db.Client(), dynamo.Tables{Users: r.Tables["UsersTable"], Groups: r.Tables["GroupsTable"], Messages: r.Tables["MessagesTable"],
		Jobs: r.Tables["JobsTable"], Connections: r.Tables["ConnectionsTable"]})
	return &testStack{Stack: s, out: out, db: db, tmpl: tmpl}
}

func loadFixture(t *testing.T) *template.Template {
	t.Helper()
	tmpl, err := template.Load(filepath.Join("testdata", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r reply) errorCode() string {
	e, _ := r.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// doString is do with a string body ("" sends none).
func doString(t *testing.T, method, url string, headers map[string]string, body string) reply {
	t.Helper()
	if body == "" {
		return do(t, method, url, headers, nil)
	}
	return do(t, method, url, headers, strings.NewReader(body))
}

func do(t *testing.T, method, url string, headers map[string]string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	json.Unmarshal(b, &r.json)
	return r
}

// adminToken creates a credential in the stack's users table and trades
// it for an admin token through the REST API.
func (s *testStack) adminToken(t *testing.T) string {
	t.Helper()
	tok, _ := s.adminTokenAndKey(t)
	return tok
}

// adminTokenAndKey is adminToken with the credential's key id.
func (s *testStack) adminTokenAndKey(t *testing.T) (string, string) {
	t.Helper()
	c, secret, err := auth.NewService(nil, s.db.Credentials, s.db.Users).CreateCredential(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", s.RESTURL+"/v1/auth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader("grant_type=client_credentials&client_id="+c.KeyID+"&client_secret="+secret))
	tok, _ := r.json["access_token"].(string)
	if r.status != 200 || tok == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return tok, c.KeyID
}

// userToken creates a user through the REST API and returns a token for it.
func (s *testStack) userToken(t *testing.T, admin, userID string) string {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/json"}
	if r := do(t, "POST", s.RESTURL+"/v1/users", h, strings.NewReader(`{"user_id":"`+userID+`","nickname":"`+userID+`"}`)); r.status != 201 {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	r := do(t, "POST", s.RESTURL+"/v1/users/"+userID+"/tokens", h, nil)
	tok, _ := r.json["access_token"].(string)
	if r.status != 201 || tok == "" {
		t.Fatalf("user token: %d %s", r.status, r.body)
	}
	return tok
}

func dial(t *testing.T, url string, d *websocket.Dialer) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	c, resp, err := d.Dial(url, nil)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// readFrame reads one JSON frame with a deadline.
func readFrame(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return m
}

// eventually polls cond every 50 ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// forge swaps a token's payload for another user's, keeping the signature.
func forge(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return token + "x"
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else","aud":["tokenim:user"],"iss":"tokenim","exp":9999999999,"iat":1}`))
	return parts[0] + "." + payload + "." + parts[2]
}

// expiredToken signs an hour-old token for userID with the stack's own
// signing key (its Secrets Manager secret), as the token function would.
func (s *testStack) expiredToken(t *testing.T, userID string) string {
	t.Helper()
	ctx := context.Background()
	env := testenv.Get(t)
	out, err := secretsmanager.NewFromConfig(env.Cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.Resources.Secrets["SigningKeySecret"])})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := s.db.Users.UserGen(ctx, userID)
	if err != nil || gen == 0 {
		t.Fatalf("gen of %s: %d %v", userID, gen, err)
	}
	now := time.Now()
	claims := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: userID, Issuer: "tokenim", Audience: jwt.ClaimStrings{auth.AudienceUser},
		IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Hour)), ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour))}, Gen: gen}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testenv.JWTKey([]byte(aws.ToString(out.SecretString))))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// revokedAdminToken is an admin token whose credential was then revoked
// (the revoked attribute of its item, docs/data-model.md).
func (s *testStack) revokedAdminToken(t *testing.T) string {
	t.Helper()
	tok, keyID := s.adminTokenAndKey(t)
	testenv.RevokeCredential(t, testenv.Get(t).Cfg, s.Resources.Tables["UsersTable"], keyID)
	return tok
}

// deletedUserToken is a token for a user who was then deleted.
func (s *testStack) deletedUserToken(t *testing.T, admin string) string {
	t.Helper()
	id := testenv.ID("gone")
	tok := s.userToken(t, admin, id)
	if r := do(t, "DELETE", s.RESTURL+"/v1/users/"+id, map[string]string{"Authorization": "Bearer " + admin}, nil); r.status >= 300 {
		t.Fatalf("delete user: %d %s", r.status, r.body)
	}
	return tok
}

// templateRESTAPI is template.yaml's one REST API.
func templateRESTAPI(t *testing.T) template.RestAPI {
	t.Helper()
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	apis := tmpl.RestAPIs()
	if len(apis) != 1 {
		t.Fatalf("template has %d REST APIs", len(apis))
	}
	return apis[0]
}
