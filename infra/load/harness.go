package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// harness is one load run: the plan, the devices and what they saw.
type harness struct {
	wsURL string
	plan  *plan
	st    stats
	seq   atomic.Int64

	start        time.Time // sending starts
	runEnd       time.Time // no new send starts after this
	sendEnd      time.Time // retries of sends stop
	reconnectEnd time.Time // dropped devices stop reconnecting
	drainEnd     time.Time // syncs stop
	stop         chan struct{}

	mu       sync.Mutex
	frames   []*frame
	frameIDs map[string]*frame
	sents    []*sent
	lat      []latSample
	errs     []string
}

// sent is one logical send (one client_msg_id) and how it ended.
type sent struct {
	device  *device
	cmid    string
	conv    string
	at      time.Time
	outcome string // acked, gave_up, refused:<code>, unreadable_ack
	created bool
	msg     wireMessage
}

// stats are the run's counters.
type stats struct {
	sends, acked, retries, attempts                      atomic.Int64
	acks, generic, serviceUnavailable, rateLimited       atomic.Int64
	otherErrors, noReplyIn10s, droppedFrames             atomic.Int64
	lateReplies, doubleReplies, unmatchedReplies         atomic.Int64
	pushes, dupsDropped, otherEvents, unreadable         atomic.Int64
	gapSyncs, gapSyncsSkipped, connectSyncs, syncsFailed atomic.Int64
	connects, reconnects, lostByServer                   atomic.Int64
	connect500, connectOther                             atomic.Int64
}

func (s *stats) reply(r frameReply) {
	s.attempts.Add(1)
	switch r.kind {
	case replyAck:
		s.acks.Add(1)
	case replyGeneric:
		s.generic.Add(1)
	case replyNone:
		s.noReplyIn10s.Add(1)
	case replyDropped:
		s.droppedFrames.Add(1)
	case replyError:
		switch r.code {
		case "service_unavailable":
			s.serviceUnavailable.Add(1)
		case "rate_limited":
			s.rateLimited.Add(1)
		default:
			s.otherErrors.Add(1)
		}
	}
}

func (s *stats) connectFailed(status int) {
	if status == 500 {
		s.connect500.Add(1)
	} else {
		s.connectOther.Add(1)
	}
}

func (h *harness) addFrame(f *frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.frames = append(h.frames, f)
	h.frameIDs[f.reqID] = f
}

func (h *harness) frameByID(id string) *frame {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.frameIDs[id]
}

func (h *harness) addSent(s *sent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sents = append(h.sents, s)
}

// latSample is one first receipt of a message by push.
type latSample struct {
	d  time.Duration // since the message's created_at
	at time.Time     // when it was received
}

func (h *harness) latency(d time.Duration, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lat = append(h.lat, latSample{d, at})
}

func (h *harness) errorf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) < 50 {
		h.errs = append(h.errs, fmt.Sprintf(format, args...))
	}
}

// pendingYoungerThan counts unanswered frames on open sockets sent less
// than age ago (the run waits for them before counting).
func (h *harness) pendingYoungerThan(age time.Duration) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, f := range h.frames {
		if f.replies == 0 && time.Since(f.sentAt) < age {
			n++
		}
	}
	return n
}

// percentile of sorted durations (p in 0..100).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func sortedCopy(d []time.Duration) []time.Duration {
	out := slices.Clone(d)
	slices.Sort(out)
	return out
}

// user is one load-test user.
type user struct {
	id       string
	token    string
	partners []string // DM partners
	groups   []string // group ids
}

// plan is who talks to whom.
type plan struct {
	users   []*user
	byID    map[string]*user
	members map[string][]string // conversation id -> member user ids
	groupP  float64             // share of sends that go to a group
}

func dmID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "dm:" + a + ":" + b
}

// newPlan: every user has DM partners i±1 and i±7 (mod n), and groups of
// 4-15 members cover the users about 1.5 times.
func newPlan(ids []string, groupIDs []string, rng *rand.Rand, groupShare float64) *plan {
	p := &plan{byID: map[string]*user{}, members: map[string][]string{}, groupP: groupShare}
	n := len(ids)
	for _, id := range ids {
		u := &user{id: id}
		p.users = append(p.users, u)
		p.byID[id] = u
	}
	for i, u := range p.users {
		for _, k := range []int{1, n - 1, 7, n - 7} {
			v := p.users[(i+k)%n]
			if v == u || slices.Contains(u.partners, v.id) {
				continue
			}
			u.partners = append(u.partners, v.id)
			p.members[dmID(u.id, v.id)] = []string{u.id, v.id}
		}
	}
	for _, g := range groupIDs {
		size := 4 + rng.IntN(12)
		var ms []string
		for _, i := range rng.Perm(n)[:min(size, n)] {
			ms = append(ms, p.users[i].id)
			p.users[i].groups = append(p.users[i].groups, g)
		}
		p.members["g:"+g] = ms
	}
	return p
}

// convsOf lists a user's conversations.
func (p *plan) convsOf(u *user) []string {
	var out []string
	for _, v := range u.partners {
		out = append(out, dmID(u.id, v))
	}
	for _, g := range u.groups {
		out = append(out, "g:"+g)
	}
	return out
}

// target picks a send's conversation and the frame's target field.
func (p *plan) target(u *user, rng *rand.Rand) (string, map[string]any) {
	if len(u.groups) > 0 && rng.Float64() < p.groupP {
		g := u.groups[rng.IntN(len(u.groups))]
		return "g:" + g, map[string]any{"to_group": g}
	}
	v := u.partners[rng.IntN(len(u.partners))]
	return dmID(u.id, v), map[string]any{"to_user": v}
}
