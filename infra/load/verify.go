package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tokenim/tokenim/infra/local"
)

// truth is what the stack stored, read after the run.
type truth struct {
	history map[string][]wireMessage // conversation -> messages by seq
	heads   map[string]int64
	absent  map[string]bool // history answered not_found: no head was ever written
}

func readTruth(ctx context.Context, base string, p *plan) (*truth, error) {
	t := &truth{history: map[string][]wireMessage{}, heads: map[string]int64{}, absent: map[string]bool{}}
	var convs []string
	for c := range p.members {
		convs = append(convs, c)
	}
	var mu sync.Mutex
	err := parallel(len(convs), 8, func(i int) error {
		conv := convs[i]
		c := &local.Client{Base: base, Token: p.byID[p.members[conv][0]].token}
		msgs, found, err := history(ctx, c, conv)
		if err != nil {
			return err
		}
		head := int64(0)
		if len(msgs) > 0 {
			if head, err = headOf(ctx, c, conv); err != nil {
				return err
			}
		}
		mu.Lock()
		t.history[conv], t.heads[conv], t.absent[conv] = msgs, head, !found
		mu.Unlock()
		return nil
	})
	return t, err
}

// missing is one message a count found missing, with what explains it.
type missing struct {
	Device    string    `json:"device,omitempty"`
	Conv      string    `json:"conversation_id"`
	Seq       int64     `json:"seq"`
	CreatedAt time.Time `json:"created_at"`
	Head      int64     `json:"head"`              // the conversation's last_seq after the run
	Tail      bool      `json:"tail"`              // no later message in the conversation
	Repaired  bool      `json:"backstop_repaired"` // the backstop logged that it pushed it
	Why       string    `json:"why,omitempty"`
}

type storeChecks struct {
	Stored            int       `json:"messages_stored"`
	Gaps              int       `json:"seq_gaps"`
	StoredTwice       int       `json:"client_msg_ids_stored_twice"`
	PastHead          int       `json:"stored_past_head_after_bound"`
	AckedMissing      int       `json:"acked_missing_from_history"`
	AckedInAbsentConv int       `json:"acked_missing_conversation_not_found"`
	ConvsNotFound     int       `json:"conversations_not_found_with_acked_messages"`
	StoredNotAcked    int       `json:"stored_but_sender_never_acked"`
	FirstCreated      time.Time `json:"first_created_at"`
	LastCreated       time.Time `json:"last_created_at"`
	AckedMissingItems []missing `json:"acked_missing_items,omitempty"`
	PastHeadItems     []missing `json:"past_head_items,omitempty"`
}

func (t *truth) checkStore(h *harness, facts logFacts) storeChecks {
	var c storeChecks
	byCMID := map[string]int{}
	index := map[string]map[int64]wireMessage{}
	for conv, msgs := range t.history {
		index[conv] = map[int64]wireMessage{}
		for i, m := range msgs {
			c.Stored++
			index[conv][m.Seq] = m
			if m.Seq != int64(i+1) {
				c.Gaps++
			}
			if m.ClientMsgID != "" {
				byCMID[conv+"/"+m.SenderID+"/"+m.ClientMsgID]++
			}
			if c.FirstCreated.IsZero() || m.CreatedAt.Before(c.FirstCreated) {
				c.FirstCreated = m.CreatedAt
			}
			if m.CreatedAt.After(c.LastCreated) {
				c.LastCreated = m.CreatedAt
			}
			if m.Seq > t.heads[conv] {
				c.PastHead++
				if len(c.PastHeadItems) < 20 {
					c.PastHeadItems = append(c.PastHeadItems, t.describe(conv, m, facts))
				}
			}
		}
	}
	for _, n := range byCMID {
		if n > 1 {
			c.StoredTwice++
		}
	}
	acked := map[string]bool{}
	for _, s := range h.sents {
		if s.outcome != "acked" {
			continue
		}
		acked[s.conv+"/"+s.device.user.id+"/"+s.cmid] = true
		m, ok := index[s.msg.ConversationID][s.msg.Seq]
		if !ok || m.MessageID != s.msg.MessageID {
			c.AckedMissing++
			if t.absent[s.msg.ConversationID] {
				c.AckedInAbsentConv++
			}
			if len(c.AckedMissingItems) < 20 {
				why := "acked " + s.msg.MessageID
				if t.absent[s.msg.ConversationID] {
					why += "; history answers not_found: the conversation's head was never written"
				}
				c.AckedMissingItems = append(c.AckedMissingItems, missing{Device: s.device.id, Conv: s.msg.ConversationID, Seq: s.msg.Seq,
					CreatedAt: s.msg.CreatedAt, Head: t.heads[s.msg.ConversationID], Why: why})
			}
		}
	}
	notFound := map[string]bool{}
	for _, s := range h.sents {
		if s.outcome == "acked" && t.absent[s.msg.ConversationID] {
			notFound[s.msg.ConversationID] = true
		}
	}
	c.ConvsNotFound = len(notFound)
	for key := range byCMID {
		if !acked[key] {
			c.StoredNotAcked++
		}
	}
	return c
}

