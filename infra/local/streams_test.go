package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/testenv"
)

// streamStack runs testdata/streams.yaml: FnFunction on a table's stream,
// batches of 5, the message filter, partial failures, bisection, 2
// retries and an OnFailure queue.
type streamStack struct {
	*testStack
	ddb   *dynamodb.Client
	sqs   *sqs.Client
	table string
}

func startStreamStack(t *testing.T) *streamStack {
	t.Helper()
	testenv.NeedAWS(t)
	tmpl, err := template.Load(filepath.Join("testdata", "streams.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, tmpl, nil)
	cfg := testenv.Get(t).Cfg
	return &streamStack{testStack: s, ddb: dynamodb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), table: s.Resources.Tables["StreamTable"]}
}

// item is one write to the stream table: mode tells the test function
// how to fail (testdata/fn).
type item struct{ pk, sk, mode string }

func (it item) av() map[string]ddbtypes.AttributeValue {
	m := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: it.pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: it.sk}}
	if it.mode != "" {
		m["mode"] = &ddbtypes.AttributeValueMemberS{Value: it.mode}
	}
	return m
}

func (s *streamStack) put(t *testing.T, items ...item) {
	t.Helper()
	for _, it := range items {
		if _, err := s.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &s.table, Item: it.av()}); err != nil {
			t.Fatal(err)
		}
	}
}

// putBatch writes items in one BatchWriteItem, so they usually reach the
// function in one batch.
func (s *streamStack) putBatch(t *testing.T, items ...item) {
	t.Helper()
	var reqs []ddbtypes.WriteRequest
	for _, it := range items {
		reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: it.av()}})
	}
	out, err := s.ddb.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{s.table: reqs}})
	if err != nil || len(out.UnprocessedItems) > 0 {
		t.Fatalf("batch write: %v (unprocessed %d)", err, len(out.UnprocessedItems))
	}
}

// delivered is one record as the test function printed it.
type delivered struct {
	pk, sk, event, batch, seq, source, region, view string
	idx, n                                          int
}

// deliveredOf parses the function's "stream record" lines for keys
// starting with prefix, in the order the function got them.
func (s *streamStack) deliveredOf(prefix string) []delivered {
	var out []delivered
	for _, line := range strings.Split(s.out.String(), "\n") {
		_, rec, ok := strings.Cut(line, "stream record ") // after the "[function] " prefix
		if !ok || !strings.HasPrefix(rec, "pk="+prefix) {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Fields(rec) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		d := delivered{pk: f["pk"], sk: f["sk"], event: f["event"], batch: f["batch"], seq: f["seq"], source: f["source"], region: f["region"], view: f["view"]}
		d.idx, _ = strconv.Atoi(f["idx"])
		d.n, _ = strconv.Atoi(f["n"])
		out = append(out, d)
	}
	return out
}

// count is how many times the record pk/sk reached the function.
func count(ds []delivered, pk, sk string) int {
	n := 0
	for _, d := range ds {
		if d.pk == pk && d.sk == sk {
			n++
		}
	}
	return n
}

// failures drains the OnFailure queue into got (by start sequence number).
func (s *streamStack) failures(t *testing.T, got map[string]onFailureRecord) {
	t.Helper()
	url := s.Resources.QueueURLs["StreamFailureQueue"]
	out, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.Messages {
		var r onFailureRecord
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &r); err != nil {
			t.Fatalf("OnFailure message %s: %v", aws.ToString(m.Body), err)
		}
		got[r.BatchInfo.StartSequenceNumber] = r
		s.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle})
	}
}

