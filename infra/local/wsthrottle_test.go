package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// oneSandbox is a function with a concurrency of one: an invocation whose
// body asks to "hold" keeps the sandbox until release is closed; one that
// finds it busy waits for it as long as ctx allows (runtime.Pool's rule).
type oneSandbox struct {
	slot    chan struct{}
	release chan struct{}
	held    chan struct{}
}

func (f *oneSandbox) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	select {
	case f.slot <- struct{}{}:
	default:
		select {
		case f.slot <- struct{}{}:
		case <-ctx.Done():
			return nil, &runtime.Error{Kind: runtime.Throttled, Type: "TooManyRequestsException", Message: "no free sandbox"}
		}
	}
	defer func() { <-f.slot }()
	if strings.Contains(string(payload), `\"hold\"`) {
		close(f.held)
		<-f.release
	}
	return []byte(`{"statusCode":200}`), nil
}

// TestWebSocketThrottledAtOnce: when the route's function has no free
// sandbox, a frame gets API Gateway's generic frame and a handshake a 500
// at once, as Lambda throttles a synchronous invocation at once; neither
// waits for a sandbox to free up.
func TestWebSocketThrottledAtOnce(t *testing.T) {
	tests := []struct {
		name   string
		routes []string
		probe  func(t *testing.T, url string) string // what the second client got
		want   string
	}{
		{"frame gets the generic frame", []string{"$default"}, func(t *testing.T, url string) string {
			t.Helper()
			c, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				return "dial: " + err.Error()
			}
			defer c.Close()
			c.WriteMessage(websocket.TextMessage, []byte(`{"action":"hold"}`))
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, data, err := c.ReadMessage()
			if err != nil {
				return "read: " + err.Error()
			}
			var f map[string]string
			json.Unmarshal(data, &f)
			return f["message"]
		}, "Internal server error"},
		{"handshake gets 500", []string{"$connect", "$default"}, func(t *testing.T, url string) string {
			t.Helper()
			d := websocket.Dialer{HandshakeTimeout: 3 * time.Second}
			c, resp, err := d.Dial(url, nil)
			if err == nil {
				c.Close()
				return "connected"
			}
			if resp == nil {
				return err.Error()
			}
			return http.StatusText(resp.StatusCode)
		}, "Internal Server Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn := &oneSandbox{slot: make(chan struct{}, 1), release: make(chan struct{}), held: make(chan struct{})}
			api := template.WebSocketAPI{LogicalID: "WS", RouteSelectionExpression: "$request.body.action"}
			for _, r := range tc.routes {
				api.Routes = append(api.Routes, template.WebSocketRoute{RouteKey: r, Function: "F"})
			}
			g, err := NewWSGateway(api, map[string]Invoker{"F": fn}, "prod", "us-east-1", "000000000000", DefaultWSLimits,
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			holder, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			holder.WriteMessage(websocket.TextMessage, []byte(`{"action":"x","do":"hold"}`))
			select {
			case <-fn.held:
			case <-time.After(5 * time.Second):
				t.Fatal("the holding frame never ran")
			}
			start := time.Now()
			got := tc.probe(t, url)
			close(fn.release)
			if got != tc.want {
				t.Errorf("second client got %q, want %q", got, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %v: throttling must not wait for a sandbox", d)
			}
		})
	}
}
