package sqsqueue_test

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/queue"
)

// client returns an SQS client on the emulator, or skips.
func client(t *testing.T) *sqs.Client {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		t.Skip("needs an emulator: set AWS_ENDPOINT_URL (make test, or infra/emulator/up)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sqs.NewFromConfig(cfg)
}

// newQueue creates a queue of its own for one test and deletes it after.
func newQueue(t *testing.T, c *sqs.Client) string {
	t.Helper()
	name := "sqsqueue-" + t.Name() + "-" + time.Now().Format("150405.000000000")
	name = sanitize(name)
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: &name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.DeleteQueue(context.WithoutCancel(context.Background()), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	})
	return aws.ToString(out.QueueUrl)
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 80)])
}

// receive reads up to want messages (at most 5 polls of 1 s), sorted.
func receive(t *testing.T, c *sqs.Client, url string, want int) []string {
	t.Helper()
	var got []string
	for poll := 0; poll < 5 && len(got) < want; poll++ {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
		}
	}
	slices.Sort(got)
	return got
}

func TestSendBatch(t *testing.T) {
	c := client(t)
	tests := []struct {
		name       string
		msgs       []queue.Message
		wantBodies []string
	}{
		{"all taken", []queue.Message{{Body: "a"}, {Body: "b"}, {Body: "c"}}, []string{"a", "b", "c"}},
		{"one", []queue.Message{{Body: "x"}}, []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := newQueue(t, c)
			refused, err := sqsqueue.New(c, url).SendBatch(context.Background(), tc.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if len(refused) != 0 {
				t.Errorf("refused %+v, want none", refused)
			}
			if got := receive(t, c, url, len(tc.wantBodies)); !slices.Equal(got, tc.wantBodies) {
				t.Errorf("received %q, want %q", got, tc.wantBodies)
			}
		})
	}
}

func TestSend(t *testing.T) {
	c := client(t)
	url := newQueue(t, c)
	tests := []struct {
		name    string
		url     string
		body    string
		wantErr bool
	}{
		{"sent", url, `{"user_id":"u1"}`, false},
		{"no such queue", url + "-missing", "x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sqsqueue.New(c, tc.url).Send(context.Background(), queue.Message{Body: tc.body})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got := receive(t, c, tc.url, 1); !slices.Equal(got, []string{tc.body}) {
				t.Errorf("received %q, want %q", got, tc.body)
			}
		})
	}
}

// fakeSQS answers every SendMessageBatch with failed, as SQS's JSON
// protocol does (the emulator cannot refuse single entries: moto encodes
// SenderFault as a string the SDK rejects). Entries not in failed succeed.
func fakeSQS(t *testing.T, failed string) *sqs.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Entries []struct{ Id, MessageBody string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		var done []ok
		for _, e := range in.Entries {
			if !strings.Contains(failed, `"Id":"`+e.Id+`"`) {
				done = append(done, ok{e.Id, "m-" + e.Id, fmt.Sprintf("%x", md5.Sum([]byte(e.MessageBody)))})
			}
		}
		b, _ := json.Marshal(done)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		fmt.Fprintf(w, `{"Successful":%s,"Failed":%s}`, b, failed)
	}))
	t.Cleanup(srv.Close)
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func TestSendBatchRefused(t *testing.T) {
	msgs := []queue.Message{{Body: "a"}, {Body: "b"}, {Body: "c"}}
	tests := []struct {
		name        string
		failed      string
		wantRefused []queue.Refused
		wantErr     bool
	}{
		{"none", `[]`, []queue.Refused{}, false},
		{"by index, sender's fault", `[{"Id":"1","SenderFault":true,"Code":"InvalidParameterValue"}]`,
			[]queue.Refused{{Index: 1, Permanent: true, Code: "InvalidParameterValue"}}, false},
		{"server's fault is not permanent", `[{"Id":"2","SenderFault":false,"Code":"InternalError"}]`,
			[]queue.Refused{{Index: 2, Code: "InternalError"}}, false},
		{"unknown id", `[{"Id":"7","SenderFault":true,"Code":"X"}]`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refused, err := sqsqueue.New(fakeSQS(t, tc.failed), "http://queue.invalid/q").SendBatch(context.Background(), msgs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(refused, tc.wantRefused) {
				t.Errorf("refused %+v, want %+v", refused, tc.wantRefused)
			}
		})
	}
}

