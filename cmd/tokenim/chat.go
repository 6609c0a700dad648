package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"
)

// chatOpts are tokenim chat's flags.
type chatOpts struct {
	as, with, group, conv string
	wsURL                 string
	history               int
	// tokenTTL is the lifetime of each user token minted for the session;
	// a new one is minted before it expires (at the next connect).
	tokenTTL int
	// reconnectDelay is the first wait before reconnecting after a drop;
	// it doubles (with jitter) up to 10 s.
	reconnectDelay time.Duration
}

func (a *app) chatCommand() *cobra.Command {
	var o chatOpts
	cmd := &cobra.Command{
		Use:   "chat --as USER [--with USER | --group GROUP | --conversation ID]",
		Short: "Chat in a terminal as a user: history, send, live messages",
		Long: `Mints a token for USER with the admin credential, shows the chosen
conversation's history, sends each line you type and prints messages as
they arrive over the WebSocket API. After a dropped connection it
reconnects and syncs what it missed (docs/websocket.md, Staying in sync).
Without --with, --group or --conversation it lists USER's conversations to
pick from. Type /quit (or Ctrl-D) to leave.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runChat(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.as, "as", "", "the user to chat as (required)")
	f.StringVar(&o.with, "with", "", "open the direct conversation with this user")
	f.StringVar(&o.group, "group", "", "open this group's conversation")
	f.StringVar(&o.conv, "conversation", "", "open this conversation id")
	f.IntVar(&o.history, "history", 20, "messages of history to show")
	f.StringVar(&o.wsURL, "websocket-url", "", "WebSocket API URL, the stack output WebSocketUrl (env TOKENIM_WEBSOCKET_URL; default: the profile's, or --local's)")
	f.DurationVar(&o.reconnectDelay, "reconnect-delay", 500*time.Millisecond, "first wait before reconnecting")
	f.MarkHidden("reconnect-delay")
	f.IntVar(&o.tokenTTL, "token-ttl", 86400, "lifetime in seconds of each user token the session mints (60 to 2592000)")
	f.MarkHidden("token-ttl")
	cmd.MarkFlagRequired("as")
	return cmd
}

// chatMessage is the part of a Message the terminal shows.
type chatMessage struct {
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Kind           string `json:"kind"`
	SenderID       string `json:"sender_id"`
	SenderType     string `json:"sender_type"`
	Text           string `json:"text"`
	RefSeq         int64  `json:"ref_seq"`
	Recalled       bool   `json:"recalled"`
}

// chat is one terminal session.
type chat struct {
	a      *app
	o      chatOpts
	user   *Client // REST as the user; its token also opens the socket
	wsURL  string
	conv   string // the open conversation ("" until the first send of a new DM)
	to     map[string]any
	mu     sync.Mutex
	last   int64 // highest seq shown in conv
	ws     *websocket.Conn
	wsMu   sync.Mutex // one writer at a time
	nextID int
	acks   map[string]chan json.RawMessage
}

func (a *app) runChat(ctx context.Context, o chatOpts) error {
	admin, err := a.client()
	if err != nil {
		return err
	}
	prof, _ := a.flags.resolve()
	wsURL := firstNonEmpty(o.wsURL, os.Getenv("TOKENIM_WEBSOCKET_URL"), prof.WebSocket, deriveWS(prof.Endpoint))
	// The user's token is minted now and again before it expires: a
	// session outlives one token (the socket reconnects at least every
	// 2 hours, docs/websocket.md, and each connect takes a valid token).
	c := &chat{a: a, o: o, wsURL: wsURL, acks: map[string]chan json.RawMessage{},
		user: NewUserClient(admin, prof.Endpoint, o.as, o.tokenTTL)}
	if _, err := c.user.Token(ctx); err != nil {
		return err
	}
	lines := make(chan string)
	go func() { // stdin, line by line, until EOF
		defer close(lines)
		sc := bufio.NewScanner(a.stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := c.choose(ctx, lines); err != nil {
		return err
	}
	if err := c.showHistory(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := c.connect(ctx); err != nil {
		return err
	}
	go c.readLoop(ctx)
	fmt.Fprintln(a.stdout, "-- connected; type a message and Enter, /quit to leave")
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "/quit" {
				c.close()
				return nil
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := c.send(ctx, line); err != nil {
				fmt.Fprintln(a.stdout, "!! not sent:", errText(err))
			}
		}
	}
}

// deriveWS guesses the WebSocket URL when the profile has none: make dev
// serves it one port up; on AWS it is the stack output WebSocketUrl.
func deriveWS(rest string) string {
	u, err := url.Parse(rest)
	if err != nil {
		return ""
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		u.Host = u.Hostname() + ":" + strconv.Itoa(p+1)
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	return u.String()
}

func errText(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}

// choose settles which conversation to open: a flag, or a pick from the
// user's conversations.
func (c *chat) choose(ctx context.Context, lines <-chan string) error {
	var page struct {
		Conversations []struct {
			ConversationID string `json:"conversation_id"`
			Kind           string `json:"kind"`
			PeerID         string `json:"peer_id"`
			GroupID        string `json:"group_id"`
			UnreadCount    int    `json:"unread_count"`
		} `json:"conversations"`
	}
	if _, err := c.user.Do(ctx, Request{Method: "GET", Path: "/v1/conversations?limit=50"}, &page); err != nil {
		return err
	}
	switch {
	case c.o.conv != "":
		c.conv = c.o.conv
		c.to = map[string]any{"conversation_id": c.o.conv}
	case c.o.group != "":
		c.to = map[string]any{"to_group": c.o.group}
		c.conv = "g:" + c.o.group
	case c.o.with != "":
		c.to = map[string]any{"to_user": c.o.with}
		for _, cv := range page.Conversations {
			if cv.Kind == "dm" && cv.PeerID == c.o.with {
				c.conv = cv.ConversationID
			}
		}
	default:
		if len(page.Conversations) == 0 {
			return usageError{fmt.Errorf("%s has no conversations yet: start one with --with USER or --group GROUP", c.o.as)}
		}
		for i, cv := range page.Conversations {
			fmt.Fprintf(c.a.stdout, "%3d  %-30s %s%s  unread %d\n", i+1, cv.ConversationID, cv.PeerID, cv.GroupID, cv.UnreadCount)
		}
		for {
			fmt.Fprint(c.a.stdout, "conversation number: ")
			var line string
			select {
			case <-ctx.Done():
				return ctx.Err()
			case l, ok := <-lines:
				if !ok {
					return errors.New("no conversation chosen")
				}
				line = l
			}
			n, err := strconv.Atoi(strings.TrimSpace(line))
			if err == nil && n >= 1 && n <= len(page.Conversations) {
				c.conv = page.Conversations[n-1].ConversationID
				c.to = map[string]any{"conversation_id": c.conv}
				break
			}
			fmt.Fprintf(c.a.stdout, "pick 1 to %d\n", len(page.Conversations))
		}
	}
	fmt.Fprintf(c.a.stdout, "-- %s as %s\n", firstNonEmpty(c.conv, "new conversation with "+c.o.with), c.o.as)
	return nil
}

// showHistory prints the last messages of the conversation.
func (c *chat) showHistory(ctx context.Context) error {
	if c.conv == "" || c.o.history <= 0 {
		return nil
	}
	var page struct {
		Messages []chatMessage `json:"messages"`
	}
	q := url.Values{"limit": {strconv.Itoa(min(c.o.history, 100))}}
	_, err := c.user.Do(ctx, Request{Method: "GET", Path: "/v1/conversations/" + pathEscape(c.conv) + "/messages?" + q.Encode()}, &page)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && c.o.with != "" {
		return nil // a DM that does not exist yet
	}
	if err != nil {
		return err
	}
	for _, m := range page.Messages {
		c.show(m)
	}
	return nil
}

// show prints a message once, in seq order: a seq at or below the last
// shown is a duplicate (a push racing a sync) and is dropped.
func (c *chat) show(m chatMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conv == "" {
		c.conv = m.ConversationID
	}
	if m.ConversationID != c.conv || m.Seq <= c.last {
		return
	}
	c.last = m.Seq
	who := firstNonEmpty(m.SenderID, m.SenderType)
	switch {
	case m.Kind == "edit":
		fmt.Fprintf(c.a.stdout, "[%d] %s edited #%d: %s\n", m.Seq, who, m.RefSeq, m.Text)
	case m.Kind == "recall":
		fmt.Fprintf(c.a.stdout, "[%d] %s recalled #%d\n", m.Seq, who, m.RefSeq)
	case m.Recalled:
		fmt.Fprintf(c.a.stdout, "[%d] %s: (recalled)\n", m.Seq, who)
	default:
		fmt.Fprintf(c.a.stdout, "[%d] %s: %s\n", m.Seq, who, m.Text)
	}
}

func (c *chat) lastSeq() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// connect opens the socket with a valid user token (minted again when
// the last is about to expire) as a subprotocol (kept out of URLs and logs).
func (c *chat) connect(ctx context.Context) error {
	tok, err := c.user.Token(ctx)
	if err != nil {
		return err
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{"tokenim", tok}}
	ws, resp, err := d.DialContext(ctx, c.wsURL+"?device=tokenim-cli", nil)
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusUnauthorized {
				c.user.dropToken(tok) // expired or revoked early: the next attempt mints another
			}
			return fmt.Errorf("websocket %s: handshake refused (%s)", c.wsURL, resp.Status)
		}
		return fmt.Errorf("websocket %s: %w", c.wsURL, err)
	}
	c.wsMu.Lock()
	c.ws = ws
	c.wsMu.Unlock()
	return nil
}

func (c *chat) close() {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if c.ws != nil {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.ws.Close()
	}
}

// request sends one frame and waits for its reply (matched by request_id).
func (c *chat) request(ctx context.Context, frame map[string]any) (json.RawMessage, error) {
	c.wsMu.Lock()
	c.nextID++
	id := "cli-" + strconv.Itoa(c.nextID)
	ch := make(chan json.RawMessage, 1)
	c.acks[id] = ch
	frame["request_id"] = id
	ws := c.ws
	err := ws.WriteJSON(frame)
	c.wsMu.Unlock()
	defer func() {
		c.wsMu.Lock()
		delete(c.acks, id)
		c.wsMu.Unlock()
	}()
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(30 * time.Second) // docs/websocket.md: no reply within 30 s counts as a failure
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-t.C:
		return nil, errors.New("no reply within 30 s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reply is a server reply frame.
type reply struct {
	Type      string          `json:"type"`
	RequestID string          `json:"request_id"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Result    json.RawMessage `json:"result"`
}

func (r reply) err() error {
	if r.Type == "error" {
		return &APIError{Code: r.Code, Message: r.Message, RequestID: r.RequestID}
	}
	return nil
}

// send sends a line. A client_msg_id makes a retry after a drop safe: the
// server returns the stored message instead of storing it twice.
func (c *chat) send(ctx context.Context, text string) error {
	b := make([]byte, 8)
	crand.Read(b)
	frame := map[string]any{"action": "send", "text": text, "client_msg_id": "cli-" + hex.EncodeToString(b)}
	for k, v := range c.to {
		frame[k] = v
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		raw, err := c.request(ctx, frame)
		if err == nil {
			var r reply
			json.Unmarshal(raw, &r)
			if err := r.err(); err != nil {
				return err
			}
			var res struct {
				Message chatMessage `json:"message"`
			}
			json.Unmarshal(r.Result, &res)
			c.show(res.Message)
			if c.to["to_user"] != nil && c.conv != "" {
				c.to = map[string]any{"conversation_id": c.conv}
			}
			return nil
		}
		lastErr = err
		if err := sleep(ctx, time.Second); err != nil { // the read loop reconnects meanwhile
			return err
		}
	}
	return lastErr
}

// readLoop prints pushes and routes replies; when the socket drops it
// reconnects with jittered backoff and syncs what it missed.
func (c *chat) readLoop(ctx context.Context) {
	for ctx.Err() == nil {
		c.wsMu.Lock()
		ws := c.ws
		c.wsMu.Unlock()
		_, data, err := ws.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fmt.Fprintln(c.a.stdout, "-- connection lost; reconnecting")
			if err := c.reconnect(ctx); err != nil {
				fmt.Fprintln(c.a.stdout, "-- gave up reconnecting:", err)
				return
			}
			continue
		}
		c.handle(ctx, data)
	}
}

