package bench

import (
	"fmt"
	"sort"
	"strings"
)

// Import is users imported through the pipeline against one create call
// per user, on the in-memory stores with a modelled AWS latency.
type Import struct {
	Rows          int            `json:"rows"`
	NaiveRows     int            `json:"naive_rows"`
	StoreLatency  string         `json:"store_latency"`
	NaiveOverhead string         `json:"naive_overhead"`
	Workers       int            `json:"workers"`
	PipelineRate  float64        `json:"pipeline_rows_per_s"`
	NaiveRate     float64        `json:"naive_rows_per_s"`
	Naive16Rate   float64        `json:"naive16_rows_per_s"`
	Ratio         float64        `json:"ratio_vs_naive"`
	Ratio16       float64        `json:"ratio_vs_naive16"`
	Invocations   int            `json:"worker_invocations"`
	StoreCalls    map[string]int `json:"store_calls"`
	// From the metered import of the cost model (emulator): billed units.
	WriteUnitsPerUser float64 `json:"write_units_per_user"`
	SQSPer1000        float64 `json:"sqs_requests_per_1000_users"`
	MeteredRows       int     `json:"metered_rows"`
	// Spread is users per partition key of the users table.
	Spread        map[string]int `json:"users_per_partition_key"`
	HottestPerSec float64        `json:"hottest_partition_writes_per_s"`
}

func (im *Import) markdown(p func(string, ...any)) {
	p("")
	p("## Import throughput")
	p("")
	p("%d users from one CSV through the whole pipeline (shared/batch: submit, BatchQueue, %d batch workers as the event source drives them, 10 messages per invocation, partial batch responses) against one `users.Service.Create` per user (%d users, sequential and 16 at a time), on the in-memory stores (shared/memstore, shared/memqueue) with a modelled AWS latency: every store call waits %s (DynamoDB p50 in the Region); the naive client also pays %s per user. On the emulator both are bound by the emulator (300 to 400 writes/s), so this run shows the design, not the emulator.", im.Rows, im.Workers, im.NaiveRows, im.StoreLatency, im.NaiveOverhead)
	p("")
	p("| figure | pipeline | naive, sequential | naive, 16 at a time |")
	p("| --- | ---: | ---: | ---: |")
	p("| rows/s (modelled AWS latency) | %.0f | %.0f | %.0f |", im.PipelineRate, im.NaiveRate, im.Naive16Rate)
	p("| ratio | 1× | %.1f× slower | %.1f× slower |", im.Ratio, im.Ratio16)
	p("")
	p("Write units per user %.3f and SQS requests per 1,000 users %.2f (billed from item sizes by the metered import of the cost model, %d rows, against the emulator); %d worker invocations; store calls: %s.", im.WriteUnitsPerUser, im.SQSPer1000, im.MeteredRows, im.Invocations, mapList(im.StoreCalls))
	p("")
	keys := make([]string, 0, len(im.Spread))
	for k := range im.Spread {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, im.Spread[k]))
	}
	p("Partition-key spread of the users written (users table, pk): %s. At the pipeline's rate the hottest key takes %.0f writes/s, against DynamoDB's 1,000 WCU/s per partition.", strings.Join(parts, ", "), im.HottestPerSec)
}

func mapList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
