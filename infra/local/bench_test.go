package local

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/bench/wsclient"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/testenv"
)

// BenchmarkLocalWebSocket1000 holds 1,000 WebSocket clients on a local
// stack (tokenim-local as a separate process, so its RSS is the gateway's
// alone) and measures, in one run:
//   - ping round trips: gateway + a Lambda sandbox + the management API,
//     no AWS call: the baseline;
//   - DM delivery (send action -> message.created on the peer's socket):
//     gateway + handler + the emulator's DynamoDB + push;
//   - management API pushes: the gateway alone, no Lambda;
//   - handshakes: authorizer + $connect.
//
// Latencies are reported as p50/p99 and as ratios to the ping baseline;
// memory as the gateway's RSS idle, with 1,000 clients, and per connection.
// The scenario runs once whatever b.N is (it takes far longer than -benchtime).
func BenchmarkLocalWebSocket1000(b *testing.B) {
	testenv.NeedAWS(b) // tokenim-local provisions in the emulator
	const clients, samples = 1000, 300
	bins := binaries(b)
	state := b.TempDir()
	prefix := fmt.Sprintf("bench%d-", time.Now().UnixNano()%1e6)
	cmd := exec.Command(filepath.Join(bins, "tokenim-local"), "-rest", "127.0.0.1:0", "-ws", "127.0.0.1:0", "-state", state,
		"-bin", bins, "-prefix", prefix, "-concurrency", "8")
	cmd.Env = os.Environ()
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		b.Fatal("AWS_ENDPOINT_URL is unset (make bench starts the emulator)")
	}
	logf, _ := os.Create(filepath.Join(state, "gateway.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	var info Info
	if !eventually(2*time.Minute, func() bool {
		raw, err := os.ReadFile(filepath.Join(state, "local.json"))
		return err == nil && json.Unmarshal(raw, &info) == nil
	}) {
		raw, _ := os.ReadFile(filepath.Join(state, "gateway.log"))
		b.Fatalf("tokenim-local did not start:\n%s", raw)
	}
	ctx := context.Background()
	rssIdle := rssKB(cmd.Process.Pid)

	// 1,000 users with tokens, created through the REST API.
	token, err := AdminToken(ctx, info.RESTURL, info.Admin)
	if err != nil {
		b.Fatal(err)
	}
	admin := &Client{Base: info.RESTURL, Token: token}
	users := make([]string, clients)
	tokens := make([]string, clients)
	run := func(n, workers int, f func(i int) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					if err := f(i); err != nil {
						once.Do(func() { b.Error(err) })
						return
					}
				}
			}()
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
	}
	stamp := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	run(clients, 8, func(i int) error {
		users[i] = fmt.Sprintf("b%s-%04d", stamp, i)
		if _, err := admin.Do(ctx, "POST", "/v1/users", map[string]string{"user_id": users[i]}, nil); err != nil {
			return err
		}
		var issued struct {
			AccessToken string `json:"access_token"`
		}
		_, err := admin.Do(ctx, "POST", "/v1/users/"+users[i]+"/tokens", nil, &issued)
		tokens[i] = issued.AccessToken
		return err
	})

	// Connect all clients (8 handshakes at a time).
	conns := make([]*wsclient.Client, clients)
	connect := make([]time.Duration, clients)
	run(clients, 8, func(i int) error {
		start := time.Now()
		c, _, err := websocket.DefaultDialer.Dial(info.WebSocketURL+"/?token="+tokens[i], nil)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		connect[i] = time.Since(start)
		conns[i] = wsclient.New(c)
		return nil
	})
	b.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	time.Sleep(2 * time.Second)
	held := 0
	for _, c := range conns {
		if c.ClosedAt().IsZero() {
			held++
		}
	}
	rssFull := rssKB(cmd.Process.Pid)

	// Baseline: ping round trips, one at a time, from rotating clients.
	ping := make([]time.Duration, samples)
	for i := range ping {
		c := conns[(i*7)%clients]
		id := fmt.Sprintf("p%d", i)
		ch := c.Expect(id)
		start := time.Now()
		c.Send(map[string]string{"action": "ping", "request_id": id})
		if !wsclient.Wait(ch, 10*time.Second) {
			b.Fatalf("no pong for %s", id)
		}
		ping[i] = time.Since(start)
	}
	// The gateway alone: a management API POST (as a handler would send)
	// until the client has the frame; no Lambda involved.
	connIDs := connIDsOf(b, prefix, users[:samples])
	mgmt := apigatewaymanagementapi.NewFromConfig(testenv.Get(b).Cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(strings.Replace(info.WebSocketURL, "ws://", "http://", 1) + "/prod")
	})
	push := make([]time.Duration, samples)
	for i := range push {
		id := fmt.Sprintf("g%d", i)
		ch := conns[i].Expect(id)
		start := time.Now()
		if _, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connIDs[i]),
			Data: []byte(`{"type":"pong","request_id":"` + id + `"}`)}); err != nil {
			b.Fatal(err)
		}
		if !wsclient.Wait(ch, 10*time.Second) {
			b.Fatalf("push %s not delivered", id)
		}
		push[i] = time.Since(start)
	}
	// DM delivery: client 2k sends to client 2k+1; time until the peer's
	// socket has the message.created push.
	// A DM the emulator was too slow for (the handler's deadline passed) is
	// counted as lost, not timed; more than 1 % lost fails the benchmark.
	var dm []time.Duration
	lost := 0
	for i := 0; i < samples; i++ {
		k := (i * 2) % clients
		from, to := conns[k], conns[k+1]
		id := fmt.Sprintf("dm-%s-%d", stamp, i)
		ch := to.Expect(id)
		start := time.Now()
		from.Send(map[string]string{"action": "send", "to_user": users[k+1], "text": "bench " + id, "client_msg_id": id})
		if !wsclient.Wait(ch, 10*time.Second) {
			lost++
			b.Logf("DM %s not delivered within 10 s; gateway log:\n%s", id, tail(filepath.Join(state, "gateway.log"), 4))
			continue
		}
		dm = append(dm, time.Since(start))
	}
	if lost*100 > samples {
		b.Fatalf("%d of %d DMs lost", lost, samples)
	}

	pp50, pp99 := wsclient.Percentile(ping, 50), wsclient.Percentile(ping, 99)
	gp50, gp99 := wsclient.Percentile(push, 50), wsclient.Percentile(push, 99)
	dp50, dp99 := wsclient.Percentile(dm, 50), wsclient.Percentile(dm, 99)
	cp50, cp99 := wsclient.Percentile(connect, 50), wsclient.Percentile(connect, 99)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(held), "conns_held")
	b.ReportMetric(float64(rssIdle)/1024, "gw_rss_idle_MB")
	b.ReportMetric(float64(rssFull)/1024, "gw_rss_1000_MB")
	b.ReportMetric(float64(rssFull-rssIdle)/float64(clients), "gw_KB/conn")
	b.ReportMetric(ms(pp50), "ping_p50_ms")
	b.ReportMetric(ms(pp99), "ping_p99_ms")
	b.ReportMetric(ms(gp50), "push_p50_ms")
	b.ReportMetric(float64(gp50)/float64(pp50), "push/ping_p50")
	b.ReportMetric(float64(lost), "dm_lost")
	b.ReportMetric(ms(dp50), "dm_p50_ms")
	b.ReportMetric(ms(dp99), "dm_p99_ms")
	b.ReportMetric(float64(dp50)/float64(pp50), "dm/ping_p50")
	b.ReportMetric(float64(dp99)/float64(pp99), "dm/ping_p99")
	b.ReportMetric(float64(cp50)/float64(pp50), "connect/ping_p50")
	b.Logf("clients %d held %d; gateway RSS %.1f MB idle, %.1f MB with clients (%.1f KB/conn)", clients, held,
		float64(rssIdle)/1024, float64(rssFull)/1024, float64(rssFull-rssIdle)/float64(clients))
	b.Logf("ping (baseline, no AWS call) p50 %.2f ms p99 %.2f ms", ms(pp50), ms(pp99))
	b.Logf("management API push (gateway alone) p50 %.2f ms (%.2fx ping) p99 %.2f ms", ms(gp50), float64(gp50)/float64(pp50), ms(gp99))
	b.Logf("DM delivery p50 %.2f ms (%.1fx ping) p99 %.2f ms (%.1fx ping)", ms(dp50), float64(dp50)/float64(pp50), ms(dp99), float64(dp99)/float64(pp99))
	b.Logf("handshake p50 %.2f ms (%.1fx ping) p99 %.2f ms", ms(cp50), float64(cp50)/float64(pp50), ms(cp99))
	if held != clients {
		b.Errorf("only %d of %d connections held", held, clients)
	}
}

// rssKB reads a process's resident set size from /proc (0 elsewhere).
func rssKB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// connIDsOf reads each user's connection id from the stack's connections
// table (one connection per user here).
func connIDsOf(b *testing.B, prefix string, users []string) []string {
	b.Helper()
	env := testenv.Get(b)
	db := dynamo.New(env.DB(env.Cfg).Client(), dynamo.Tables{Connections: prefix + "ConnectionsTable"})
	out := make([]string, len(users))
	for i, u := range users {
		conns, err := db.Connections.UserConnections(context.Background(), u, time.Now())
		if err != nil || len(conns) != 1 {
			b.Fatalf("connections of %s: %v %v", u, err, conns)
		}
		out[i] = conns[0].ConnectionID
	}
	return out
}

func tail(path string, n int) string {
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
