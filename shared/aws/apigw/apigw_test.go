package apigw_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/realtime/realtimetest"
)

// cfg is a client configuration with the one retry policy (as
// awsclient.Load sets it); the gateway is a local fake, no emulator needed.
func cfg() aws.Config {
	c := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	awsclient.DefaultPolicy.Apply(&c)
	return c
}

func TestPush(t *testing.T) {
	attempts := awsclient.DefaultPolicy.MaxAttempts
	tests := []struct {
		name      string
		open      bool
		fail      []int // statuses answered before the gateway's own
		wantErr   error // nil: success
		retryable bool
		posts     int
	}{
		{"open connection", true, nil, nil, false, 1},
		{"closed connection is ErrGone", false, nil, realtime.ErrGone, false, 1},
		{"410 on an open one is ErrGone", true, []int{http.StatusGone}, realtime.ErrGone, false, 1},
		{"403 is ErrRefused", true, []int{http.StatusForbidden}, realtime.ErrRefused, false, 1},
		{"429 then success", true, []int{http.StatusTooManyRequests}, nil, false, 2},
		{"5xx on every attempt stays retryable", true, slices.Repeat([]int{http.StatusInternalServerError}, attempts), errors.New("any"), true, attempts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := realtimetest.New(t)
			if tc.open {
				g.Open("c1")
			}
			g.FailNext("c1", tc.fail...)
			err := g.Pusher(cfg()).Push(context.Background(), "c1", []byte(`{"type":"pong"}`))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("push: %v", err)
			case tc.wantErr == nil && len(g.Frames("c1")) != 1:
				t.Errorf("frames %v, want the one pushed", g.Frames("c1"))
			case tc.wantErr == realtime.ErrGone || tc.wantErr == realtime.ErrRefused:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err %v, want %v", err, tc.wantErr)
				}
			case tc.wantErr != nil && (err == nil || errors.Is(err, realtime.ErrGone) || errors.Is(err, realtime.ErrRefused)):
				t.Errorf("err %v, want a plain failure", err)
			}
			if got := realtime.Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			if g.Posts() != tc.posts {
				t.Errorf("%d posts, want %d", g.Posts(), tc.posts)
			}
		})
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name string
		open bool
	}{
		{"open connection is deleted", true},
		{"closed connection is not an error", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := realtimetest.New(t)
			if tc.open {
				g.Open("c1")
			}
			if err := g.Pusher(cfg()).Close(context.Background(), "c1"); err != nil {
				t.Fatalf("close: %v", err)
			}
			if closed := g.Closed(); tc.open != (len(closed) == 1 && closed[0] == "c1") {
				t.Errorf("closed %v, open before: %v", closed, tc.open)
			}
		})
	}
}
