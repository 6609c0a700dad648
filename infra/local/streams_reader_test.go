package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tokenim/tokenim/infra/template"
)

// fakeStream is an in-memory DynamoDB stream: shards with records,
// iterators "shard/position", and a GetRecords failure to inject.
type fakeStream struct {
	mu        sync.Mutex
	shards    []types.Shard
	records   map[string][]types.Record
	closed    map[string]bool
	failNext  bool // the next GetRecords fails (an expired iterator)
	iterators int  // GetShardIterator calls served
	seq       int
}

func newFakeStream(shards ...types.Shard) *fakeStream {
	return &fakeStream{shards: shards, records: map[string][]types.Record{}, closed: map[string]bool{}}
}

func shard(id, parent string) types.Shard {
	s := types.Shard{ShardId: aws.String(id)}
	if parent != "" {
		s.ParentShardId = aws.String(parent)
	}
	return s
}

// add appends records to a shard; their sequence numbers grow across the
// stream and carry the shard's name for the assertions.
func (f *fakeStream) add(shardID string, n int) { f.addSized(shardID, n, 0) }

// addSized is add with records carrying a string attribute of bytes bytes.
func (f *fakeStream) addSized(shardID string, n, bytes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.seq++
		seq := fmt.Sprintf("%s-%03d", shardID, f.seq)
		r := types.Record{EventName: types.OperationTypeInsert,
			Dynamodb: &types.StreamRecord{SequenceNumber: aws.String(seq), ApproximateCreationDateTime: aws.Time(time.Now())}}
		if bytes > 0 {
			r.Dynamodb.NewImage = map[string]types.AttributeValue{"body": &types.AttributeValueMemberS{Value: strings.Repeat("x", bytes)}}
		}
		f.records[shardID] = append(f.records[shardID], r)
	}
}

func (f *fakeStream) DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{Shards: slices.Clone(f.shards)}}, nil
}

func (f *fakeStream) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.iterators++
	id := aws.ToString(in.ShardId)
	pos := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeLatest:
		pos = len(f.records[id])
	case types.ShardIteratorTypeAfterSequenceNumber:
		pos = -1
		for i, r := range f.records[id] {
			if aws.ToString(r.Dynamodb.SequenceNumber) == aws.ToString(in.SequenceNumber) {
				pos = i + 1
			}
		}
		if pos < 0 {
			return nil, errors.New("unknown sequence number")
		}
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(id + "/" + strconv.Itoa(pos))}, nil
}

func (f *fakeStream) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext {
		f.failNext = false
		return nil, &types.ExpiredIteratorException{Message: aws.String("expired")}
	}
	id, p, _ := strings.Cut(aws.ToString(in.ShardIterator), "/")
	pos, _ := strconv.Atoi(p)
	recs := f.records[id][pos:]
	recs = recs[:min(len(recs), int(aws.ToInt32(in.Limit)))]
	out := &dynamodbstreams.GetRecordsOutput{Records: recs}
	end := pos + len(recs)
	if !f.closed[id] || end < len(f.records[id]) {
		out.NextShardIterator = aws.String(id + "/" + strconv.Itoa(end))
	}
	return out, nil
}

