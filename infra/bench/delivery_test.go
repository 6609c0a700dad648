package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/bench/wsclient"
	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// deliveryPlan sizes one delivery-under-load run.
type deliveryPlan struct {
	clients, groupSize, sandboxes int
	load, bound                   time.Duration
	pings                         int
	utilisation                   float64 // share of the sequential capacity offered
}

// deliveryUnderLoad runs the section (see Delivery) and adds it and its
// goal to r.
func deliveryUnderLoad(t *testing.T, r *Report, pl deliveryPlan) {
	testenv.NeedAWS(t) // tokenim-local provisions its tables and queues in the emulator
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	setupStart := time.Now()
	info := startLocal(t, pl.sandboxes)
	token, err := local.AdminToken(ctx, info.RESTURL, info.Admin)
	if err != nil {
		t.Fatal(err)
	}
	admin := &local.Client{Base: info.RESTURL, Token: token}
	t.Logf("binaries built and stack up in %v", time.Since(setupStart).Round(time.Second))

	// Users with tokens, DM pairs (2k, 2k+1) and groups of consecutive users.
	n := pl.clients
	stamp := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	users, tokens := make([]string, n), make([]string, n)
	parallelT(t, n, 8, func(i int) error {
		users[i] = fmt.Sprintf("d%s-%04d", stamp, i)
		if _, err := restRetry(ctx, admin, "POST", "/v1/users", map[string]string{"user_id": users[i]}, nil); err != nil {
			return err
		}
		var issued struct {
			AccessToken string `json:"access_token"`
		}
		_, err := restRetry(ctx, admin, "POST", "/v1/users/"+users[i]+"/tokens", map[string]int{"ttl_seconds": 3600}, &issued)
		tokens[i] = issued.AccessToken
		return err
	})
	t.Logf("%d users with tokens in %v", n, time.Since(setupStart).Round(time.Second))
	groups := n / pl.groupSize
	groupIDs := make([]string, groups)
	// One group at a time: moto's TransactWriteItems is not thread-safe
	// (it deep-copies the tables while other requests write: "dictionary
	// changed size during iteration"); four concurrent 100-member creates
	// were answered 500 through every retry.
	parallelT(t, groups, 1, func(g int) error {
		groupIDs[g] = fmt.Sprintf("dg%s-%d", stamp, g)
		ms := users[g*pl.groupSize : (g+1)*pl.groupSize]
		_, err := restRetry(ctx, admin, "POST", "/v1/groups", map[string]any{"group_id": groupIDs[g], "owner_id": ms[0], "members": ms[1:], "name": "bench " + groupIDs[g]}, nil)
		return err
	})

	// Connect every client, 8 handshakes at a time.
	conns := make([]*wsclient.Client, n)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	parallelT(t, n, 8, func(i int) error {
		c, err := wsclient.Dial(info.WebSocketURL + "/?token=" + url.QueryEscape(tokens[i]))
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		conns[i] = c
		return nil
	})

	t.Logf("%d users, %d groups, %d sockets in %v", n, groups, n, time.Since(setupStart).Round(time.Second))

	// Baseline: ping round trips, one at a time, from rotating clients.
	var ping []time.Duration
	for i := range pl.pings {
		c := conns[(i*7)%n]
		id := fmt.Sprintf("p%d", i)
		ch := c.Expect(id)
		start := time.Now()
		if err := c.Send(map[string]string{"action": "ping", "request_id": id}); err != nil {
			t.Fatal(err)
		}
		if !wsclient.Wait(ch, 10*time.Second) {
			t.Fatalf("no pong for %s", id)
		}
		ping = append(ping, time.Since(start))
	}

	// The offered rate: sequential service times of a DM and a group
	// message (send until the ack and every recipient's push).
	seq := func(kind string, k int) time.Duration {
		from, body, to := sendTarget(kind, k, users, groupIDs, pl.groupSize)
		cmid := fmt.Sprintf("cal-%s-%d", kind, k)
		waits := []<-chan struct{}{conns[from].Expect(cmid + ".r")}
		for _, u := range to {
			waits = append(waits, conns[u].Expect(cmid))
		}
		body["request_id"], body["client_msg_id"], body["text"] = cmid+".r", cmid, "bench "+cmid
		start := time.Now()
		if err := conns[from].Send(body); err != nil {
			t.Fatal(err)
		}
		for _, w := range waits {
			if !wsclient.Wait(w, 20*time.Second) {
				rep, _ := conns[from].Reply(cmid + ".r")
				t.Fatalf("calibration %s %d: not delivered in 20 s (reply %+v)", kind, k, rep)
			}
		}
		return time.Since(start)
	}
	var dmCal, grCal []time.Duration
	for k := range 10 {
		dmCal = append(dmCal, seq("dm", k))
	}
	for k := range 5 {
		grCal = append(grCal, seq("group", k))
	}
	sdm, sgr := wsclient.Percentile(dmCal, 50), wsclient.Percentile(grCal, 50)
	// Half the offered share each way: DMs and group messages take equal
	// parts of the time one message at a time would need.
	dmRate := pl.utilisation / 2 / sdm.Seconds()
	grRate := pl.utilisation / 2 / sgr.Seconds()
	t.Logf("sequential: DM %v, group %v: offering %.2f DMs/s, %.2f group messages/s", sdm, sgr, dmRate, grRate)

	// Load: Poisson arrivals at each rate; open loop (a send never waits
	// for an earlier one).
	var mu sync.Mutex
	var sends []loadSend
	sentAt := map[string]time.Time{}
	end := time.Now().Add(pl.load)
	var wg sync.WaitGroup
	var counter atomic.Int64
	for _, lane := range []struct {
		kind string
		rate float64
	}{{"dm", dmRate}, {"group", grRate}} {
		rng := rand.New(rand.NewPCG(uint64(len(lane.kind)), uint64(time.Now().UnixNano())))
		wg.Go(func() {
			next := time.Now()
			for {
				next = next.Add(time.Duration(rng.ExpFloat64() / lane.rate * float64(time.Second)))
				if next.After(end) {
					return
				}
				time.Sleep(time.Until(next))
				k := rng.IntN(1 << 30)
				from, body, to := sendTarget(lane.kind, k, users, groupIDs, pl.groupSize)
				id := fmt.Sprintf("ld-%s-%d", stamp, counter.Add(1))
				body["request_id"], body["client_msg_id"], body["text"] = id, id, "bench "+id
				at := time.Now()
				mu.Lock()
				sends = append(sends, loadSend{from, to, id})
				sentAt[id] = at
				mu.Unlock()
				if err := conns[from].Send(body); err != nil {
					t.Logf("send %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	loadEnd := time.Now()

	// The bound: until every recipient of every acked send has its push,
	// at most pl.bound after the last send.
	deadline := loadEnd.Add(pl.bound)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		mu.Lock()
		done := allPushed(sends, conns)
		mu.Unlock()
		if done {
			break
		}
	}
	until := time.Now()

	// Truth: every conversation's history over REST, read as a member.
	members := map[string][]string{}
	isGroup := map[string]bool{}
	reader := map[string]int{}
	for k := 0; k+1 < n; k += 2 {
		conv := string(chat.DMID(users[k], users[k+1]))
		members[conv], reader[conv] = []string{users[k], users[k+1]}, k
	}
	for g, id := range groupIDs {
		conv := string(chat.GroupConversationID(id))
		members[conv], isGroup[conv], reader[conv] = users[g*pl.groupSize:(g+1)*pl.groupSize], true, g*pl.groupSize
	}
	convs := make([]string, 0, len(members))
	for conv := range members {
		convs = append(convs, conv)
	}
	history := map[string][]Stored{}
	parallelT(t, len(convs), 8, func(i int) error {
		msgs, err := readHistory(ctx, &local.Client{Base: info.RESTURL, Token: tokens[reader[convs[i]]]}, convs[i])
		mu.Lock()
		history[convs[i]] = msgs
		mu.Unlock()
		return err
	})
	sockets := map[string]Socket{}
	held, generic := 0, 0
	for i, c := range conns {
		sockets[users[i]] = Socket{Pushes: c.Pushes(), ClosedAt: c.ClosedAt()}
		if c.ClosedAt().IsZero() {
			held++
		}
		generic += c.Generic()
	}
	counts, dmLat, grLat := countDeliveries(deliveryInput{Members: members, Group: isGroup, History: history, Sockets: sockets, SentAt: sentAt, Until: until})
	d := &Delivery{Clients: n, Held: held, DMPairs: n / 2, Groups: groups, GroupSize: pl.groupSize, Sandboxes: pl.sandboxes,
		SeqDMMs: float64(sdm.Microseconds()) / 1000, SeqGroupMs: float64(sgr.Microseconds()) / 1000, Utilisation: pl.utilisation,
		DMRate: dmRate, GroupRate: grRate, LoadSeconds: pl.load.Seconds(), BoundSeconds: pl.bound.Seconds(),
		Sent: len(sends), Refused: map[string]int{}, Generic: generic, DeliveryOut: counts}
	for _, s := range sends {
		rep, ok := conns[s.from].Reply(s.id)
		switch {
		case !ok:
			d.NoReply++
		case rep.Type == "ack":
			d.Acked++
		default:
			d.Refused[rep.Code]++
		}
	}
	for _, msgs := range history {
		for _, m := range msgs {
			if _, ok := sentAt[m.ClientMsgID]; ok {
				d.Stored++
			}
		}
	}
	d.Ping = latencyOf(ping, nil)
	d.DM, d.Group = latencyOf(dmLat, &d.Ping), latencyOf(grLat, &d.Ping)
	t.Logf("delivery under load: %+v", d)
	r.Delivery = d
	r.Goals = append(r.Goals, d.goal())
}

// sendTarget is the k-th send of a kind: the sending client, the frame's
// body (to_user or conversation) and the recipients' client indexes.
func sendTarget(kind string, k int, users, groupIDs []string, groupSize int) (from int, body map[string]any, to []int) {
	if kind == "dm" {
		pair := k % (len(users) / 2)
		from = 2*pair + k/(len(users)/2)%2
		peer := from ^ 1
		return from, map[string]any{"action": "send", "to_user": users[peer]}, []int{peer}
	}
	g := k % len(groupIDs)
	from = g*groupSize + (k/len(groupIDs))%groupSize
	for u := g * groupSize; u < (g+1)*groupSize; u++ {
		if u != from {
			to = append(to, u)
		}
	}
	return from, map[string]any{"action": "send", "to_group": groupIDs[g]}, to
}

// loadSend is one send of the load phase.
type loadSend struct {
	from int
	to   []int // the recipients' client indexes
	id   string
}

// allPushed reports whether every recipient of every acked send holds its
// push (the bound's early end).
func allPushed(sends []loadSend, conns []*wsclient.Client) bool {
	got := make([]map[string]bool, len(conns))
	for _, s := range sends {
		if rep, ok := conns[s.from].Reply(s.id); !ok || rep.Type != "ack" {
			continue
		}
		for _, u := range s.to {
			if got[u] == nil {
				got[u] = map[string]bool{}
				for _, p := range conns[u].Pushes() {
					got[u][p.ClientMsgID] = true
				}
			}
			if !got[u][s.id] {
				return false
			}
		}
	}
	return true
}