// TestStreamTrigger: a DynamoDB stream event behaves as Lambda's event
// source mapping: per-key order, filters, batch size, partial batch
// failures, bisection, retries and the OnFailure destination.
func TestStreamTrigger(t *testing.T) {
	s := startStreamStack(t)
	arn := s.Resources.StreamARNs["StreamTable"]
	if len(s.Streams) != 1 || !slices.Contains(s.Served(), "DynamoDB FnFunction.Stream") {
		t.Fatalf("stream pollers = %d, served %v", len(s.Streams), s.Served())
	}
	dead := map[string]onFailureRecord{}

	t.Run("records reach the function in order per key", func(t *testing.T) {
		run := testenv.ID("ord")
		want := map[string][]string{}
		for i := range 6 {
			for _, k := range []string{run + "-a", run + "-b"} {
				sk := "MSG#" + strconv.Itoa(10+i)
				s.put(t, item{pk: k, sk: sk})
				want[k] = append(want[k], sk)
			}
		}
		if !eventually(30*time.Second, func() bool { return len(s.deliveredOf(run)) >= 12 }) {
			t.Fatalf("delivered %d of 12", len(s.deliveredOf(run)))
		}
		got := map[string][]string{}
		for _, d := range s.deliveredOf(run) {
			got[d.pk] = append(got[d.pk], d.sk)
			if d.n > 5 {
				t.Errorf("a batch of %d records; BatchSize is 5", d.n)
			}
			if d.event != "INSERT" || d.source != arn || d.region == "" || d.view != "NEW_IMAGE" || d.seq == "" {
				t.Errorf("record %+v: want INSERT from %s with region, view and sequence number", d, arn)
			}
		}
		for k, sks := range want {
			if !slices.Equal(got[k], sks) {
				t.Errorf("%s: delivered %v, want %v (in order, once each)", k, got[k], sks)
			}
		}
	})

	t.Run("latency", func(t *testing.T) {
		run := testenv.ID("lat")
		var lat []time.Duration
		for i := range 5 {
			sk := "MSG#" + strconv.Itoa(i)
			s.put(t, item{pk: run, sk: sk})
			start := time.Now()
			deadline := start.Add(5 * time.Second)
			for count(s.deliveredOf(run), run, sk) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if count(s.deliveredOf(run), run, sk) == 0 {
				t.Fatalf("%s not delivered within 5 s", sk)
			}
			lat = append(lat, time.Since(start))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("write-to-invocation latency over %d writes: median %v, max %v (poll interval %v)", len(lat), lat[len(lat)/2], lat[len(lat)-1], DefaultStreamInterval)
	})

	t.Run("filters drop heads, claims, changes and deletions with no invocation", func(t *testing.T) {
		run := testenv.ID("flt")
		before := s.out.Count("stream invocation n=0")
		s.put(t, item{pk: run, sk: "HEAD"}, item{pk: run, sk: "CLAIM#c1"}, item{pk: run, sk: "MSG#1"})
		key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: run}, "sk": &ddbtypes.AttributeValueMemberS{Value: "MSG#1"}}
		if _, err := s.ddb.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: &s.table, Key: key,
			UpdateExpression: aws.String("SET x = :x"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":x": &ddbtypes.AttributeValueMemberN{Value: "1"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ddb.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: &s.table, Key: key}); err != nil {
			t.Fatal(err)
		}
		s.put(t, item{pk: run, sk: "MSG#2"}) // the sentinel: everything before it was read
		if !eventually(30*time.Second, func() bool { return count(s.deliveredOf(run), run, "MSG#2") > 0 }) {
			t.Fatal("the sentinel was not delivered")
		}
		var got []string
		for _, d := range s.deliveredOf(run) {
			got = append(got, d.event+" "+d.sk)
		}
		if want := []string{"INSERT MSG#1", "INSERT MSG#2"}; !slices.Equal(got, want) {
			t.Errorf("delivered %v, want %v", got, want)
		}
		if n := s.out.Count("stream invocation n=0"); n != before {
			t.Errorf("%d invocations with no records", n-before)
		}
	})

	t.Run("partial batch failure retries from the failed record only", func(t *testing.T) {
		run := testenv.ID("part")
		once := filepath.Join(t.TempDir(), "failed")
		s.putBatch(t, item{pk: run, sk: "MSG#1"}, item{pk: run, sk: "MSG#2", mode: "fail-once:" + once}, item{pk: run, sk: "MSG#3"})
		if !eventually(30*time.Second, func() bool {
			ds := s.deliveredOf(run)
			return count(ds, run, "MSG#2") >= 2 && count(ds, run, "MSG#3") >= 1
		}) {
			t.Fatalf("delivered %+v", s.deliveredOf(run))
		}
		time.Sleep(3 * DefaultStreamInterval) // room for a wrong extra retry
		ds := s.deliveredOf(run)
		if n := count(ds, run, "MSG#1"); n != 1 {
			t.Errorf("MSG#1 (before the failure) delivered %d times, want 1", n)
		}
		if n := count(ds, run, "MSG#2"); n != 2 {
			t.Errorf("MSG#2 (failed once) delivered %d times, want 2", n)
		}
		var retry delivered
		for _, d := range ds {
			if d.sk == "MSG#2" {
				retry = d // the last sighting: the retry
			}
		}
		if retry.idx != 0 {
			t.Errorf("the retry started at index %d, want the failed record first", retry.idx)
		}
	})

	t.Run("retries exhausted: the OnFailure queue gets the batch", func(t *testing.T) {
		run := testenv.ID("dead")
		s.put(t, item{pk: run, sk: "MSG#1", mode: "fail"})
		var seq string
		if !eventually(30*time.Second, func() bool {
			if ds := s.deliveredOf(run); len(ds) > 0 {
				seq = ds[0].seq
			}
			s.failures(t, dead)
			_, ok := dead[seq]
			return ok
		}) {
			t.Fatalf("no OnFailure record for %q (delivered %+v, OnFailure %v)", seq, s.deliveredOf(run), dead)
		}
		if n := count(s.deliveredOf(run), run, "MSG#1"); n != 3 {
			t.Errorf("MSG#1 delivered %d times, want 3 (MaximumRetryAttempts 2)", n)
		}
		s.put(t, item{pk: run, sk: "MSG#2"})
		if !eventually(30*time.Second, func() bool { return count(s.deliveredOf(run), run, "MSG#2") > 0 }) {
			t.Fatalf("the shard did not move on: %+v", s.deliveredOf(run))
		}
		r := dead[seq]
		b := r.BatchInfo
		if r.RequestContext.Condition != "RetryAttemptsExhausted" || r.RequestContext.ApproximateInvokeCount != 3 || r.Version != "1.0" ||
			!strings.HasSuffix(r.RequestContext.FunctionARN, ":function:tokenim-local-FnFunction") || r.ResponseContext.FunctionError != "" ||
			b.EndSequenceNumber != seq || b.BatchSize != 1 || b.StreamARN != arn || b.ShardID == "" || b.ApproximateArrivalOfFirstRecord == "" {
			t.Errorf("OnFailure record = %+v", r)
		}
	})

	t.Run("function error: bisected, only the failing record is given up", func(t *testing.T) {
		run := testenv.ID("bis")
		s.putBatch(t, item{pk: run, sk: "MSG#1"}, item{pk: run, sk: "MSG#2", mode: "error"}, item{pk: run, sk: "MSG#3"})
		var seq string
		if !eventually(60*time.Second, func() bool {
			ds := s.deliveredOf(run)
			for _, d := range ds {
				if d.sk == "MSG#2" {
					seq = d.seq
				}
			}
			s.failures(t, dead)
			_, ok := dead[seq]
			return seq != "" && ok && count(ds, run, "MSG#3") > 0
		}) {
			t.Fatalf("delivered %+v, OnFailure %v", s.deliveredOf(run), dead)
		}
		r := dead[seq]
		if r.BatchInfo.BatchSize != 1 || r.BatchInfo.EndSequenceNumber != seq || r.ResponseContext.FunctionError != "Unhandled" {
			t.Errorf("OnFailure record = %+v, want MSG#2 alone with a function error", r)
		}
		if got := len(dead); got != 2 {
			t.Errorf("OnFailure records = %d, want 2 (this test's and the previous one's)", got)
		}
	})
}

