package local

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// cognitoPrefix is where the local user pool lives on the REST port.
const cognitoPrefix = "/_local/cognito"

// UserPool stands in locally for the template's AWS::Cognito::UserPool
// (neither LocalStack's free edition nor moto runs Cognito's triggers).
// It signs users up, delivering PostConfirmation to the function the
// pool's LambdaConfig names, and issues RS256 ID tokens shaped like
// Cognito's, whose keys it publishes at <issuer>/.well-known/jwks.json.
// So `make dev` runs the whole Cognito flow: sign-up -> trigger -> chat
// account -> ID token -> token exchange -> chat. It is not Cognito: no
// passwords, no confirmation codes, no hosted UI (docs/local.md).
type UserPool struct {
	LogicalID string
	ID        string // pool id, as !Ref gives it: <region>_local
	ClientID  string // the template's UserPoolClient, as !Ref gives it
	Issuer    string // http://127.0.0.1:3000/_local/cognito/<pool id>

	triggerFn string  // the PostConfirmation function's logical id, or ""
	trigger   Invoker // its sandboxes (set once the functions exist)
	key       *rsa.PrivateKey
	kid       string
	now       func() time.Time

	mu    sync.Mutex
	users map[string]map[string]string // username -> attributes
}

// newUserPool finds the template's user pool (if its condition holds) and
// its client; nil if there is none. restURL is the local REST gateway's
// base URL.
func newUserPool(t *template.Template, rv *Resolver, restURL, region string) (*UserPool, error) {
	var pool *template.Resource
	for _, r := range t.OfType("AWS::Cognito::UserPool") {
		if r.Condition != "" {
			ok, err := rv.Condition(r.Condition)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if pool != nil {
			return nil, fmt.Errorf("local: the template has more than one user pool; one is supported")
		}
		pool = &r
	}
	if pool == nil {
		return nil, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("local: user pool key: %w", err)
	}
	p := &UserPool{LogicalID: pool.Name, ID: region + "_local", key: key, kid: "local-" + runtime.NewRequestID()[:8],
		now: time.Now, users: map[string]map[string]string{}}
	p.Issuer = restURL + cognitoPrefix + "/" + p.ID
	for _, c := range t.OfType("AWS::Cognito::UserPoolClient") {
		if ref, _ := template.Map(c.Properties, "UserPoolId")["Ref"].(string); ref == pool.Name {
			p.ClientID = "local" + strings.ToLower(c.Name)
		}
	}
	if ga, ok := template.Map(template.Map(pool.Properties, "LambdaConfig"), "PostConfirmation")["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
		p.triggerFn = fmt.Sprint(ga[0])
	}
	return p, nil
}

// Info says where the pool is.
func (p *UserPool) Info() *UserPoolInfo {
	return &UserPoolInfo{PoolID: p.ID, ClientID: p.ClientID, Issuer: p.Issuer, SignUpURL: p.Issuer + "/signup", SignInURL: p.Issuer + "/signin"}
}

// connect gives the pool its trigger's sandboxes.
func (p *UserPool) connect(invokers map[string]Invoker) error {
	if p.triggerFn == "" {
		return nil
	}
	if p.trigger = invokers[p.triggerFn]; p.trigger == nil {
		return fmt.Errorf("local: user pool %s: PostConfirmation names %s, which is not a function", p.LogicalID, p.triggerFn)
	}
	return nil
}

// issuerOnAWS is the issuer URL the template builds for this pool; the
// resolver rewrites it to the local one.
func (p *UserPool) issuerOnAWS(region string) string {
	return "https://cognito-idp." + region + ".amazonaws.com/" + p.ID
}

// refs are what !Ref gives the pool and its client locally.
func (p *UserPool) refs(t *template.Template) map[string]string {
	m := map[string]string{p.LogicalID: p.ID}
	for _, c := range t.OfType("AWS::Cognito::UserPoolClient") {
		if "local"+strings.ToLower(c.Name) == p.ClientID {
			m[c.Name] = p.ClientID
		}
	}
	return m
}

// cognitoError answers as Cognito's JSON protocol does.
func cognitoError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// ServeHTTP serves, under /_local/cognito/<pool id>:
//
//	GET  /.well-known/jwks.json  the signing keys
//	POST /signup   {"username", "attributes":{...}}  sign up and confirm
//	               (PostConfirmation_ConfirmSignUp to the trigger), then
//	               sign in: {"user_sub", "id_token"}
//	POST /signin   {"username"}  a fresh ID token (no password: local only)
func (p *UserPool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, cognitoPrefix+"/"+p.ID)
	switch {
	case !ok:
		cognitoError(w, http.StatusNotFound, "ResourceNotFoundException", "User pool does not exist.")
	case rest == "/.well-known/jwks.json" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": p.kid,
			"n": base64.RawURLEncoding.EncodeToString(p.key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(p.key.E)).Bytes()),
		}}})
	case rest == "/signup" && r.Method == http.MethodPost:
		p.signUp(w, r)
	case rest == "/signin" && r.Method == http.MethodPost:
		var in struct {
			Username string `json:"username"`
		}
		if err := readJSON(r, &in); err != nil {
			cognitoError(w, http.StatusBadRequest, "InvalidParameterException", err.Error())
			return
		}
		p.mu.Lock()
		attrs, ok := p.users[in.Username]
		p.mu.Unlock()
		if !ok {
			cognitoError(w, http.StatusBadRequest, "UserNotFoundException", "User does not exist.")
			return
		}
		p.reply(w, in.Username, attrs)
	default:
		cognitoError(w, http.StatusNotFound, "UnknownOperationException", "The local user pool serves signup, signin and .well-known/jwks.json.")
	}
}

