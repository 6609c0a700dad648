// Package wsclient is the WebSocket client of the benchmarks that hold many
// sockets on a local stack (infra/bench's delivery under load,
// infra/local's BenchmarkLocalWebSocket1000): one reader goroutine per
// socket that records every message.created push by (conversation, seq)
// with its arrival time, keeps each request's reply, and wakes waiters by
// request_id or by a pushed message's client_msg_id.
package wsclient

import (
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Push is one message.created frame as a socket got it.
type Push struct {
	Conv        string
	Seq         int64
	ClientMsgID string
	SenderID    string
	At          time.Time
}

// Reply is the server's answer to a client frame: "ack", "pong" or
// "error" (with its code).
type Reply struct {
	Type string
	Code string
	At   time.Time
	// Conv is the conversation of an acked send.
	Conv string
}

// Client is one socket.
type Client struct {
	conn *websocket.Conn
	wmu  sync.Mutex

	mu       sync.Mutex
	wait     map[string]chan struct{}
	pushes   []Push
	replies  map[string]Reply
	generic  int // API Gateway's generic frames ("Internal server error", throttling): they name no request
	closedAt time.Time
	done     chan struct{}
}

// Dial connects to url (the stack's WebSocket URL with its query).
func Dial(url string) (*Client, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}

// New starts reading c.
func New(c *websocket.Conn) *Client {
	cl := &Client{conn: c, wait: map[string]chan struct{}{}, replies: map[string]Reply{}, done: make(chan struct{})}
	go cl.read()
	return cl
}

// frame is every server frame, the fields read here (docs/websocket.md).
type frame struct {
	Type      string          `json:"type"`
	RequestID string          `json:"request_id"`
	Code      string          `json:"code"`
	Message   json.RawMessage `json:"message"`
	Result    struct {
		Message struct {
			ConversationID string `json:"conversation_id"`
		} `json:"message"`
	} `json:"result"`
}

type message struct {
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	ClientMsgID    string `json:"client_msg_id"`
	SenderID       string `json:"sender_id"`
}

func (c *Client) read() {
	defer func() {
		c.mu.Lock()
		c.closedAt = time.Now()
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		var f frame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		key := ""
		c.mu.Lock()
		switch f.Type {
		case "message.created":
			var m message
			if json.Unmarshal(f.Message, &m) == nil {
				c.pushes = append(c.pushes, Push{Conv: m.ConversationID, Seq: m.Seq, ClientMsgID: m.ClientMsgID, SenderID: m.SenderID, At: now})
				key = m.ClientMsgID
			}
		case "ack", "pong", "error":
			if _, seen := c.replies[f.RequestID]; !seen {
				c.replies[f.RequestID] = Reply{Type: f.Type, Code: f.Code, At: now, Conv: f.Result.Message.ConversationID}
			}
			key = f.RequestID
		case "":
			c.generic++
		}
		ch := c.wait[key]
		delete(c.wait, key)
		c.mu.Unlock()
		if ch != nil {
			close(ch)
		}
	}
}

// Expect returns a channel closed when a reply to request key, or a push
// with client_msg_id key, arrives. Call it before sending.
func (c *Client) Expect(key string) <-chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	c.wait[key] = ch
	c.mu.Unlock()
	return ch
}

// Send writes v as one text frame.
func (c *Client) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// Pushes is a copy of the message.created pushes so far, in arrival order.
func (c *Client) Pushes() []Push {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Push(nil), c.pushes...)
}

// Reply is the first reply to request id, if any came.
func (c *Client) Reply(id string) (Reply, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.replies[id]
	return r, ok
}

// Generic is how many generic frames (no request id) the socket got.
func (c *Client) Generic() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generic
}

// ClosedAt is when the socket ended (zero while open).
func (c *Client) ClosedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedAt
}

// Close closes the socket and waits for the reader to end.
func (c *Client) Close() {
	c.conn.Close()
	<-c.done
}

// Wait reports whether ch closed within d.
func Wait(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// Percentile is the p-th percentile (0-100, nearest rank) of d; 0 when d
// is empty.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Order counts, over one socket's pushes in arrival order, duplicates
// (a conversation+seq it already got) and out-of-order pushes (a seq lower
// than one already got for that conversation, not a duplicate).
func Order(pushes []Push) (duplicated, outOfOrder int) {
	seen := map[string]map[int64]bool{}
	highest := map[string]int64{}
	for _, p := range pushes {
		s := seen[p.Conv]
		if s == nil {
			s = map[int64]bool{}
			seen[p.Conv] = s
		}
		switch {
		case s[p.Seq]:
			duplicated++
		case p.Seq < highest[p.Conv]:
			outOfOrder++
		}
		s[p.Seq] = true
		highest[p.Conv] = max(highest[p.Conv], p.Seq)
	}
	return duplicated, outOfOrder
}
