// Command load is TokenIM's concurrent load test (make test-load, issue
// 21): a local stack with many sandboxes per function, hundreds of users
// on hundreds of WebSockets sending DMs and group messages over the
// machine's capacity, following the client rules of docs/websocket.md
// (the retry rule, "Staying in sync"), while 10 % of sockets drop and
// resync. After the run and the delivery bound it counts what must never
// happen - frames without replies, acked messages missing from history,
// live pushes missing, resynced devices missing messages - prints a
// summary, writes it as JSON, and exits 1 unless all four are 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/template"
)

type config struct {
	users, sockets, groups, sandboxes int
	duration, bound                   time.Duration
	rate, drop, groupShare            float64
	bin, localBin, state, out, info   string
	params                            []string
	seed                              uint64
}

func main() {
	os.Exit(run())
}

func run() int {
	root := template.RepoRoot()
	var c config
	flag.IntVar(&c.users, "users", 400, "users (200-800)")
	flag.IntVar(&c.sockets, "sockets", 600, "WebSocket connections (240-900); users get one each, then a second device in turn")
	flag.IntVar(&c.groups, "groups", 0, "groups of 4-15 members (default users/10)")
	flag.IntVar(&c.sandboxes, "sandboxes", 150, "sandboxes (concurrent invocations) per function")
	flag.DurationVar(&c.duration, "duration", 90*time.Second, "how long sends start")
	flag.Float64Var(&c.rate, "rate", 60, "offered sends per second over all sockets (each socket sends one at a time)")
	flag.Float64Var(&c.drop, "drop", 0.10, "share of sockets that drop once and reconnect")
	flag.Float64Var(&c.groupShare, "group-share", 0.4, "share of sends to a group (the rest are DMs)")
	flag.DurationVar(&c.bound, "bound", 20*time.Second, "delivery bound: how long after being stored a message must have reached every online device")
	flag.StringVar(&c.bin, "bin", filepath.Join(root, ".tokenim", "bin"), "function bootstraps (make build-local)")
	flag.StringVar(&c.localBin, "tokenim-local", filepath.Join(root, ".tokenim", "bin", "tokenim-local"), "the local stack's binary")
	flag.StringVar(&c.state, "state", filepath.Join(root, ".tokenim", "load"), "state directory: the stack's log (gateway.log) and summary.json")
	flag.StringVar(&c.out, "out", "", "summary JSON (default <state>/summary.json)")
	flag.StringVar(&c.info, "info", "", "use the running stack of this local.json (make dev) instead of starting one")
	flag.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	params := flag.String("param", "", "template parameter overrides Name=Value,... for the stack started")
	flag.Parse()
	if *params != "" {
		c.params = strings.Split(*params, ",")
	}
	if c.groups == 0 {
		c.groups = max(c.users/10, 2)
	}
	if c.out == "" {
		c.out = filepath.Join(c.state, "summary.json")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := load(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	s.print(os.Stdout)
	if err := s.write(c.out); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	fmt.Printf("summary: %s\n", c.out)
	if !s.ok() {
		return 1
	}
	return 0
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[load %s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func load(ctx context.Context, c config) (*summary, error) {
	rng := rand.New(rand.NewPCG(c.seed, 21))
	stamp := fmt.Sprintf("%x", time.Now().Unix()%0xfffff)
	var info local.Info
	logPath := ""
	if c.info != "" {
		raw, err := os.ReadFile(c.info)
		if err != nil {
			return nil, err
		}
		if err := jsonUnmarshal(raw, &info); err != nil {
			return nil, err
		}
	} else {
		os.RemoveAll(c.state)
		say("starting tokenim-local with %d sandboxes per function (log: %s)", c.sandboxes, filepath.Join(c.state, "gateway.log"))
		p, err := startStack(ctx, c.localBin, c.bin, c.state, "load"+stamp+"-", c.sandboxes, c.params)
		if err != nil {
			return nil, err
		}
		defer func() { say("stopping the stack"); p.stop() }()
		info, logPath = p.info, p.log
	}
	token, err := local.AdminToken(ctx, info.RESTURL, info.Admin)
	if err != nil {
		return nil, err
	}
	admin := &local.Client{Base: info.RESTURL, Token: token}

	ids := make([]string, c.users)
	for i := range ids {
		ids[i] = fmt.Sprintf("l%s-%03d", stamp, i)
	}
	gids := make([]string, c.groups)
	for i := range gids {
		gids[i] = fmt.Sprintf("lg%s-%02d", stamp, i)
	}
	pl := newPlan(ids, gids, rng, c.groupShare)
	groups := map[string][]string{}
	for _, g := range gids {
		groups[g] = pl.members["g:"+g]
	}
	t0 := time.Now()
	say("creating %d users with tokens and %d groups", c.users, c.groups)
	if err := setUp(ctx, admin, pl, groups); err != nil {
		return nil, err
	}
	say("set up in %.0f s", time.Since(t0).Seconds())

	h := &harness{wsURL: info.WebSocketURL, plan: pl, frameIDs: map[string]*frame{}, stop: make(chan struct{})}
	// Deadlines for the connect phase; the run's are set when sends start.
	h.reconnectEnd, h.drainEnd, h.sendEnd = time.Now().Add(10*time.Minute), time.Now().Add(10*time.Minute), time.Now().Add(10*time.Minute)
	devices := make([]*device, c.sockets)
	for i := range devices {
		devices[i] = newDevice(h, fmt.Sprintf("d%03d", i), pl.users[i%len(pl.users)])
	}
	t0 = time.Now()
	say("connecting %d sockets", c.sockets)
	if err := parallel(len(devices), 16, func(i int) error { return devices[i].connect(time.Now().Add(2 * time.Minute)) }); err != nil {
		return nil, err
	}
	say("connected in %.0f s", time.Since(t0).Seconds())

	m := &machine{binDir: c.bin, boxes: map[string]int{}}
	mstop := make(chan struct{})
	go m.run(mstop)
	h.start = time.Now()
	h.runEnd = h.start.Add(c.duration)
	// A send started just before runEnd may need 6 attempts, each up to
	// 10 s (plus the local gateway's 29 s wait for a sandbox) and a pause.
	h.sendEnd = h.runEnd.Add(90 * time.Second)
	h.reconnectEnd = h.sendEnd
	h.drainEnd = h.sendEnd.Add(c.bound + answerWindow)
	for _, d := range devices {
		go d.gapFiller()
	}
	think := time.Duration(float64(c.sockets) / c.rate * float64(time.Second))
	var senders sync.WaitGroup
	for _, d := range devices {
		r := rand.New(rand.NewPCG(rng.Uint64(), 1))
		senders.Go(func() { d.sender(think, r) })
	}
	drops := int(c.drop*float64(c.sockets) + 0.5)
	for _, i := range rng.Perm(len(devices))[:drops] {
		at := time.Duration((0.1 + 0.6*rng.Float64()) * float64(c.duration))
		devices[i].dropAt = at
		time.AfterFunc(at, devices[i].drop)
	}
	say("sending for %s at %.0f/s offered (think time %.1f s per socket); %d sockets will drop", c.duration, c.rate, think.Seconds(), drops)
	progress := time.NewTicker(15 * time.Second)
	done := make(chan struct{})
	go func() { senders.Wait(); close(done) }()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-progress.C:
			say("%.0f s: %d sent, %d acked, %d retries, %d generic, %d service_unavailable, %d pushes, load %s", time.Since(h.start).Seconds(),
				h.st.sends.Load(), h.st.acked.Load(), h.st.retries.Load(), h.st.generic.Load(), h.st.serviceUnavailable.Load(), h.st.pushes.Load(), loadavg())
		}
	}
	progress.Stop()
	lastSend := time.Now()
	say("sends resolved %.0f s after the send phase; waiting the delivery bound (%s)", lastSend.Sub(h.runEnd).Seconds(), c.bound)
	time.Sleep(c.bound)
	for i := 0; i < int(answerWindow/time.Second) && h.pendingYoungerThan(answerWindow) > 0; i++ {
		time.Sleep(time.Second)
	}
	checkAt := time.Now()
	h.reconnectEnd = checkAt // no reconnect from here on
	close(mstop)
	close(h.stop)

	say("reading every conversation's history and head")
	var facts logFacts
	if logPath != "" {
		facts = readLogFacts(logPath)
	} else {
		facts = logFacts{Counts: map[string]int{}, Repaired: map[string]bool{}}
	}
	tr, err := readTruth(ctx, info.RESTURL, pl)
	if err != nil {
		return nil, err
	}
	s := &summary{Command: strings.Join(os.Args, " "), StartedAt: h.start.UTC().Format(time.RFC3339), Definitions: definitions}
	s.Config.Users, s.Config.Sockets, s.Config.Groups, s.Config.Sandboxes = c.users, c.sockets, c.groups, c.sandboxes
	s.Config.RunSeconds, s.Config.OfferedRate, s.Config.DropShare, s.Config.BoundSeconds = c.duration.Seconds(), c.rate, c.drop, c.bound.Seconds()
	s.Config.Emulator = os.Getenv("AWS_ENDPOINT_URL")
	s.Frames = h.checkFrames(checkAt)
	s.Store = tr.checkStore(h, facts)
	s.Devices = tr.checkDevices(h, devices, checkAt, c.bound, facts)
	s.Machine = m.summary(runtime.NumCPU())
	s.Log = facts.Counts
	s.Counts.FramesWithoutReply = s.Frames.WithoutReply
	s.Counts.AckedMissingHistory = s.Store.AckedMissing
	s.Counts.LivePushesMissing = s.Devices.LiveMissing
	s.Counts.ResyncedDevicesMissing = s.Devices.ResyncMissingDevs

	st := &h.st
	sd := &s.Sends
	sd.Sent, sd.Acked, sd.Attempts, sd.Retried = st.sends.Load(), st.acked.Load(), st.attempts.Load(), st.retries.Load()
	sd.Generic, sd.ServiceUnavailable, sd.RateLimited, sd.OtherErrors = st.generic.Load(), st.serviceUnavailable.Load(), st.rateLimited.Load(), st.otherErrors.Load()
	sd.NoReplyIn10s, sd.LateReplies, sd.DroppedFrames = st.noReplyIn10s.Load(), st.lateReplies.Load(), st.droppedFrames.Load()
	inRun := 0
	for _, msgs := range tr.history {
		for _, m := range msgs {
			if !m.CreatedAt.Before(h.start) && m.CreatedAt.Before(h.runEnd) {
				inRun++
			}
		}
	}
	sd.StoredPerSecond = float64(inRun) / c.duration.Seconds()
	h.mu.Lock()
	for _, x := range h.sents {
		switch {
		case x.outcome == "acked" && !x.created:
			sd.AckedReplay++
		case x.outcome == "gave_up":
			sd.GaveUp++
		case strings.HasPrefix(x.outcome, "refused"):
			sd.Refused++
			h.errs = append(h.errs, "send "+x.cmid+" "+x.outcome)
		}
	}
	// Receipts up to the check: later ones (a backstop catching up while
	// the run reads history) are counted apart.
	var durs []time.Duration
	for _, l := range h.lat {
		if l.at.After(checkAt) {
			s.Delivery.AfterCheck++
			continue
		}
		durs = append(durs, l.d)
	}
	lat := sortedCopy(durs)
	s.Errors = h.errs
	h.mu.Unlock()
	dl := &s.Delivery
	dl.Pushes, dl.DupsDropped, dl.GapSyncs, dl.ConnectSyncs, dl.SyncsFailed = st.pushes.Load(), st.dupsDropped.Load(), st.gapSyncs.Load(), st.connectSyncs.Load(), st.syncsFailed.Load()
	dl.P50, dl.P99 = secs(percentile(lat, 50)), secs(percentile(lat, 99))
	if len(lat) > 0 {
		dl.Max = secs(lat[len(lat)-1])
	}
	dl.Connects, dl.Reconnects, dl.Connect500, dl.ConnectOther, dl.LostByServer = st.connects.Load(), st.reconnects.Load(), st.connect500.Load(), st.connectOther.Load(), st.lostByServer.Load()

	for _, d := range devices {
		d.mu.Lock()
		if d.sess != nil {
			d.sess.dropped = true
			d.sess.ws.Close()
		}
		d.mu.Unlock()
	}
	return s, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:1], " ")
}
