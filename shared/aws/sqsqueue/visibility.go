package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/shared/queue"
)

var _ queue.Redeliverer = (*Visibility)(nil)

// maxVisibility is SQS's limit on a message's visibility timeout (12 h).
const maxVisibility = 12 * 60 * 60

// Visibility schedules redeliveries by changing the visibility timeout of
// the received messages: one ChangeMessageVisibilityBatch per queue and
// 10 messages (the function needs sqs:ChangeMessageVisibility on the
// queue). It is called only for failed records, so a batch that succeeds
// costs nothing more.
type Visibility struct {
	client *sqs.Client
}

// NewVisibility returns the SQS redeliverer.
func NewVisibility(c *sqs.Client) *Visibility { return &Visibility{client: c} }

// Redeliver changes each record's visibility to its delay. Records are
// grouped by their source queue (an ARN, as Lambda's SQS event names it).
func (v *Visibility) Redeliver(ctx context.Context, rs []queue.Redelivery) error {
	byQueue := map[string][]types.ChangeMessageVisibilityBatchRequestEntry{}
	var order []string
	var errs []error
	for i, r := range rs {
		url, err := QueueURL(r.Record.Source)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := byQueue[url]; !ok {
			order = append(order, url)
		}
		secs := int32(min(math.Ceil(r.After.Seconds()), maxVisibility))
		byQueue[url] = append(byQueue[url], types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.Record.Receipt), VisibilityTimeout: secs})
	}
	for _, url := range order {
		entries := byQueue[url]
		for len(entries) > 0 {
			n := min(len(entries), 10)
			out, err := v.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries[:n]})
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("sqsqueue: change visibility: %w", err))
			case len(out.Failed) > 0:
				errs = append(errs, fmt.Errorf("sqsqueue: change visibility: %d of %d refused (first: %s)", len(out.Failed), n, aws.ToString(out.Failed[0].Code)))
			}
			entries = entries[n:]
		}
	}
	return errors.Join(errs...)
}

// QueueURL turns an SQS queue ARN (arn:partition:sqs:region:account:name)
// into its URL, so a worker needs no GetQueueUrl call (nor its permission).
// The SDK sends requests to its configured endpoint; emulators read the
// account and name from the URL's path.
func QueueURL(arn string) (string, error) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[3] == "" || p[4] == "" || p[5] == "" {
		return "", fmt.Errorf("sqsqueue: %q is not an SQS queue ARN", arn)
	}
	suffix := "amazonaws.com"
	if p[1] == "aws-cn" {
		suffix = "amazonaws.com.cn"
	}
	return fmt.Sprintf("https://sqs.%s.%s/%s/%s", p[3], suffix, p[4], p[5]), nil
}
