package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tokenim/tokenim/shared/testenv"
)

// Report is everything one run measured: docs/benchmarks.json as is, and
// docs/benchmarks.md rendered from it.
type Report struct {
	Command   string        `json:"command"`
	Mode      string        `json:"mode"` // quick or full
	Date      string        `json:"date"`
	Machine   Machine       `json:"machine"`
	Prices    string        `json:"prices_as_of"`
	Took      string        `json:"took"`
	Sections  []SectionTime `json:"sections"`
	Costs     []OpCost      `json:"costs,omitempty"`
	Bills     []Bill        `json:"monthly_bills,omitempty"`
	ColdStart *ColdStart    `json:"cold_start,omitempty"`
	Fanout    *Fanout       `json:"fanout,omitempty"`
	Import    *Import       `json:"import,omitempty"`
	Delivery  *Delivery     `json:"delivery_under_load,omitempty"`
	Notes     []string      `json:"notes,omitempty"`
	Goals     []GoalCheck   `json:"goals"`
}

// SectionTime is how long one section of the run took.
type SectionTime struct {
	Name string `json:"name"`
	Took string `json:"took"`
}

// Machine is where the run ran.
type Machine struct {
	OS, Arch  string
	Cores     int
	MemoryGB  float64
	GoVersion string
	Emulator  string
}

// GoalCheck is one of the goals, met or not, and why.
type GoalCheck struct {
	Goal   string `json:"goal"`
	Met    bool   `json:"met"`
	Figure string `json:"figure"`
	Why    string `json:"why,omitempty"`
}

// OpCost is one operation of the cost model, per operation.
type OpCost struct {
	Name          string             `json:"name"`
	How           string             `json:"how"`
	Runs          int                `json:"runs"`
	Requests      map[string]float64 `json:"aws_requests"` // per operation
	ReadUnits     float64            `json:"read_units"`
	WriteUnits    float64            `json:"write_units"`
	SQSRequests   float64            `json:"sqs_requests"`
	Invocations   float64            `json:"lambda_invocations"`
	LambdaMs      float64            `json:"lambda_ms"` // summed over the invocations, fastest run
	GBSeconds     float64            `json:"lambda_gb_seconds"`
	WSMessages    float64            `json:"websocket_messages"`
	RESTRequests  float64            `json:"rest_requests"`
	USDPerMillion float64            `json:"usd_per_million"`
	// Share is $ per million by what is billed.
	Share map[string]float64 `json:"usd_per_million_by_item"`
}

// costOf prices u (the totals of runs covering ops operations).
func costOf(name, how string, runs, ops int, u testenv.Usage, lambdaMs float64, requests map[string]int) OpCost {
	n := float64(ops)
	c := OpCost{Name: name, How: how, Runs: runs, Requests: map[string]float64{},
		ReadUnits: u.ReadUnits / n, WriteUnits: u.WriteUnits / n, SQSRequests: float64(u.SQSRequests) / n,
		Invocations: float64(u.LambdaInvocations) / n, LambdaMs: lambdaMs / n, GBSeconds: u.LambdaGBSeconds / n,
		WSMessages: float64(u.WebSocketMessages) / n, RESTRequests: float64(u.RESTRequests) / n,
		USDPerMillion: u.PerMillion() / n}
	for k, v := range requests {
		c.Requests[k] = float64(v) / n
	}
	per := func(v testenv.Usage) float64 { return v.PerMillion() / n }
	c.Share = map[string]float64{
		"dynamodb":          per(testenv.Usage{ReadUnits: u.ReadUnits, WriteUnits: u.WriteUnits}),
		"sqs":               per(testenv.Usage{SQSRequests: u.SQSRequests}),
		"lambda_requests":   per(testenv.Usage{LambdaInvocations: u.LambdaInvocations}),
		"lambda_duration":   per(testenv.Usage{LambdaGBSeconds: u.LambdaGBSeconds}),
		"websocket_message": per(testenv.Usage{WebSocketMessages: u.WebSocketMessages}),
		"rest_requests":     per(testenv.Usage{RESTRequests: u.RESTRequests}),
	}
	return c
}