func (t *truth) describe(conv string, m wireMessage, facts logFacts) missing {
	msgs := t.history[conv]
	return missing{Conv: conv, Seq: m.Seq, CreatedAt: m.CreatedAt, Head: t.heads[conv],
		Tail:     len(msgs) > 0 && msgs[len(msgs)-1].Seq == m.Seq,
		Repaired: facts.Repaired[fmt.Sprintf("%s/%d", conv, m.Seq)]}
}

// cause sorts a missing message by what the stack's state says: the
// head never reached it (nobody finished its send: the backstop's job),
// or the head passed it (its sender's pushes were made or failed, and the
// backstop counts it delivered), and whether the device got it late.
func (t *truth) cause(conv string, m wireMessage, got held, facts logFacts) string {
	c := "head_reached"
	switch {
	case t.absent[conv]:
		c = "conversation_not_found"
	case t.heads[conv] < m.Seq:
		c = "head_behind"
	}
	if facts.Repaired[fmt.Sprintf("%s/%d", conv, m.Seq)] {
		c += ",backstop_repaired"
	}
	if got.messageID != "" {
		c += ",got_late_by_" + got.via.String()
	}
	return c
}

// deliveryChecks are the per-device counts.
type deliveryChecks struct {
	LiveExpected         int            `json:"live_expected"`
	LiveByPush           int            `json:"live_received_by_push"`
	LiveBySync           int            `json:"live_filled_by_sync"`
	LiveMissing          int            `json:"live_missing"`
	LiveMissingByCause   map[string]int `json:"live_missing_by_cause"`
	LiveMissingItems     []missing      `json:"live_missing_items,omitempty"`
	ResyncedDevices      int            `json:"resynced_devices"`
	ResyncExpected       int            `json:"resync_expected"`
	ResyncMissing        int            `json:"resync_missing_messages"`
	ResyncMissingDevs    int            `json:"resynced_devices_missing_messages"`
	ResyncMissingByCause map[string]int `json:"resync_missing_by_cause"`
	ResyncMissingItems   []missing      `json:"resync_missing_items,omitempty"`
	RepairedLatencyMax   float64        `json:"backstop_repaired_receipt_latency_max_s"`
	RepairedReceipts     int            `json:"backstop_repaired_receipts"`
}