// runPoller runs a poller on f until every one of want records was
// delivered (or 10 s), and returns the batches the function got.
func runPoller(t *testing.T, f *fakeStream, src template.DynamoDBSource, want int, during func()) [][]string {
	t.Helper()
	fn := &scriptedFn{answer: func(int, []string) ([]byte, error) { return nil, nil }}
	p, err := NewStreamPoller(StreamPoller{Source: src, StreamARN: "arn:stream", Region: "us-east-1", Client: f, Fn: fn,
		Interval: 10 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	if during != nil {
		during()
	}
	eventually(10*time.Second, func() bool {
		fn.mu.Lock()
		defer fn.mu.Unlock()
		n := 0
		for _, c := range fn.calls {
			n += len(c)
		}
		return n >= want
	})
	time.Sleep(50 * time.Millisecond) // room for a wrong extra delivery
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not stop")
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.calls
}

func flat(batches [][]string) []string { return slices.Concat(batches...) }

// TestStreamReader: shards are read as Lambda reads them (batch size,
// batching window, parents before children, LATEST, expired iterators),
// against an in-memory stream.
func TestStreamReader(t *testing.T) {
	src := template.DynamoDBSource{Function: "F", Event: "E", StartingPosition: "TRIM_HORIZON", BatchSize: 3, MaxRetries: -1}

	t.Run("batches of BatchSize, in order", func(t *testing.T) {
		f := newFakeStream(shard("s1", ""))
		f.add("s1", 7)
		got := runPoller(t, f, src, 7, nil)
		if sizes := []int{len(got[0]), len(got[1]), len(got[2])}; len(got) != 3 || !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Errorf("batches %v, want 3, 3, 1", got)
		}
		if all := flat(got); !slices.IsSorted(all) || len(all) != 7 {
			t.Errorf("records %v, want the 7 in order", all)
		}
	})

	t.Run("a batch stays within the 6 MB payload", func(t *testing.T) {
		f := newFakeStream(shard("s1", ""))
		f.addSized("s1", 8, 1<<20) // 1 MB each
		big := src
		big.BatchSize = 100
		got := runPoller(t, f, big, 8, nil)
		var sizes []int
		for _, b := range got {
			sizes = append(sizes, len(b))
		}
		if !slices.Equal(sizes, []int{5, 3}) {
			t.Errorf("batch sizes %v, want 5 and 3", sizes)
		}
	})

	t.Run("batching window collects later records", func(t *testing.T) {
		f := newFakeStream(shard("s1", ""))
		w := src
		w.BatchSize, w.BatchWindow = 10, 1
		start := time.Now()
		var first time.Time
		got := runPoller(t, f, w, 5, func() {
			f.add("s1", 3)
			first = time.Now()
			time.Sleep(300 * time.Millisecond)
			f.add("s1", 2)
		})
		if len(got) != 1 || len(got[0]) != 5 {
			t.Errorf("batches %v, want one of 5", got)
		}
		if d := time.Since(first); d < 900*time.Millisecond {
			t.Errorf("invoked %v after the first record (started %v ago), want the 1 s window", d, time.Since(start))
		}
	})

	t.Run("a child shard after its parent", func(t *testing.T) {
		f := newFakeStream(shard("a-parent", ""), shard("b-child", "a-parent"))
		f.add("b-child", 2) // written first: it must still wait
		f.add("a-parent", 4)
		f.closed["a-parent"] = true
		got := flat(runPoller(t, f, src, 6, nil))
		want := []string{"a-parent-003", "a-parent-004", "a-parent-005", "a-parent-006", "b-child-001", "b-child-002"}
		if !slices.Equal(got, want) {
			t.Errorf("records %v, want %v", got, want)
		}
	})

	t.Run("LATEST skips what was written before", func(t *testing.T) {
		f := newFakeStream(shard("s1", ""))
		f.add("s1", 2)
		l := src
		l.StartingPosition = "LATEST"
		got := flat(runPoller(t, f, l, 1, func() {
			eventually(5*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.iterators > 0 })
			f.add("s1", 1)
		}))
		if !slices.Equal(got, []string{"s1-003"}) {
			t.Errorf("records %v, want only s1-003", got)
		}
	})

	t.Run("an expired iterator resumes after the last record read", func(t *testing.T) {
		f := newFakeStream(shard("s1", ""))
		f.add("s1", 3)
		got := flat(runPoller(t, f, src, 6, func() {
			eventually(5*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.iterators > 0 })
			time.Sleep(50 * time.Millisecond)
			f.mu.Lock()
			f.failNext = true
			f.mu.Unlock()
			f.add("s1", 3)
		}))
		if want := []string{"s1-001", "s1-002", "s1-003", "s1-004", "s1-005", "s1-006"}; !slices.Equal(got, want) {
			t.Errorf("records %v, want %v (each once)", got, want)
		}
	})
}