func (c *chat) handle(ctx context.Context, data []byte) {
	// Only type and request_id first: a push's "message" is an object
	// where an error reply's is a string.
	var r struct {
		Type      string `json:"type"`
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(data, &r) != nil {
		return
	}
	if r.RequestID != "" && (r.Type == "ack" || r.Type == "error" || r.Type == "pong") {
		c.wsMu.Lock()
		ch := c.acks[r.RequestID]
		c.wsMu.Unlock()
		if ch != nil {
			ch <- data
		}
		return
	}
	var ev struct {
		Type           string      `json:"type"`
		ConversationID string      `json:"conversation_id"`
		Seq            int64       `json:"seq"`
		EventSeq       int64       `json:"event_seq"`
		Message        chatMessage `json:"message"`
		EventMessage   chatMessage `json:"event_message"`
	}
	if json.Unmarshal(data, &ev) != nil || ev.ConversationID != c.currentConv() {
		return
	}
	m, seq := ev.Message, ev.Seq
	switch ev.Type {
	case "message.created":
	case "message.edited", "message.recalled":
		m, seq = ev.EventMessage, ev.EventSeq
	default:
		return
	}
	// A gap means a push was missed: sync from the last seq shown first.
	if last := c.lastSeq(); seq > last+1 {
		go c.sync(ctx, "")
		return
	}
	c.show(m)
}

func (c *chat) currentConv() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conv
}