// checkDevices: every message of a device's conversations stored while a
// session was open (created_at in [connected, end - bound]) must have
// reached that session by push or by a sync it made; every message stored
// before a device's last reconnect must be held by it at the end.
func (t *truth) checkDevices(h *harness, devices []*device, checkAt time.Time, bound time.Duration, facts logFacts) deliveryChecks {
	c := deliveryChecks{LiveMissingByCause: map[string]int{}, ResyncMissingByCause: map[string]int{}}
	for _, d := range devices {
		d.mu.Lock()
		sessions := append([]*session(nil), d.sessions...)
		own := d.id + "-"
		convs := h.plan.convsOf(d.user)
		for _, s := range sessions {
			end := s.endedAt
			if end.IsZero() {
				end = checkAt
			}
			for _, conv := range convs {
				st := d.convs[conv]
				for _, m := range t.history[conv] {
					if strings.HasPrefix(m.ClientMsgID, own) && m.SenderID == d.user.id {
						continue // its own send: the ack, not a push
					}
					if m.CreatedAt.Before(s.connectedAt) || m.CreatedAt.After(end.Add(-bound)) {
						continue
					}
					c.LiveExpected++
					var got held
					if st != nil {
						got = st.msgs[m.Seq]
					}
					switch {
					case got.messageID == m.MessageID && !got.at.After(end) && got.via == viaPush:
						c.LiveByPush++
					case got.messageID == m.MessageID && !got.at.After(end):
						c.LiveBySync++
					default:
						c.LiveMissing++
						c.LiveMissingByCause[t.cause(conv, m, got, facts)]++
						if len(c.LiveMissingItems) < 30 {
							it := t.describe(conv, m, facts)
							it.Device = fmt.Sprintf("%s#%d", d.id, s.n)
							it.Why = "not received while connected"
							if got.messageID != "" {
								it.Why = fmt.Sprintf("got it by %s %.1fs after the session ended", got.via, got.at.Sub(end).Seconds())
							}
							c.LiveMissingItems = append(c.LiveMissingItems, it)
						}
					}
					if facts.Repaired[fmt.Sprintf("%s/%d", conv, m.Seq)] && got.messageID == m.MessageID {
						c.RepairedReceipts++
						c.RepairedLatencyMax = max(c.RepairedLatencyMax, got.at.Sub(m.CreatedAt).Seconds())
					}
				}
			}
		}
		if len(sessions) > 1 {
			c.ResyncedDevices++
			last := sessions[len(sessions)-1]
			missed := 0
			for _, conv := range convs {
				st := d.convs[conv]
				for _, m := range t.history[conv] {
					if !m.CreatedAt.Before(last.connectedAt) {
						continue
					}
					c.ResyncExpected++
					if st != nil && st.msgs[m.Seq].messageID == m.MessageID {
						continue
					}
					missed++
					var got held
					if st != nil {
						got = st.msgs[m.Seq]
					}
					c.ResyncMissingByCause[t.cause(conv, m, got, facts)]++
					if len(c.ResyncMissingItems) < 30 {
						it := t.describe(conv, m, facts)
						it.Device = fmt.Sprintf("%s#%d", d.id, last.n)
						it.Why = fmt.Sprintf("stored %.1fs before the reconnect", last.connectedAt.Sub(m.CreatedAt).Seconds())
						c.ResyncMissingItems = append(c.ResyncMissingItems, it)
					}
				}
			}
			c.ResyncMissing += missed
			if missed > 0 {
				c.ResyncMissingDevs++
			}
		}
		d.mu.Unlock()
	}
	return c
}

// frameChecks: the one-reply promise.
type frameChecks struct {
	Frames        int `json:"frames"`
	WithoutReply  int `json:"frames_without_reply"`
	Abandoned     int `json:"frames_abandoned_by_client"`
	DoubleReplied int `json:"frames_with_two_replies"`
	SilentSends   int `json:"sends_silent_after_all_retries"`
}

// answerWindow is how long a frame's socket must have stayed open for a
// missing reply to count: API Gateway's 29 s integration timeout (the
// local gateway's wait for a free sandbox), the 10 s function timeout,
// and margin.
const answerWindow = 45 * time.Second

func (h *harness) checkFrames(checkAt time.Time) frameChecks {
	h.mu.Lock()
	defer h.mu.Unlock()
	var c frameChecks
	replied := map[*op]bool{}
	sends := map[*op]bool{}
	for _, f := range h.frames {
		c.Frames++
		if f.replies > 1 {
			c.DoubleReplied++
		}
		if f.replies > 0 && f.replyAt.Sub(f.sentAt) <= replyTimeout {
			replied[f.op] = true
		}
		if f.op.isSend {
			sends[f.op] = true
		}
		if f.replies > 0 {
			continue
		}
		end := f.sess.endedAt
		if end.IsZero() {
			end = checkAt
		}
		if end.Sub(f.sentAt) >= answerWindow {
			c.WithoutReply++
		} else {
			c.Abandoned++
		}
	}
	for o := range sends {
		if !replied[o] {
			c.SilentSends++
		}
	}
	return c
}
