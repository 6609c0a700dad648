// Package realtimetest is a fake of API Gateway's @connections management
// API for tests: real SDK clients (apigw.Pusher) post to it, so
// request counts, retries and 410s are exercised end to end without a
// WebSocket gateway.
package realtimetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tokenim/tokenim/shared/aws/apigw"
	"github.com/tokenim/tokenim/shared/awsclient"
)

// Gateway records what is posted to each connection. Connections are
// open once Open is called; any other id answers 410 Gone, as API Gateway
// does for a closed connection.
type Gateway struct {
	URL string // the management endpoint, e.g. http://127.0.0.1:port/prod

	mu     sync.Mutex
	open   map[string]bool
	frames map[string][][]byte
	closed []string
	// fail maps a connection id to statuses to answer before succeeding
	// (e.g. 429, 500): one per attempt.
	fail  map[string][]int
	posts int
}

// New starts a gateway; it stops when the test ends.
func New(t testing.TB) *Gateway {
	t.Helper()
	g := &Gateway{open: map[string]bool{}, frames: map[string][][]byte{}, fail: map[string][]int{}}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/prod"
	return g
}

// Fast is awsclient.DefaultPolicy with short backoffs (fast tests).
var Fast = awsclient.Policy{MaxAttempts: awsclient.DefaultPolicy.MaxAttempts, BaseDelay: time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// Pusher returns a real apigw.Pusher for the gateway (cfg may be counted).
func (g *Gateway) Pusher(cfg aws.Config) *apigw.Pusher {
	cfg = cfg.Copy()
	Fast.Apply(&cfg)
	return apigw.New(cfg, g.URL)
}

// Open marks connection ids open.
func (g *Gateway) Open(ids ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		g.open[id] = true
	}
}

// Drop closes a connection without telling anyone (a stale record).
func (g *Gateway) Drop(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.open, id)
}

// FailNext makes the next len(statuses) posts to id answer those statuses.
func (g *Gateway) FailNext(id string, statuses ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail[id] = append(g.fail[id], statuses...)
}

// Frames returns the frames posted to id, decoded.
func (g *Gateway) Frames(id string) []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []map[string]any
	for _, b := range g.frames[id] {
		var m map[string]any
		json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

// Posts is the number of POST requests received (every attempt).
func (g *Gateway) Posts() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.posts
}

// Closed lists the connections closed through DELETE.
func (g *Gateway) Closed() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.closed...)
}

// Reset forgets recorded frames.
func (g *Gateway) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frames = map[string][][]byte{}
	g.posts = 0
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	_, id, ok := strings.Cut(r.URL.Path, "/@connections/")
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Method == http.MethodPost {
		g.posts++
		if f := g.fail[id]; len(f) > 0 {
			g.fail[id] = f[1:]
			typ := map[int]string{http.StatusTooManyRequests: "LimitExceededException", http.StatusForbidden: "ForbiddenException",
				http.StatusGone: "GoneException"}[f[0]]
			if typ == "" {
				typ = "InternalServerError"
			}
			errorReply(w, f[0], typ)
			return
		}
	}
	if !g.open[id] {
		errorReply(w, http.StatusGone, "GoneException")
		return
	}
	switch r.Method {
	case http.MethodPost:
		g.frames[id] = append(g.frames[id], body)
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		delete(g.open, id)
		g.closed = append(g.closed, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		errorReply(w, http.StatusForbidden, "ForbiddenException")
	}
}

func errorReply(w http.ResponseWriter, status int, typ string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	io.WriteString(w, `{"message":null}`)
}
