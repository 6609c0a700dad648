package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tokenim/tokenim/infra/bench/wsclient"
)

// Delivery is "delivery under load" (issue 18, item 5): many WebSocket
// clients on a local stack exchanging DMs and group messages at an offered
// rate, every push recorded by (conversation, seq) on the socket that got
// it, checked against history after the delivery bound.
type Delivery struct {
	Clients   int `json:"clients"`
	Held      int `json:"sockets_held_throughout"`
	DMPairs   int `json:"dm_pairs"`
	Groups    int `json:"groups"`
	GroupSize int `json:"group_members"`
	Sandboxes int `json:"sandboxes_per_function"`

	// How the offered rate was chosen: sequential service times measured
	// in the same run (send until the ack and every recipient's push).
	SeqDMMs      float64 `json:"sequential_dm_ms"`
	SeqGroupMs   float64 `json:"sequential_group_ms"`
	Utilisation  float64 `json:"offered_share_of_sequential_capacity"`
	DMRate       float64 `json:"offered_dm_per_s"`
	GroupRate    float64 `json:"offered_group_per_s"`
	LoadSeconds  float64 `json:"load_seconds"`
	BoundSeconds float64 `json:"bound_seconds"`

	Sent        int            `json:"sent"`
	Acked       int            `json:"acked"`
	Refused     map[string]int `json:"error_replies_by_code,omitempty"`
	Generic     int            `json:"generic_frames"`
	NoReply     int            `json:"sends_without_reply"`
	Stored      int            `json:"stored_messages"`
	DeliveryOut DeliveryCounts `json:"deliveries"`

	Ping  Latency `json:"ping_baseline"`
	DM    Latency `json:"dm_send_to_receive"`
	Group Latency `json:"group_send_to_receive"`
}