func TestQueueURL(t *testing.T) {
	for _, tc := range []struct{ arn, want string }{
		{"arn:aws:sqs:us-east-1:123456789012:tokenim-BatchQueue-1", "https://sqs.us-east-1.amazonaws.com/123456789012/tokenim-BatchQueue-1"},
		{"arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo", "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo"},
		{"arn:aws:sns:us-east-1:123456789012:topic", ""},
		{"arn:aws:sqs:us-east-1::q", ""},
		{"", ""},
	} {
		got, err := sqsqueue.QueueURL(tc.arn)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("QueueURL(%q) = %q, %v; want %q", tc.arn, got, err, tc.want)
		}
	}
}

// TestRedeliver: on the emulator, a received message rescheduled after 0
// is visible again at once, one rescheduled after a minute is not, and a
// stale receipt is reported, not hidden. The queue's own visibility
// timeout (30 s) would hide both for the whole test.
func TestRedeliver(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	url := newQueue(t, c)
	q := sqsqueue.New(c, url)
	for _, body := range []string{"now", "later"} {
		if err := q.Send(ctx, queue.Message{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	arn := attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
	var rs []queue.Redelivery
	for poll := 0; poll < 5 && len(rs) < 2; poll++ {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			after := time.Minute
			if aws.ToString(m.Body) == "now" {
				after = 0
			}
			rs = append(rs, queue.Redelivery{Record: queue.Record{ID: aws.ToString(m.MessageId), Source: arn, Receipt: aws.ToString(m.ReceiptHandle)}, After: after})
		}
	}
	if len(rs) != 2 {
		t.Fatalf("received %d messages, want 2", len(rs))
	}
	if err := sqsqueue.NewVisibility(c).Redeliver(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c, url, 2); !slices.Equal(got, []string{"now"}) {
		t.Fatalf("visible after rescheduling: %v, want [now]", got)
	}
	bad := []queue.Redelivery{{Record: queue.Record{ID: "x", Source: "not an arn", Receipt: "r"}}}
	if err := sqsqueue.NewVisibility(c).Redeliver(ctx, bad); err == nil {
		t.Fatal("a record without a queue ARN was accepted")
	}
}

// TestSendFIFO: on a FIFO queue, messages carry their group and
// deduplication id: a group's messages come back in the order sent (a
// batch's entries in their order, then the next call's), and a message
// sent again with a deduplication id already used is dropped.
func TestSendFIFO(t *testing.T) {
	c := client(t)
	name := sanitize("sqsqueue-fifo-"+time.Now().Format("150405.000000000")) + ".fifo"
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: &name,
		Attributes: map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		c.DeleteQueue(context.WithoutCancel(context.Background()), &sqs.DeleteQueueInput{QueueUrl: &url})
	})
	q := sqsqueue.New(c, url)
	ctx := context.Background()
	msg := func(g string, n int) queue.Message {
		return queue.Message{Body: fmt.Sprintf("%s%d", g, n), Group: g, DedupID: fmt.Sprintf("%s-%d", g, n)}
	}
	if refused, err := q.SendBatch(ctx, []queue.Message{msg("a", 1), msg("b", 1), msg("a", 2)}); err != nil || len(refused) > 0 {
		t.Fatalf("send batch: %v %v", refused, err)
	}
	for _, m := range []queue.Message{msg("a", 2), msg("a", 3), msg("b", 2)} { // a2 again: dropped
		if err := q.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]string{}
	total, extra := 0, 0 // one more poll after the 5 expected: no duplicate
	for poll := 0; poll < 10 && extra < 1; poll++ {
		if total >= 5 {
			extra++
		}
		r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			g := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
			got[g] = append(got[g], aws.ToString(m.Body))
			total++
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string][]string{"a": {"a1", "a2", "a3"}, "b": {"b1", "b2"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}
