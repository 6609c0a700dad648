package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// session is one WebSocket connection of a device.
type session struct {
	n           int
	ws          *websocket.Conn
	connectedAt time.Time // the handshake completed
	syncedAt    time.Time // its connect sync finished (zero: did not)
	endedAt     time.Time // zero while open
	dropped     bool      // the harness dropped it (a lost network)
	pending     []*frame  // sent, unanswered, oldest first
	writeMu     sync.Mutex
}

// frame is one client frame sent.
type frame struct {
	reqID   string
	op      *op
	attempt int
	sess    *session
	sentAt  time.Time
	replies int       // how many replies it got (one is the promise)
	kind    replyKind // the first reply's
	replyAt time.Time
}

// op is one logical request (a send, one sync page) and its attempts.
type op struct {
	id     string
	isSend bool
	body   func(reqID string) any
	sink   chan frameReply
}

type frameReply struct {
	f            *frame
	kind         replyKind
	code         string
	retryAfterMs int
	result       json.RawMessage
}

// inFrame is any server frame.
type inFrame struct {
	Type           string          `json:"type"`
	RequestID      string          `json:"request_id"`
	Code           string          `json:"code"`
	Details        json.RawMessage `json:"details"`
	Result         json.RawMessage `json:"result"`
	ConversationID string          `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	Message        json.RawMessage `json:"message"`
}

// wireMessage is a Message of docs/openapi.yaml, the fields used here.
type wireMessage struct {
	ConversationID string    `json:"conversation_id"`
	Seq            int64     `json:"seq"`
	MessageID      string    `json:"message_id"`
	ClientMsgID    string    `json:"client_msg_id"`
	SenderID       string    `json:"sender_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// device is one app install: its sessions come and go, what it holds stays.
type device struct {
	h      *harness
	id     string
	user   *user
	dropAt time.Duration // from the run's start; 0: never dropped

	mu       sync.Mutex
	sess     *session // open session, nil while down
	up       chan struct{}
	sessions []*session
	convs    map[string]*convState
	gapWant  map[string]bool
	gapTries map[string]int // rule 3's repeated syncs of a gap still open
	gapCh    chan string
}

func newDevice(h *harness, id string, u *user) *device {
	return &device{h: h, id: id, user: u, up: make(chan struct{}), convs: map[string]*convState{}, gapWant: map[string]bool{}, gapTries: map[string]int{},
		gapCh: make(chan string, 4096)}
}

// connect dials until a handshake succeeds (a 500 is overload: back off
// 1 s doubling to 30 s, docs/websocket.md) or until the deadline, then
// syncs with every known last (rule 4).
func (d *device) connect(deadline time.Time) error {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		dialer := websocket.Dialer{HandshakeTimeout: 35 * time.Second}
		ws, resp, err := dialer.Dial(d.h.wsURL+"/?device="+d.id+"&token="+d.user.token, nil)
		if err == nil {
			d.h.st.connects.Add(1)
			d.started(ws)
			return nil
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		d.h.st.connectFailed(status)
		if status != 0 && status != http.StatusInternalServerError {
			return fmt.Errorf("device %s: handshake refused with %d", d.id, status)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if time.Now().Add(wait).After(deadline) || attempt > 20 {
			return fmt.Errorf("device %s: no connection after %d attempts: %v", d.id, attempt+1, err)
		}
		time.Sleep(wait)
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (d *device) started(ws *websocket.Conn) {
	d.mu.Lock()
	s := &session{n: len(d.sessions), ws: ws, connectedAt: time.Now()}
	d.sessions = append(d.sessions, s)
	d.sess = s
	close(d.up)
	since := map[string]int64{}
	for c, st := range d.convs {
		since[c] = st.last
	}
	d.mu.Unlock()
	go d.read(s)
	go func() {
		if d.sync(since, viaConnectSync) {
			d.mu.Lock()
			s.syncedAt = time.Now()
			d.mu.Unlock()
		}
	}()
}

// drop loses the network: the socket closes without a close frame; the
// app reconnects after 1-5 s and resyncs.
func (d *device) drop() {
	d.mu.Lock()
	s := d.sess
	if s != nil {
		s.dropped = true
	}
	d.mu.Unlock()
	if s == nil {
		return
	}
	s.ws.NetConn().Close()
}

// read serves one session's incoming frames until it ends.
func (d *device) read(s *session) {
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			d.ended(s)
			return
		}
		now := time.Now()
		var f inFrame
		if json.Unmarshal(data, &f) != nil {
			d.h.st.unreadable.Add(1)
			continue
		}
		switch f.Type {
		case "ack", "pong":
			d.answer(s, f.RequestID, frameReply{kind: replyAck, result: f.Result}, now)
		case "error":
			var det struct {
				RetryAfterMs int `json:"retry_after_ms"`
			}
			json.Unmarshal(f.Details, &det)
			d.answer(s, f.RequestID, frameReply{kind: replyError, code: f.Code, retryAfterMs: det.RetryAfterMs}, now)
		case "message.created":
			var m wireMessage
			if json.Unmarshal(f.Message, &m) != nil {
				d.h.st.unreadable.Add(1)
				continue
			}
			d.pushed(m, now)
		case "":
			var msg string
			if json.Unmarshal(f.Message, &msg) == nil && msg != "" {
				// API Gateway's generic frame names no request: frames of a
				// connection are served in order, so it answers the oldest.
				d.answer(s, "", frameReply{kind: replyGeneric, code: msg}, now)
				continue
			}
			d.h.st.unreadable.Add(1)
		default:
			d.h.st.otherEvents.Add(1)
		}
	}
}

// answer hands a reply to its frame (by request id; the oldest pending
// frame when reqID is empty).
func (d *device) answer(s *session, reqID string, r frameReply, now time.Time) {
	d.mu.Lock()
	var f *frame
	for i, p := range s.pending {
		if (reqID == "" && i == 0) || (reqID != "" && p.reqID == reqID) {
			f = p
			s.pending = append(s.pending[:i:i], s.pending[i+1:]...)
			break
		}
	}
	if f == nil {
		d.mu.Unlock()
		if f = d.h.frameByID(reqID); f != nil {
			d.h.mu.Lock()
			f.replies++
			d.h.mu.Unlock()
			d.h.st.doubleReplies.Add(1)
		} else {
			d.h.st.unmatchedReplies.Add(1)
		}
		return
	}
	d.mu.Unlock()
	d.h.mu.Lock()
	f.replies++
	f.kind, f.replyAt = r.kind, now
	d.h.mu.Unlock()
	if now.Sub(f.sentAt) > replyTimeout {
		d.h.st.lateReplies.Add(1)
	}
	r.f = f
	select {
	case f.op.sink <- r:
	default:
	}
}

// ended: the session's socket is gone. Its unanswered frames will never
// be answered on it; their ops are told so.
func (d *device) ended(s *session) {
	d.mu.Lock()
	s.endedAt = time.Now()
	pending := s.pending
	s.pending = nil
	if d.sess == s {
		d.sess = nil
		d.up = make(chan struct{})
	}
	dropped := s.dropped
	d.mu.Unlock()
	s.ws.Close()
	for _, f := range pending {
		select {
		case f.op.sink <- frameReply{f: f, kind: replyDropped}:
		default:
		}
	}
	if !dropped {
		d.h.st.lostByServer.Add(1)
	}
	if time.Now().After(d.h.reconnectEnd) {
		return
	}
	go func() {
		time.Sleep(time.Second + rand.N(4*time.Second))
		d.h.st.reconnects.Add(1)
		if err := d.connect(d.h.reconnectEnd); err != nil {
			d.h.errorf("%v", err)
		}
	}()
}

// waitUp returns the open session, waiting for a reconnect up to deadline.
func (d *device) waitUp(deadline time.Time) *session {
	for {
		d.mu.Lock()
		s, up := d.sess, d.up
		d.mu.Unlock()
		if s != nil {
			return s
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-up:
			t.Stop()
		case <-t.C:
			return nil
		}
	}
}

// do runs one op by the retry rule; it returns the reply that ended it
// and whether that was an ack.
func (d *device) do(o *op, deadline time.Time) (frameReply, bool) {
	var last frameReply
	for attempt := 0; ; attempt++ {
		s := d.waitUp(deadline)
		if s == nil {
			return last, false
		}
		f := &frame{reqID: fmt.Sprintf("%s.%d", o.id, attempt), op: o, attempt: attempt, sess: s}
		b, _ := json.Marshal(o.body(f.reqID))
		d.mu.Lock()
		f.sentAt = time.Now()
		s.pending = append(s.pending, f)
		d.mu.Unlock()
		d.h.addFrame(f)
		s.writeMu.Lock()
		s.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		err := s.ws.WriteMessage(websocket.TextMessage, b)
		s.writeMu.Unlock()
		if err != nil {
			s.ws.NetConn().Close() // the reader ends the session and reports the frame dropped
		}
		r := d.await(o, f)
		last = r
		d.h.st.reply(r)
		if r.kind == replyAck {
			return r, true
		}
		retry, wait := nextStep(r.kind, r.code, r.retryAfterMs, attempt)
		if !o.isSend && (r.kind != replyError || retryableCodes[r.code]) {
			// sync is safe to repeat: an app keeps at it (with a pause)
			// until it gets its answer, up to the deadline.
			retry, wait = true, retryPause+rand.N(retryPause/2)
		}
		if !retry || time.Now().Add(wait).After(deadline) {
			return r, false
		}
		d.h.st.retries.Add(1)
		time.Sleep(wait)
	}
}

// await waits for f's reply, or any attempt's ack, or replyTimeout.
func (d *device) await(o *op, f *frame) frameReply {
	t := time.NewTimer(replyTimeout)
	defer t.Stop()
	for {
		select {
		case r := <-o.sink:
			if r.kind == replyAck || r.f == f {
				return r
			}
		case <-t.C:
			return frameReply{f: f, kind: replyNone}
		}
	}
}

// sync pages through `sync` from since and applies what it returns.
func (d *device) sync(since map[string]int64, via source) bool {
	if via == viaConnectSync {
		d.h.st.connectSyncs.Add(1)
	} else {
		d.h.st.gapSyncs.Add(1)
	}
	cursor := ""
	for page := 0; page < 100; page++ {
		o := &op{id: fmt.Sprintf("%s-s%d", d.id, d.h.seq.Add(1)), sink: make(chan frameReply, 16)}
		cur := cursor
		o.body = func(reqID string) any {
			b := map[string]any{"action": "sync", "request_id": reqID, "since": since, "limit": 100}
			if cur != "" {
				b["cursor"] = cur
			}
			return b
		}
		r, ok := d.do(o, d.h.drainEnd)
		if !ok {
			d.h.st.syncsFailed.Add(1)
			return false
		}
		var res struct {
			Messages   []wireMessage `json:"messages"`
			NextCursor string        `json:"next_cursor"`
		}
		if json.Unmarshal(r.result, &res) != nil {
			d.h.st.unreadable.Add(1)
			return false
		}
		now := time.Now()
		for _, m := range res.Messages {
			d.hold(m, via, now)
		}
		if res.NextCursor == "" {
			return true
		}
		cursor = res.NextCursor
	}
	return false
}

// hold applies a message to the device's state.
func (d *device) hold(m wireMessage, via source, now time.Time) {
	d.mu.Lock()
	c := d.convs[m.ConversationID]
	if c == nil {
		c = newConvState()
		d.convs[m.ConversationID] = c
	}
	dup, gap, _ := c.apply(m.Seq, m.MessageID, via, now)
	want := gap && !d.gapWant[m.ConversationID]
	if want {
		d.gapWant[m.ConversationID] = true
	}
	d.mu.Unlock()
	if dup {
		d.h.st.dupsDropped.Add(1)
	}
	if want {
		select {
		case d.gapCh <- m.ConversationID:
		default:
			d.h.st.gapSyncsSkipped.Add(1)
		}
	}
}

func (d *device) pushed(m wireMessage, now time.Time) {
	d.h.st.pushes.Add(1)
	d.mu.Lock()
	_, had := d.convs[m.ConversationID]
	first := !had || d.convs[m.ConversationID].msgs[m.Seq].messageID == ""
	d.mu.Unlock()
	if first && !m.CreatedAt.IsZero() {
		d.h.latency(now.Sub(m.CreatedAt), now)
	}
	d.hold(m, viaPush, now)
}

// gapFiller runs rule 3's syncs, one conversation at a time.
func (d *device) gapFiller() {
	for {
		select {
		case conv := <-d.gapCh:
			d.mu.Lock()
			d.gapWant[conv] = false
			since := d.convs[conv].last
			d.mu.Unlock()
			d.sync(map[string]int64{conv: since}, viaGapSync)
			// A gap can be momentary (docs/websocket.md, rule 3): the
			// missing message is not yet visible to sync. Sync again
			// after 1 s, 2 s and 4 s while it stays open.
			d.mu.Lock()
			open := d.convs[conv].hasGap()
			tries := d.gapTries[conv]
			if open && tries < 3 && !d.gapWant[conv] {
				d.gapTries[conv] = tries + 1
				d.gapWant[conv] = true
				time.AfterFunc(time.Second<<tries, func() {
					select {
					case d.gapCh <- conv:
					default:
						d.h.st.gapSyncsSkipped.Add(1)
					}
				})
			} else if !open {
				delete(d.gapTries, conv)
			}
			d.mu.Unlock()
		case <-d.h.stop:
			return
		}
	}
}

// sender sends messages until the run ends: one at a time, each by the
// retry rule, a think time apart.
func (d *device) sender(think time.Duration, rng *rand.Rand) {
	n := 0
	for {
		wait := time.Duration(rng.ExpFloat64() * float64(think))
		if time.Now().Add(wait).After(d.h.runEnd) {
			return
		}
		time.Sleep(wait)
		n++
		conv, body := d.h.plan.target(d.user, rng)
		s := &sent{device: d, cmid: fmt.Sprintf("%s-%d", d.id, n), conv: conv, at: time.Now()}
		o := &op{id: s.cmid, isSend: true, sink: make(chan frameReply, 16)}
		o.body = func(reqID string) any {
			b := map[string]any{"action": "send", "request_id": reqID, "client_msg_id": s.cmid, "text": "load " + s.cmid}
			for k, v := range body {
				b[k] = v
			}
			return b
		}
		d.h.st.sends.Add(1)
		d.h.addSent(s)
		r, ok := d.do(o, d.h.sendEnd)
		if !ok {
			s.outcome = "gave_up"
			if r.kind == replyError && !retryableCodes[r.code] {
				s.outcome = "refused:" + r.code
			}
			continue
		}
		var res struct {
			Created bool        `json:"created"`
			Message wireMessage `json:"message"`
		}
		if json.Unmarshal(r.result, &res) != nil || res.Message.Seq == 0 {
			s.outcome = "unreadable_ack"
			continue
		}
		s.outcome, s.created, s.msg = "acked", res.Created, res.Message
		d.h.st.acked.Add(1)
		d.hold(res.Message, viaAck, time.Now())
	}
}