func (p *UserPool) signUp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username   string            `json:"username"`
		Attributes map[string]string `json:"attributes"`
	}
	if err := readJSON(r, &in); err != nil {
		cognitoError(w, http.StatusBadRequest, "InvalidParameterException", err.Error())
		return
	}
	if in.Username == "" || len(in.Username) > 128 {
		cognitoError(w, http.StatusBadRequest, "InvalidParameterException", "username must be 1-128 characters.")
		return
	}
	attrs := map[string]string{}
	for k, v := range in.Attributes {
		if k == "sub" || strings.HasPrefix(k, "cognito:") {
			cognitoError(w, http.StatusBadRequest, "InvalidParameterException", "Attribute "+k+" cannot be set.")
			return
		}
		attrs[k] = v
	}
	attrs["sub"] = runtime.NewRequestID()
	attrs["cognito:user_status"] = "CONFIRMED"
	p.mu.Lock()
	_, taken := p.users[in.Username]
	if !taken {
		p.users[in.Username] = attrs
	}
	p.mu.Unlock()
	if taken {
		cognitoError(w, http.StatusBadRequest, "UsernameExistsException", "User already exists")
		return
	}
	if p.trigger != nil {
		ev := events.CognitoEventUserPoolsPostConfirmation{
			CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{Version: "1", TriggerSource: "PostConfirmation_ConfirmSignUp",
				Region: strings.TrimSuffix(p.ID, "_local"), UserPoolID: p.ID, UserName: in.Username,
				CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "local", ClientID: p.ClientID}},
			Request: events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: attrs, ClientMetadata: map[string]string{}},
		}
		payload, _ := json.Marshal(ev)
		// Cognito gives a trigger 5 s and fails the sign-up on an error.
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := p.trigger.Invoke(ctx, payload); err != nil {
			p.mu.Lock()
			delete(p.users, in.Username)
			p.mu.Unlock()
			cognitoError(w, http.StatusBadRequest, "UnexpectedLambdaException", "PostConfirmation failed: "+err.Error())
			return
		}
	}
	p.reply(w, in.Username, attrs)
}

// reply signs an ID token for the user, as Cognito's InitiateAuth would.
func (p *UserPool) reply(w http.ResponseWriter, username string, attrs map[string]string) {
	now := p.now()
	claims := jwt.MapClaims{"iss": p.Issuer, "aud": p.ClientID, "token_use": "id", "cognito:username": username,
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range attrs {
		if k != "cognito:user_status" {
			claims[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.kid
	signed, err := tok.SignedString(p.key)
	if err != nil {
		cognitoError(w, http.StatusInternalServerError, "InternalErrorException", "Could not sign the token.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"user_sub": attrs["sub"], "id_token": signed})
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("could not read the body")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the body is not the expected JSON")
	}
	return nil
}