// Latency is a p50/p99 pair in ms and, against the ping baseline, ratios.
type Latency struct {
	Samples  int     `json:"samples"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	P50Ratio float64 `json:"p50_over_ping_p50,omitempty"`
	P99Ratio float64 `json:"p99_over_ping_p99,omitempty"`
}

func latencyOf(d []time.Duration, base *Latency) Latency {
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	l := Latency{Samples: len(d), P50Ms: ms(wsclient.Percentile(d, 50)), P99Ms: ms(wsclient.Percentile(d, 99))}
	if base != nil && base.P50Ms > 0 && base.P99Ms > 0 {
		l.P50Ratio, l.P99Ratio = l.P50Ms/base.P50Ms, l.P99Ms/base.P99Ms
	}
	return l
}

// DeliveryCounts are what must be 0 (lost, duplicated, out of order) and
// what they are counted over.
type DeliveryCounts struct {
	Expected   int `json:"expected"`  // stored messages × recipients online throughout
	Delivered  int `json:"delivered"` // of those, pushed
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	OutOfOrder int `json:"out_of_order"`
	// NotOnline are recipients whose socket ended before the bound: not
	// counted as lost.
	NotOnline int `json:"recipients_not_online_throughout"`
	// Unstored are pushes of a (conversation, seq) history does not hold.
	Unstored int `json:"pushes_not_in_history"`
	// LostExamples are up to 10 "conversation/seq -> user".
	LostExamples []string `json:"lost_examples,omitempty"`
}

// Stored is one message as history returns it.
type Stored struct {
	Conv        string
	Seq         int64
	SenderID    string
	ClientMsgID string
}

// Socket is one user's socket after the run.
type Socket struct {
	Pushes   []wsclient.Push
	ClosedAt time.Time // zero: open at the end
}

// deliveryInput is what countDeliveries checks.
type deliveryInput struct {
	Members map[string][]string // conversation -> member user ids
	Group   map[string]bool     // conversation -> a group (else a DM)
	History map[string][]Stored // conversation -> its stored messages
	Sockets map[string]Socket   // user id -> its one socket
	SentAt  map[string]time.Time
	Until   time.Time // the end of the bound
}

// countDeliveries checks every stored message against every recipient's
// socket: a recipient online throughout (its socket open until the bound
// ended) that has no push of it is a lost delivery. Latencies are push
// time minus send time for the messages sent at the offered rate (SentAt).
func countDeliveries(in deliveryInput) (c DeliveryCounts, dm, group []time.Duration) {
	type key struct {
		conv string
		seq  int64
	}
	got := map[string]map[key]time.Time{}
	for user, s := range in.Sockets {
		d, o := wsclient.Order(s.Pushes)
		c.Duplicated += d
		c.OutOfOrder += o
		m := map[key]time.Time{}
		for _, p := range s.Pushes {
			k := key{p.Conv, p.Seq}
			if _, ok := m[k]; !ok {
				m[k] = p.At
			}
		}
		got[user] = m
	}
	stored := map[key]bool{}
	convs := make([]string, 0, len(in.History))
	for conv := range in.History {
		convs = append(convs, conv)
	}
	sort.Strings(convs)
	for _, conv := range convs {
		for _, m := range in.History[conv] {
			stored[key{conv, m.Seq}] = true
			for _, u := range in.Members[conv] {
				if u == m.SenderID {
					continue
				}
				s, ok := in.Sockets[u]
				if !ok || (!s.ClosedAt.IsZero() && s.ClosedAt.Before(in.Until)) {
					c.NotOnline++
					continue
				}
				c.Expected++
				at, ok := got[u][key{conv, m.Seq}]
				if !ok {
					c.Lost++
					if len(c.LostExamples) < 10 {
						c.LostExamples = append(c.LostExamples, fmt.Sprintf("%s/%d -> %s", conv, m.Seq, u))
					}
					continue
				}
				c.Delivered++
				if sent, ok := in.SentAt[m.ClientMsgID]; ok && m.ClientMsgID != "" {
					if in.Group[conv] {
						group = append(group, at.Sub(sent))
					} else {
						dm = append(dm, at.Sub(sent))
					}
				}
			}
		}
	}
	for _, m := range got {
		for k := range m {
			if !stored[k] {
				c.Unstored++
			}
		}
	}
	return c, dm, group
}

// goal is the "all must be 0" check of the counts.
func (d *Delivery) goal() GoalCheck {
	c := d.DeliveryOut
	g := GoalCheck{Goal: "delivery under load: 0 lost, 0 duplicated, 0 out-of-order", Met: c.Lost == 0 && c.Duplicated == 0 && c.OutOfOrder == 0,
		Figure: fmt.Sprintf("%d lost, %d duplicated, %d out of order of %d deliveries (%d clients, %.1f DMs/s + %.2f group messages/s to %d members); DM p50 %.1f× ping, group p50 %.1f× ping",
			c.Lost, c.Duplicated, c.OutOfOrder, c.Expected, d.Clients, d.DMRate, d.GroupRate, d.GroupSize, d.DM.P50Ratio, d.Group.P50Ratio)}
	var why []string
	if c.OutOfOrder > 0 {
		why = append(why, "out-of-order pushes are possible by design: concurrent senders in a group are pushed by concurrent invocations, so a member can get seq n+1 before n (docs/websocket.md, \"Staying in sync\", rule 3: apply it and sync the gap)")
	}
	if c.Duplicated > 0 {
		why = append(why, "fan-out delivery is at least once (docs/websocket.md rule 2: a client drops a seq it holds)")
	}
	if c.Lost > 0 {
		why = append(why, "a lost push is a recipient online throughout that never got it within the bound; examples in the section")
	}
	g.Why = strings.Join(why, "; ")
	return g
}

func (d *Delivery) markdown(p func(string, ...any)) {
	c := d.DeliveryOut
	p("")
	p("## Delivery under load")
	p("")
	p("%d WebSocket clients (one user, one socket each) on a local stack (`tokenim-local -event-tap=false -concurrency %d`, a separate process, against the emulator), in %d DM pairs and %d groups of %d members (every client in one of each). Offered load: %.2f DMs/s and %.2f group messages/s for %.0f s, Poisson arrivals from random members, every send with a `client_msg_id`, not retried. The rate is %.0f %% of what one message at a time sustains, measured in the same run just before (a DM %.0f ms, a group message %.0f ms from the send to its ack and every recipient's push): below the machine's capacity (concurrent sends can only add throughput over one at a time, and the emulator, one process, bounds the stack more than its sandboxes). Every socket records each `message.created` by (conversation, seq); %.0f s after the last send (docs/websocket.md's delivery bound is 10 s) history is read over REST and every stored message is checked against every recipient's socket.",
		d.Clients, d.Sandboxes, d.DMPairs, d.Groups, d.GroupSize, d.DMRate, d.GroupRate, d.LoadSeconds, 100*d.Utilisation, d.SeqDMMs, d.SeqGroupMs, d.BoundSeconds)
	p("")
	p("| | samples | p50 ms | p99 ms | p50 ÷ ping p50 | p99 ÷ ping p99 |")
	p("| --- | ---: | ---: | ---: | ---: | ---: |")
	p("| ping (baseline: gateway + a Lambda sandbox, no AWS call) | %d | %.2f | %.2f | 1.00× | 1.00× |", d.Ping.Samples, d.Ping.P50Ms, d.Ping.P99Ms)
	p("| DM, send to the recipient's push | %d | %.1f | %.1f | %.1f× | %.1f× |", d.DM.Samples, d.DM.P50Ms, d.DM.P99Ms, d.DM.P50Ratio, d.DM.P99Ratio)
	p("| group message, send to each recipient's push | %d | %.1f | %.1f | %.1f× | %.1f× |", d.Group.Samples, d.Group.P50Ms, d.Group.P99Ms, d.Group.P50Ratio, d.Group.P99Ratio)
	p("")
	p("| count | figure |")
	p("| --- | ---: |")
	p("| sends / acked / stored | %d / %d / %d |", d.Sent, d.Acked, d.Stored)
	refused := mapList(d.Refused)
	if refused == "" {
		refused = "none"
	}
	p("| error replies | %s |", refused)
	p("| generic frames (throttled or failed, no request id) / sends without any reply | %d / %d |", d.Generic, d.NoReply)
	p("| deliveries expected (stored messages × recipients online throughout) | %d |", c.Expected)
	p("| **lost** (a recipient online throughout never got the push) | **%d** |", c.Lost)
	p("| **duplicated** (same conversation+seq twice on one socket) | **%d** |", c.Duplicated)
	p("| **out of order** (a lower seq after a higher one on one socket, same conversation) | **%d** |", c.OutOfOrder)
	p("| recipients not online throughout (not counted) / pushes of messages not in history | %d / %d |", c.NotOnline, c.Unstored)
	p("| sockets held throughout | %d of %d |", d.Held, d.Clients)
	if c.OutOfOrder > 0 {
		p("")
		p("Out-of-order pushes are possible by design: a group's concurrent senders are served by concurrent invocations, each storing its message (the conversation's next seq) and pushing it to every member, so a member can get seq n+1 before seq n. Clients apply it and `sync` the gap (docs/websocket.md, \"Staying in sync\", rule 3); nothing is lost.")
	}
	if len(c.LostExamples) > 0 {
		p("")
		p("Lost, first %d: %s.", len(c.LostExamples), strings.Join(c.LostExamples, ", "))
	}
}
