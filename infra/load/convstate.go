package main

import "time"

// source says how a device came to hold a message.
type source int

const (
	viaPush        source = iota // a message.created push
	viaGapSync                   // a sync started by a gap in the pushed seqs (rule 3)
	viaConnectSync               // the sync after connecting (rule 4)
	viaAck                       // the device sent it and got the ack
)

func (s source) String() string {
	return [...]string{"push", "gap_sync", "connect_sync", "ack"}[s]
}

// held is one message as a device holds it.
type held struct {
	messageID string
	via       source
	at        time.Time // when the device got it
}

// convState is one conversation as a device holds it, kept by the
// "Staying in sync" rules of docs/websocket.md. last is the highest seq
// below which nothing is missing: it is what `since` carries, so a gap
// left by a missed push stays visible to the next sync.
type convState struct {
	last int64
	msgs map[int64]held
}

func newConvState() *convState { return &convState{msgs: map[int64]held{}} }

// apply records a message got at `at` through `via`. dup is true when the
// device already held that seq (rule 2: dropped). gap is true when a push
// skipped seqs (rule 3): the caller syncs from since, the last seq
// held before it.
func (c *convState) apply(seq int64, messageID string, via source, at time.Time) (dup, gap bool, since int64) {
	if _, ok := c.msgs[seq]; ok || seq <= 0 {
		return true, false, c.last
	}
	since = c.last
	gap = via == viaPush && seq > c.last+1
	c.msgs[seq] = held{messageID: messageID, via: via, at: at}
	for {
		if _, ok := c.msgs[c.last+1]; !ok {
			break
		}
		c.last++
	}
	return false, gap, since
}

// hasGap reports whether the device holds a seq above a missing one.
func (c *convState) hasGap() bool {
	for seq := range c.msgs {
		if seq > c.last+1 {
			return true
		}
	}
	return false
}
