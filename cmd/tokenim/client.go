package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIError is the API's error envelope {"error":{"code","message","request_id"}}
// (docs/errors.md), or a stand-in when the reply was not one.
type APIError struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

func (e *APIError) Error() string {
	s := e.Code + ": " + e.Message
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// tokenMargin is how long before its expiry an admin token is replaced, so
// a request never leaves with a token that expires on the way.
const tokenMargin = time.Minute

// Client calls the TokenIM REST API as an admin. With a credential it
// obtains admin tokens itself (client-credentials grant) and replaces them
// before they expire and once more if the API answers token_expired.
type Client struct {
	Endpoint string
	KeyID    string
	Secret   string
	HTTP     *http.Client
	// Warn receives one line per deprecated route the API reports (nil: none).
	Warn io.Writer
	// now is time.Now; tests move it.
	now func() time.Time

	mu      sync.Mutex
	warned  map[string]bool
	token   string
	expires time.Time // zero: a fixed token given by the user
	fixed   bool
	// mint, when set, obtains tokens instead of the client-credentials
	// grant (a user's tokens, minted with an admin client).
	mint func(ctx context.Context) (token string, lifetime time.Duration, err error)
}

// NewUserClient returns a client that acts as userID with user tokens
// minted by admin (POST /v1/users/{user_id}/tokens, ttl seconds each),
// minted again before one expires and after a 401, like admin tokens.
func NewUserClient(admin *Client, endpoint, userID string, ttl int) *Client {
	c := NewClient(Profile{Endpoint: endpoint})
	c.now = admin.now
	c.mint = func(ctx context.Context) (string, time.Duration, error) {
		var tok struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		_, err := admin.Do(ctx, Request{Method: "POST", Path: "/v1/users/" + pathEscape(userID) + "/tokens",
			JSON: map[string]any{"ttl_seconds": ttl}}, &tok)
		return tok.AccessToken, time.Duration(tok.ExpiresIn) * time.Second, err
	}
	return c
}

// NewClient returns a client for a profile.
func NewClient(p Profile) *Client {
	c := &Client{Endpoint: strings.TrimRight(p.Endpoint, "/"), KeyID: p.KeyID, Secret: p.Secret,
		HTTP: &http.Client{Timeout: 2 * time.Minute}, now: time.Now}
	if p.Token != "" {
		c.token, c.fixed = p.Token, true
	}
	return c
}

// Token returns a valid admin token, fetching a new one when there is none
// or the current one is about to expire.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed || (c.token != "" && c.now().Add(tokenMargin).Before(c.expires)) {
		return c.token, nil
	}
	if c.mint != nil {
		tok, life, err := c.mint(ctx)
		if err != nil {
			return "", err
		}
		c.token, c.expires = tok, c.now().Add(life)
		return c.token, nil
	}
	if c.KeyID == "" || c.Secret == "" {
		return "", fmt.Errorf("no credential: give --key-id and --secret, TOKENIM_KEY_ID and TOKENIM_SECRET, a profile, or --local")
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	// The token endpoint limits requests per credential (429 rate_limited
	// with Retry-After): several quick commands in a row wait and retry.
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/v1/auth/token", strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.KeyID, c.Secret)
		h, err := c.send(req, &out)
		var ae *APIError
		if err == nil {
			break
		}
		if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || attempt >= 5 {
			return "", err
		}
		wait := 200 * time.Millisecond
		if secs, perr := strconv.Atoi(h.Get("Retry-After")); perr == nil && secs > 0 {
			wait = min(time.Duration(secs)*time.Second, 5*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	c.token, c.expires = out.AccessToken, c.now().Add(time.Duration(out.ExpiresIn)*time.Second)
	return c.token, nil
}

// dropToken forgets the current token (the API said it expired).
func (c *Client) dropToken(old string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == old && !c.fixed {
		c.token = ""
	}
}

// Request is one API call.
type Request struct {
	Method      string
	Path        string // with query
	JSON        any    // a JSON body, or
	Body        []byte // a raw body with ContentType
	ContentType string
	Header      map[string]string
}

// Do sends r with an admin token and decodes a 2xx JSON reply into out
// (if non-nil). Any other status is an *APIError.
func (c *Client) Do(ctx context.Context, r Request, out any) (http.Header, error) {
	body, ctype := r.Body, r.ContentType
	if r.JSON != nil {
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, err
		}
		body, ctype = b, "application/json"
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, r.Method, c.Endpoint+r.Path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range r.Header {
			req.Header.Set(k, v)
		}
		h, err := c.send(req, out)
		// A token can expire between our check and the API's (clock skew,
		// a long upload): fetch a new one and send once more.
		if e, ok := err.(*APIError); ok && attempt == 0 && e.Status == http.StatusUnauthorized && !c.fixed {
			c.dropToken(tok)
			continue
		}
		return h, err
	}
}

func (c *Client) send(req *http.Request, out any) (http.Header, error) {
	req.Header.Set("User-Agent", "tokenim-cli/"+version)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	c.warnDeprecated(req, resp.Header)
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.Header, err
	}
	if resp.StatusCode >= 300 {
		return resp.Header, decodeError(resp, b)
	}
	if out != nil && len(b) > 0 {
		if raw, ok := out.(*[]byte); ok {
			*raw = b
			return resp.Header, nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: reply is not the expected JSON: %w", req.Method, req.URL.Path, err)
		}
	}
	return resp.Header, nil
}

func decodeError(resp *http.Response, b []byte) *APIError {
	var env struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && env.Error != nil && env.Error.Code != "" {
		env.Error.Status = resp.StatusCode
		return env.Error
	}
	// Not TokenIM's envelope (a proxy, a wrong endpoint): say what came back.
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return &APIError{Status: resp.StatusCode, Code: fmt.Sprintf("http_%d", resp.StatusCode), Message: msg,
		RequestID: resp.Header.Get("X-Amzn-Requestid")}
}

// warnDeprecated says once per route that the API has deprecated it
// (Deprecation, Sunset and Link headers: docs/versioning.md).
func (c *Client) warnDeprecated(req *http.Request, h http.Header) {
	if c.Warn == nil || h.Get("Deprecation") == "" {
		return
	}
	key := req.Method + " " + req.URL.Path
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.warned[key] {
		return
	}
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	c.warned[key] = true
	fmt.Fprintf(c.Warn, "warning: %s is deprecated; it stops working after %s; use instead: %s\n",
		key, firstNonEmpty(h.Get("Sunset"), "(no date)"), firstNonEmpty(h.Get("Link"), "(see CHANGELOG.md)"))
}
