package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Receiver returns how to receive up to 10 messages of the template queue
// name (their bodies and receipt handles; hidden for visibility) and how to
// delete one: from the memqueue, or from the emulator's queue over the
// uncounted config. Workers' tests drive their queue with it.
func (e *Env) Receiver(t testing.TB, name string, visibility time.Duration) (receive func() (bodies, handles []string), done func(handle string)) {
	t.Helper()
	if mq := e.MemQueue(name); mq != nil {
		return func() ([]string, []string) {
				var bodies, handles []string
				for _, r := range mq.Receive(10, visibility) {
					bodies, handles = append(bodies, r.Body), append(handles, r.Handle)
				}
				return bodies, handles
			}, func(h string) {
				if mq.Delete(h) != 1 {
					t.Fatalf("%s: message %s not deleted", name, h)
				}
			}
	}
	client := sqs.NewFromConfig(e.Cfg)
	url := e.Res.QueueURLs[name]
	ctx := context.Background()
	return func() ([]string, []string) {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, VisibilityTimeout: int32(visibility.Seconds())})
			if err != nil {
				t.Fatal(err)
			}
			var bodies, handles []string
			for _, m := range out.Messages {
				bodies, handles = append(bodies, aws.ToString(m.Body)), append(handles, aws.ToString(m.ReceiptHandle))
			}
			return bodies, handles
		}, func(h string) {
			client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &h})
		}
}