// TestStreamStopsCleanly: closing the stack while a stream poller is
// retrying a failing batch returns promptly and leaves no poller
// goroutine behind.
func TestStreamStopsCleanly(t *testing.T) {
	s := startStreamStack(t)
	run := testenv.ID("stop")
	s.put(t, item{pk: run, sk: "MSG#1", mode: "error"})
	if !eventually(30*time.Second, func() bool { return count(s.deliveredOf(run), run, "MSG#1") > 0 }) {
		t.Fatal("the record was not delivered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	s.Close(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	var left []string
	if !eventually(5*time.Second, func() bool {
		buf := make([]byte, 1<<20)
		buf = buf[:goruntime.Stack(buf, true)]
		left = nil
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "(*StreamPoller).") || strings.Contains(g, "(*shardReader).") {
				left = append(left, g)
			}
		}
		return len(left) == 0
	}) {
		t.Errorf("stream goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
	}
}

// TestStartFailsCleanly: a stack that cannot start (a function without
// its bootstrap, a stream filter the local matcher cannot run) returns an
// error naming the cause and stops what it had started, rather than
// panicking on the way out.
func TestStartFailsCleanly(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	src, err := os.ReadFile(filepath.Join("testdata", "streams.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tmpl    string
		binary  string
		wantErr string
	}{
		{"no bootstrap", string(src), "/nonexistent/bootstrap", "no bootstrap"},
		{"numeric filter", strings.Replace(string(src), `{"eventName": ["INSERT"]`, `{"eventName": ["INSERT"], "x": [{"numeric": [">", 1]}]`, 1), "",
			"FnFunction.Stream: filter pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := template.Parse([]byte(tc.tmpl))
			if err != nil {
				t.Fatal(err)
			}
			bins := binaries(t)
			o := Options{Template: tmpl, AWS: env.Cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Prefix: testenv.ID("f") + "-",
				RESTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Concurrency: 1, BinDir: bins, Output: io.Discard, Log: slog.New(slog.DiscardHandler)}
			if tc.binary != "" {
				o.Binary = func(template.Function) string { return tc.binary }
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := Start(ctx, o)
			if err == nil {
				s.Close(ctx)
				t.Fatal("the stack started")
			}
			if s != nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Start = %v, %v; want nil and an error containing %q", s, err, tc.wantErr)
			}
		})
	}
}
