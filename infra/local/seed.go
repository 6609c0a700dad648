package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
)

// Info is .tokenim/local.json: what a developer (or a test, or the demo
// page) needs to use the running local stack.
type Info struct {
	RESTURL      string     `json:"rest_url"`
	WebSocketURL string     `json:"websocket_url"`
	Admin        AdminCred  `json:"admin"`
	DemoUsers    []DemoUser `json:"demo_users"`
	DemoGroupID  string     `json:"demo_group_id"`
	// UserPool is the local stand-in for the template's Cognito user pool.
	UserPool *UserPoolInfo `json:"user_pool,omitempty"`
}

// UserPoolInfo says where the local user pool is (docs/local.md).
type UserPoolInfo struct {
	PoolID    string `json:"pool_id"`
	ClientID  string `json:"client_id"`
	Issuer    string `json:"issuer"`
	SignUpURL string `json:"signup_url"`
	SignInURL string `json:"signin_url"`
}

// AdminCred is an app credential (the secret is shown once, here).
type AdminCred struct {
	KeyID  string `json:"key_id"`
	Secret string `json:"secret"`
}

// DemoUser is a demo user with a user token.
type DemoUser struct {
	UserID string `json:"user_id"`
	Token  string `json:"token"`
	// Role is the user's app-wide role when it is not the built-in user
	// (mod is a moderator: the demo's Ban button works for it).
	Role string `json:"role,omitempty"`
}

// CreateCredential stores a new app credential in the users table (what
// `tokenim-admin credential` does against AWS).
func CreateCredential(ctx context.Context, db dynamo.Stores, name string) (AdminCred, error) {
	c, secret, err := auth.NewService(nil, db.Credentials, db.Users).CreateCredential(ctx, name)
	if err != nil {
		return AdminCred{}, err
	}
	return AdminCred{KeyID: c.KeyID, Secret: secret}, nil
}

// StoreFor returns a store over the stack's tables.
func StoreFor(s *Stack, db dynamo.Stores) dynamo.Stores {
	r := s.Resources.Tables
	return dynamo.New(db.Client(), dynamo.Tables{Users: r["UsersTable"], Groups: r["GroupsTable"], Messages: r["MessagesTable"],
		Jobs: r["JobsTable"], Connections: r["ConnectionsTable"]})
}

// Client calls the local REST API.
type Client struct {
	Base  string
	Token string
	HTTP  *http.Client
}

// Do sends a JSON request and decodes a JSON reply into out (if non-nil);
// it returns the status.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("local: %s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("local: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// AdminToken trades an app credential for an admin token.
func AdminToken(ctx context.Context, base string, cred AdminCred) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cred.KeyID}, "client_secret": {cred.Secret}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/auth/token", bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("local: token grant failed with status %d", resp.StatusCode)
	}
	return out.AccessToken, nil
}

// hasRoute reports whether the template routes key ("POST /v1/groups").
func hasRoute(t *template.Template, key string) bool {
	for _, r := range t.RestRoutes() {
		if r.Key() == key {
			return true
		}
	}
	return false
}

// Seed creates a first admin credential, the demo users alice and bob
// and the moderator mod (with user tokens), and, when the template routes
// them, a demo group of alice and bob and a first message each way, all
// through the REST API.
func Seed(ctx context.Context, s *Stack, db dynamo.Stores, t *template.Template, log *slog.Logger) (Info, error) {
	info := Info{RESTURL: s.RESTURL, WebSocketURL: s.WebSocketURL}
	cred, err := CreateCredential(ctx, db, "make dev")
	if err != nil {
		return info, err
	}
	info.Admin = cred
	token, err := AdminToken(ctx, s.RESTURL, cred)
	if err != nil {
		return info, err
	}
	admin := &Client{Base: s.RESTURL, Token: token}
	for _, u := range []struct{ id, nick, role string }{{"alice", "Alice", ""}, {"bob", "Bob", ""}, {"mod", "Moderator", "moderator"}} {
		if u.role != "" && !hasRoute(t, "PUT /v1/users/{user_id}/role") {
			continue
		}
		status, err := admin.Do(ctx, "POST", "/v1/users", map[string]string{"user_id": u.id, "nickname": u.nick}, nil)
		if err != nil && status != http.StatusConflict { // an emulator kept from an earlier run has them
			return info, err
		}
		if u.role != "" {
			if _, err := admin.Do(ctx, "PUT", "/v1/users/"+u.id+"/role", map[string]string{"role": u.role}, nil); err != nil {
				return info, err
			}
		}
		var issued struct {
			AccessToken string `json:"access_token"`
		}
		if _, err := admin.Do(ctx, "POST", "/v1/users/"+u.id+"/tokens", map[string]int{"ttl_seconds": 86400}, &issued); err != nil {
			return info, err
		}
		info.DemoUsers = append(info.DemoUsers, DemoUser{UserID: u.id, Token: issued.AccessToken, Role: u.role})
	}
	if !hasRoute(t, "POST /v1/groups") {
		// TODO(groups): this branch goes once every template has POST /v1/groups.
		log.Info("template has no POST /v1/groups: demo group skipped")
	} else {
		status, err := admin.Do(ctx, "POST", "/v1/groups", map[string]any{"group_id": "demo", "owner_id": "alice", "name": "Demo group", "members": []string{"bob"}}, nil)
		if err != nil && status != http.StatusConflict {
			return info, err
		}
		info.DemoGroupID = "demo"
	}
	if hasRoute(t, "POST /v1/messages") {
		first := []map[string]any{{"to_user": "alice", "sender_id": "bob", "client_msg_id": "demo-welcome-dm", "text": "Hi Alice! Open this DM as bob in another tab and chat."}}
		if info.DemoGroupID != "" {
			first = append(first, map[string]any{"to_group": info.DemoGroupID, "system": true, "client_msg_id": "demo-welcome-group", "text": "Welcome to the demo group."})
		}
		for _, m := range first {
			if _, err := admin.Do(ctx, "POST", "/v1/messages", m, nil); err != nil {
				log.Warn("demo message not sent", "err", err.Error())
			}
		}
	}
	return info, nil
}

// WriteInfo writes path (mode 0600: it holds a secret) atomically.
func WriteInfo(path string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
