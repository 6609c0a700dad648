package local

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// scriptedFn is an Invoker that records each batch (its sequence numbers)
// and answers with what answer says.
type scriptedFn struct {
	mu     sync.Mutex
	calls  [][]string
	answer func(call int, seqs []string) ([]byte, error)
}

func (f *scriptedFn) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	var seqs []string
	for _, r := range ev.Records {
		seqs = append(seqs, r.Change.SequenceNumber)
	}
	f.mu.Lock()
	f.calls = append(f.calls, seqs)
	n := len(f.calls)
	f.mu.Unlock()
	return f.answer(n, seqs)
}

func failItems(seqs ...string) []byte {
	var r events.DynamoDBEventResponse
	for _, s := range seqs {
		r.BatchItemFailures = append(r.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: s})
	}
	b, _ := json.Marshal(r)
	return b
}

var errFunction = &runtime.Error{Kind: runtime.Handled, RequestID: "req-1", Type: "errorString", Message: "failed"}

// TestStreamDeliver: the retry rules of a stream mapping (partial batch
// failures, bisection, retry limits, throttles), without an emulator.
func TestStreamDeliver(t *testing.T) {
	tests := []struct {
		name      string
		src       template.DynamoDBSource
		batch     []string
		answer    func(call int, seqs []string) ([]byte, error)
		wantCalls [][]string
		wantGiven []string // start sequence numbers given up on
	}{
		{"success", template.DynamoDBSource{ReportFailures: true, MaxRetries: -1}, []string{"1", "2", "3"},
			func(int, []string) ([]byte, error) { return []byte(`{"batchItemFailures":[]}`), nil },
			[][]string{{"1", "2", "3"}}, nil},
		{"partial failure retries from the first failed record", template.DynamoDBSource{ReportFailures: true, MaxRetries: -1}, []string{"1", "2", "3", "4"},
			func(call int, _ []string) ([]byte, error) {
				if call == 1 {
					return failItems("4", "2"), nil
				}
				return nil, nil
			},
			[][]string{{"1", "2", "3", "4"}, {"2", "3", "4"}}, nil},
		{"failure list ignored without ReportBatchItemFailures", template.DynamoDBSource{MaxRetries: -1}, []string{"1", "2"},
			func(int, []string) ([]byte, error) { return failItems("1"), nil },
			[][]string{{"1", "2"}}, nil},
		{"unknown item fails the whole batch", template.DynamoDBSource{ReportFailures: true, MaxRetries: 1}, []string{"1", "2"},
			func(int, []string) ([]byte, error) { return failItems("9"), nil },
			[][]string{{"1", "2"}, {"1", "2"}}, []string{"1"}},
		{"empty item identifier fails the whole batch", template.DynamoDBSource{ReportFailures: true, MaxRetries: 0}, []string{"1", "2"},
			func(int, []string) ([]byte, error) { return failItems(""), nil },
			[][]string{{"1", "2"}}, []string{"1"}},
		{"function error without bisection retries the batch", template.DynamoDBSource{MaxRetries: 2}, []string{"1", "2"},
			func(int, []string) ([]byte, error) { return nil, errFunction },
			[][]string{{"1", "2"}, {"1", "2"}, {"1", "2"}}, []string{"1"}},
		{"bisection isolates the failing record", template.DynamoDBSource{Bisect: true, MaxRetries: 1}, []string{"1", "2", "3", "4"},
			func(_ int, seqs []string) ([]byte, error) {
				if slices.Contains(seqs, "2") {
					return nil, errFunction
				}
				return nil, nil
			},
			[][]string{{"1", "2", "3", "4"}, {"1", "2"}, {"1"}, {"2"}, {"2"}, {"3", "4"}}, []string{"2"}},
		{"retries exhausted after a partial failure give up the rest of the batch", template.DynamoDBSource{ReportFailures: true, MaxRetries: 1}, []string{"1", "2", "3"},
			func(int, []string) ([]byte, error) { return failItems("2"), nil },
			[][]string{{"1", "2", "3"}, {"2", "3"}}, []string{"2"}},
		{"throttles do not count as retries", template.DynamoDBSource{MaxRetries: 0}, []string{"1"},
			func(call int, _ []string) ([]byte, error) {
				if call < 3 {
					return nil, &runtime.Error{Kind: runtime.Throttled}
				}
				return nil, nil
			},
			[][]string{{"1"}, {"1"}, {"1"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			fn := &scriptedFn{answer: tc.answer}
			p, err := NewStreamPoller(StreamPoller{Source: tc.src, Fn: fn, Interval: time.Millisecond, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			var batch []streamRecord
			for _, s := range tc.batch {
				batch = append(batch, streamRecord{DynamoDBEventRecord: events.DynamoDBEventRecord{Change: events.DynamoDBStreamRecord{SequenceNumber: s}}})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p.deliver(ctx, "shard-1", batch)
			if !slices.EqualFunc(fn.calls, tc.wantCalls, slices.Equal) {
				t.Errorf("invocations %v, want %v", fn.calls, tc.wantCalls)
			}
			var given []string
			for _, line := range strings.Split(logs.String(), "\n") {
				var l struct {
					Msg   string `json:"msg"`
					Start string `json:"start_sequence_number"`
				}
				if json.Unmarshal([]byte(line), &l) == nil && strings.Contains(l.Msg, "retries exhausted") {
					given = append(given, l.Start)
				}
			}
			if !slices.Equal(given, tc.wantGiven) {
				t.Errorf("given up on %v, want %v", given, tc.wantGiven)
			}
		})
	}
}

// TestStreamDeliverStops: a batch retried forever (MaximumRetryAttempts
// -1) is left as soon as the stack stops.
func TestStreamDeliverStops(t *testing.T) {
	fn := &scriptedFn{answer: func(int, []string) ([]byte, error) { return nil, errFunction }}
	p, err := NewStreamPoller(StreamPoller{Source: template.DynamoDBSource{MaxRetries: -1}, Fn: fn, Interval: time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	p.deliver(ctx, "shard-1", []streamRecord{{}})
	if d := time.Since(start); d > 2*time.Second || len(fn.calls) < 2 {
		t.Errorf("deliver returned after %v and %d invocations", d, len(fn.calls))
	}
}

// TestStreamFilter: the records a filter keeps, matched on their JSON as
// the function receives it; with template.yaml's DeliveryFunction pattern.
func TestStreamFilter(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := tmpl.DynamoDBSources()
	if err != nil || len(srcs) == 0 {
		t.Fatalf("sources %v, %v", srcs, err)
	}
	f, err := newRecordFilter(srcs[0].Filters)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(event, sk string) types.Record {
		return types.Record{EventName: types.OperationType(event), Dynamodb: &types.StreamRecord{SequenceNumber: aws.String("1"),
			Keys: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "C#1"}, "sk": &types.AttributeValueMemberS{Value: sk}}}}
	}
	tests := []struct {
		name string
		rec  types.Record
		want bool
	}{
		{"new message", rec("INSERT", "MSG#00000000000000000001"), true},
		{"head", rec("INSERT", "HEAD"), false},
		{"claim", rec("INSERT", "CLAIM#abc"), false},
		{"message changed", rec("MODIFY", "MSG#00000000000000000001"), false},
		{"message deleted", rec("REMOVE", "MSG#00000000000000000001"), false},
		{"prefix is case-sensitive", rec("INSERT", "msg#1"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr, err := lambdaRecord(tc.rec, "arn:stream", "us-east-1")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(lr)
			got, err := f.forShard().match(raw)
			if err != nil || got != tc.want {
				t.Errorf("match(%s) = %v, %v; want %v", raw, got, err, tc.want)
			}
		})
	}
	for _, p := range []string{`{"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1]}]}}}}`, `{"eventName": [{"suffix": "RT"}]}`} {
		if _, err := newRecordFilter([]string{p}); err == nil {
			t.Errorf("pattern %s accepted; the local matcher cannot run it", p)
		}
	}
}

// TestLambdaRecord: a stream record reaches the function in Lambda's JSON
// shape, every attribute type in DynamoDB JSON.
func TestLambdaRecord(t *testing.T) {
	at := time.Unix(1700000000, 0)
	r := types.Record{EventID: aws.String("e1"), EventName: types.OperationTypeInsert, EventVersion: aws.String("1.1"), AwsRegion: aws.String("eu-west-1"),
		Dynamodb: &types.StreamRecord{ApproximateCreationDateTime: &at, SequenceNumber: aws.String("42"), SizeBytes: aws.Int64(99), StreamViewType: types.StreamViewTypeNewImage,
			Keys: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}},
			NewImage: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}, "n": &types.AttributeValueMemberN{Value: "7"},
				"b": &types.AttributeValueMemberB{Value: []byte{1, 2}}, "ok": &types.AttributeValueMemberBOOL{Value: true}, "none": &types.AttributeValueMemberNULL{Value: true},
				"ss": &types.AttributeValueMemberSS{Value: []string{"x"}}, "ns": &types.AttributeValueMemberNS{Value: []string{"1"}},
				"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "y"}}},
				"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"z": &types.AttributeValueMemberN{Value: "1"}}}}}}
	lr, err := lambdaRecord(r, "arn:aws:dynamodb:eu-west-1:0:table/t/stream/s", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(lr)
	var gotM, wantM map[string]any
	json.Unmarshal(got, &gotM)
	want := `{"awsRegion":"eu-west-1","eventID":"e1","eventName":"INSERT","eventSource":"aws:dynamodb","eventVersion":"1.1",
		"eventSourceARN":"arn:aws:dynamodb:eu-west-1:0:table/t/stream/s",
		"dynamodb":{"ApproximateCreationDateTime":1700000000,"Keys":{"pk":{"S":"k"}},"SequenceNumber":"42","SizeBytes":99,"StreamViewType":"NEW_IMAGE",
		"NewImage":{"pk":{"S":"k"},"n":{"N":"7"},"b":{"B":"AQI="},"ok":{"BOOL":true},"none":{"NULL":true},"ss":{"SS":["x"]},"ns":{"NS":["1"]},
		"l":{"L":[{"S":"y"}]},"m":{"M":{"z":{"N":"1"}}}}}}`
	if err := json.Unmarshal([]byte(want), &wantM); err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(gotM), mustJSON(wantM); g != w {
		t.Errorf("record\n got %s\nwant %s", g, w)
	}
	if _, err := attributeValue(nil); err == nil {
		t.Errorf("an unknown attribute type converted: %v", err)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
