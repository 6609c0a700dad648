package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// mode is TOKENIM_BENCH: "quick" (make bench-quick), "full" (make bench),
// or unset: TestBenchmarks is skipped, so go test ./... never runs it.
func mode(t *testing.T) string {
	t.Helper()
	m := os.Getenv("TOKENIM_BENCH")
	switch m {
	case "quick", "full":
		return m
	case "":
		t.Skip("benchmarks run with make bench or make bench-quick (TOKENIM_BENCH unset)")
	}
	t.Fatalf("TOKENIM_BENCH=%q: want quick or full", m)
	return ""
}

// TestBenchmarks runs every measurement and writes docs/benchmarks.md and
// docs/benchmarks.json.
func TestBenchmarks(t *testing.T) {
	m := mode(t)
	start := time.Now()
	r := &Report{Command: "make bench", Mode: m, Date: start.UTC().Format("2006-01-02 15:04 MST"), Machine: machine(), Prices: testenv.PricesAsOf}
	if m == "quick" {
		r.Command = "make bench-quick"
	}
	full := m == "full"
	run := func(name string, fn func()) {
		if !section(name) {
			return
		}
		begin := time.Now()
		fn()
		r.Sections = append(r.Sections, SectionTime{name, time.Since(begin).Round(time.Second).String()})
	}
	run("cost", func() {
		if !testenv.AWS() {
			r.Notes = append(r.Notes, "Cost model and fan-out not measured: they need an AWS emulator (AWS_ENDPOINT_URL); infra/scripts/bench.sh starts one.")
			return
		}
		costs(t, r, full)
	})
	run("fanout", func() {
		if !testenv.AWS() {
			return
		}
		connected, members := 2000, 200
		if full {
			connected, members = 10000, 1000
		}
		fanout(t, r, testenv.Get(t), connected, members)
	})
	run("import", func() {
		rows, naive := 20_000, 300
		if full {
			rows, naive = 100_000, 1_500
		}
		var metered *OpCost
		for i := range r.Costs {
			if strings.Contains(r.Costs[i].Name, "batch import") {
				metered = &r.Costs[i]
			}
		}
		importThroughput(t, r, rows, naive, metered)
	})
	run("cold", func() { coldStart(t, r, map[bool]int{true: 20, false: 5}[full], !full) })
	run("delivery", func() {
		if !testenv.AWS() {
			r.Notes = append(r.Notes, "Delivery under load not measured: the local stack needs an AWS emulator (AWS_ENDPOINT_URL).")
			return
		}
		// 16 sandboxes per function: what make test-load found the
		// emulator serves without timeouts (docs/testing.md, "Load test").
		pl := deliveryPlan{clients: 100, groupSize: 100, sandboxes: 16, load: 15 * time.Second, bound: 20 * time.Second, pings: 100, utilisation: 0.5}
		if full {
			pl.clients, pl.load, pl.pings = 1000, 60*time.Second, 300
		}
		deliveryUnderLoad(t, r, pl)
	})
	r.Took = time.Since(start).Round(time.Second).String()
	if err := r.Write(filepath.Join("..", "..", "docs")); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/benchmarks.md and docs/benchmarks.json in %s", r.Took)
}

// section reports whether TOKENIM_BENCH_SECTIONS (comma-separated: cost,
// cold, fanout, import, delivery; default all) selects name: for working on one
// measurement. The files written then hold only the sections run.
func section(name string) bool {
	s := os.Getenv("TOKENIM_BENCH_SECTIONS")
	return s == "" || strings.Contains(","+s+",", ","+name+",")
}

func machine() Machine {
	mm := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Emulator: "none"}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				mm.MemoryGB = kb / 1024 / 1024
			}
		}
	}
	if e := os.Getenv("EMULATOR"); testenv.AWS() {
		mm.Emulator = e + " at " + os.Getenv("AWS_ENDPOINT_URL")
	}
	return mm
}