func (c *chat) reconnect(ctx context.Context) error {
	delay := c.o.reconnectDelay
	for attempt := 1; attempt <= 20; attempt++ {
		// Full jitter: many clients dropped at once do not return at once.
		if err := sleep(ctx, delay/2+rand.N(delay/2+1)); err != nil {
			return err
		}
		if err := c.connect(ctx); err == nil {
			go c.sync(ctx, "-- reconnected")
			return nil
		}
		delay = min(delay*2, 10*time.Second)
	}
	return errors.New("20 attempts failed")
}

// sync fetches what the open conversation has after the last seq shown
// (all pages) and prints it in order.
func (c *chat) sync(ctx context.Context, note string) {
	conv := c.currentConv()
	if conv == "" {
		return
	}
	n, cursor := 0, ""
	since := c.lastSeq()
	for page := 0; page < 100; page++ {
		frame := map[string]any{"action": "sync", "since": map[string]int64{conv: since}, "limit": 100}
		if cursor != "" {
			frame["cursor"] = cursor
		}
		raw, err := c.request(ctx, frame)
		if err != nil {
			fmt.Fprintln(c.a.stdout, "-- sync failed:", errText(err))
			return
		}
		var r reply
		json.Unmarshal(raw, &r)
		if err := r.err(); err != nil {
			fmt.Fprintln(c.a.stdout, "-- sync failed:", errText(err))
			return
		}
		var res struct {
			Messages   []chatMessage `json:"messages"`
			NextCursor string        `json:"next_cursor"`
		}
		json.Unmarshal(r.Result, &res)
		for _, m := range res.Messages {
			if m.ConversationID == conv && m.Seq > c.lastSeq() {
				n++
			}
			c.show(m)
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if note != "" {
		fmt.Fprintf(c.a.stdout, "%s; synced %d missed message(s)\n", note, n)
	}
}