// Write writes docs/benchmarks.json and docs/benchmarks.md under dir.
func (r *Report) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte(r.Markdown()), 0o644); err != nil {
		return fmt.Errorf("bench: write markdown: %w", err)
	}
	return nil
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("# Benchmarks")
	p("")
	var secs []string
	for _, sec := range r.Sections {
		secs = append(secs, sec.Name+" "+sec.Took)
	}
	p("Written by `%s` (do not edit: run it again). Mode **%s**, %s, took %s (%s).", r.Command, r.Mode, r.Date, r.Took, strings.Join(secs, ", "))
	p("Machine: %s/%s, %d cores, %.0f GB memory, %s; AWS requests counted against %s.", r.Machine.OS, r.Machine.Arch, r.Machine.Cores,
		r.Machine.MemoryGB, r.Machine.GoVersion, r.Machine.Emulator)
	p("Prices: `shared/testenv/prices.go`, %s. Machine-dependent figures are ratios against a baseline measured in the same run.", r.Prices)
	p("")
	p("## Goals")
	p("")
	p("| goal | met | figure | why |")
	p("| --- | --- | --- | --- |")
	for _, g := range r.Goals {
		p("| %s | %s | %s | %s |", g.Goal, map[bool]string{true: "yes", false: "**no**"}[g.Met], g.Figure, g.Why)
	}
	if len(r.Costs) > 0 {
		r.costMarkdown(p)
	}
	for i := range r.Bills {
		r.Bills[i].markdown(p)
	}
	if r.Fanout != nil {
		r.Fanout.markdown(p)
	}
	if r.Import != nil {
		r.Import.markdown(p)
	}
	if r.ColdStart != nil {
		r.ColdStart.markdown(p)
	}
	if r.Delivery != nil {
		r.Delivery.markdown(p)
	}
	if len(r.Notes) > 0 {
		p("")
		p("## Notes")
		p("")
		for _, n := range r.Notes {
			p("- %s", n)
		}
	}
	return b.String()
}

func (r *Report) costMarkdown(p func(string, ...any)) {
	p("")
	p("## Cost per operation")
	p("")
	p("Every AWS request of the operation is made through the real code (shared/chat, shared/realtime, shared/users, shared/batch, shared/signup, shared/auth) against the emulator and billed by `infra/bench/meter.go` as AWS bills it: DynamoDB write units by 1 KB of the larger of the item before and after, read units by 4 KB (a Query rounds the total it read, eventually consistent reads halve, transactions double), SQS requests by 64 KB, PostToConnection by 32 KB. Item sizes are DynamoDB's (`infra/bench/itemsize.go`). API Gateway's own meters (frames the client sends, REST requests) and Lambda invocations follow the route each operation takes (the template: REST authorizer uncached, WebSocket authorizer on `$connect` only). Lambda duration is the measured in-process time of each invocation's work against the emulator (fastest of the timed runs, unmetered), billed in whole ms at the function's MemorySize in template.yaml: an upper bound, the emulator being slower than DynamoDB.")
	p("")
	p("| operation | $ per million | DynamoDB RU / WU | SQS req | Lambda inv / ms | WS msgs | REST | DynamoDB $ | WS $ | Lambda $ | REST $ | SQS $ |")
	p("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, c := range r.Costs {
		p("| %s | **%.2f** | %.2f / %.2f | %.3f | %.3f / %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.3f |", c.Name, c.USDPerMillion, c.ReadUnits, c.WriteUnits,
			c.SQSRequests, c.Invocations, c.LambdaMs, c.WSMessages, c.RESTRequests, c.Share["dynamodb"], c.Share["websocket_message"],
			c.Share["lambda_requests"]+c.Share["lambda_duration"], c.Share["rest_requests"], c.Share["sqs"])
	}
	p("")
	p("How each row is made, and its AWS requests per operation:")
	p("")
	for _, c := range r.Costs {
		p("- **%s**: %s. Requests: %s", c.Name, c.How, requestList(c.Requests))
	}
}

func requestList(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.3g", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ") + "."
}