// costs measures every scenario: one metered run for the counts, then
// timed unmetered runs for Lambda durations.
func costs(t *testing.T, r *Report, full bool) {
	env := testenv.Get(t)
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	memory := map[string]int{}
	for _, f := range tmpl.Functions() {
		memory[f.LogicalID] = f.MemorySize
	}
	runs, timed, rows, bigGroup := 1, 2, 200, 200
	if full {
		runs, timed, rows, bigGroup = 10, 7, 2000, 1000
	}
	meter := NewMeter(env.Cfg)
	metered := meter.Attach(env.Cfg)
	byName := map[string]OpCost{}
	for _, sc := range costScenarios(t, env, rows, bigGroup) {
		n := runs
		if strings.Contains(sc.name, "import") {
			n = 1
		}
		sc.run(t, env.Cfg, -1) // warm: connections, the emulator's caches
		meter.Reset()
		var u testenv.Usage
		ops := 0
		idle := 0
		for i := range n {
			o := sc.run(t, metered, i)
			ops += o.ops
			idle += o.idlePolls
			u.LambdaInvocations += len(o.invocations)
			u.WebSocketMessages += o.wsIn
			u.RESTRequests += o.rest
		}
		s := meter.Snapshot()
		u.ReadUnits, u.WriteUnits = s.ReadUnits, s.WriteUnits
		u.SQSRequests = s.SQSRequests - idle
		u.WebSocketMessages += s.WebSocketMessages
		// Durations: each invocation's fastest of the timed runs.
		k := timed
		if n == 1 {
			k = 1
		}
		var perInv [][]float64
		var fns []string
		for i := range k {
			o := sc.run(t, env.Cfg, 1000+i)
			for j, inv := range o.invocations {
				if j >= len(perInv) {
					perInv = append(perInv, nil)
					fns = append(fns, inv.function)
				}
				perInv[j] = append(perInv[j], inv.ms)
			}
		}
		var ms, gbs float64
		for j, xs := range perInv {
			d := fastest(xs)
			ms += d
			gbs += testenv.LambdaGBSeconds(d, memory[fns[j]])
		}
		// The timed run's invocation list stands for each metered run's.
		u.LambdaGBSeconds = gbs * float64(n)
		c := costOf(sc.name, sc.how, n, ops, u, ms*float64(n), s.Requests)
		t.Logf("%s: $%.2f per million %+v", c.Name, c.USDPerMillion, c)
		r.Costs = append(r.Costs, c)
		byName[sc.name] = c
	}
	r.Machine.Emulator = strings.TrimSpace(r.Machine.Emulator)
	costGoals(t, r, byName)
}

// find is the cost whose name starts with prefix.
func find(t *testing.T, costs map[string]OpCost, prefix string) OpCost {
	t.Helper()
	for name, c := range costs {
		if strings.HasPrefix(name, prefix) {
			return c
		}
	}
	t.Fatalf("no cost measured for %q", prefix)
	return OpCost{}
}

// costGoals: the WebSocket DM against $4.50 and the monthly bill against
// a tenth of the cheapest hosted plan.
func costGoals(t *testing.T, r *Report, costs map[string]OpCost) {
	dm := find(t, costs, "DM over WebSocket, acked")
	noClaim := find(t, costs, "DM over WebSocket without client_msg_id")
	floor := testenv.Usage{WebSocketMessages: int(dm.WSMessages), WriteUnits: 1, LambdaInvocations: 1}.PerMillion()
	oneDevice := dm.USDPerMillion - testenv.PriceWebSocketMessage*1e6
	r.Goals = append(r.Goals, GoalCheck{Goal: "WebSocket DM all-in at or under $4.50 per million", Met: dm.USDPerMillion <= 4.50,
		Figure: fmt.Sprintf("$%.2f per million: %.0f WebSocket messages ($%.2f), %.2f WU + %.2f RU ($%.2f), Lambda $%.2f; without client_msg_id $%.2f (%.2f WU)",
			dm.USDPerMillion, dm.WSMessages, dm.Share["websocket_message"], dm.WriteUnits, dm.ReadUnits, dm.Share["dynamodb"],
			dm.Share["lambda_requests"]+dm.Share["lambda_duration"], noClaim.USDPerMillion, noClaim.WriteUnits),
		Why: fmt.Sprintf("a recipient with 2 devices makes 4 billed WebSocket messages (frame in, ack, 2 deliveries): the floor is then $%.2f (4 messages + 1 WU + 1 invocation), above the goal whatever DynamoDB does; the goal's $3.90 floor is 3 messages (one device), where this send would cost $%.2f. The send writes 3 units (client_msg_id claim PutItem, message PutItem, conversation head UpdateItem) and reads 3 (access BatchGetItem, the sender's and the recipient's connections by Query); one device and 1 WU would make it about $%.2f",
			floor, oneDevice, oneDevice-(dm.WriteUnits-1)*testenv.PriceDynamoDBWriteUnit*1e6)})
	group, connect, sync := find(t, costs, "group message, 50 members"), find(t, costs, "connect and disconnect"), find(t, costs, "sync after")
	b := MonthlyBill(ReferenceWorkload, dm, group, connect, sync)
	offline := ReferenceWorkload
	offline.OnlineShare = 1.0 / 24
	b24 := MonthlyBill(offline, dm, group, connect, sync)
	r.Bills = []Bill{b, b24}
	r.Goals = append(r.Goals, GoalCheck{Goal: "reference month under 10 % of the cheapest hosted plan", Met: b.Ratio < 0.10,
		Figure: fmt.Sprintf("$%.2f a month = %.1f %% of %s ($%.0f) with recipients online as measured; $%.2f = %.1f %% with 1 in 24 online", b.TotalUSD, 100*b.Ratio, b.Cheapest.Name, b.Cheapest.USD, b24.TotalUSD, 100*b24.Ratio),
		Why:    "WebSocket messages dominate: each message is billed as the frame in, the ack and one message per online recipient device, $1 per million each; the rest is DynamoDB (3 write units a send) and connection-minutes"})
}
