package signup

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSQueue is SignupQueue (SIGNUP_QUEUE_URL).
type SQSQueue struct {
	Client *sqs.Client
	URL    string
}

// Enqueue sends one request: one SQS SendMessage.
func (q SQSQueue) Enqueue(ctx context.Context, r Request) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("signup: marshal request: %w", err)
	}
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(b))}); err != nil {
		return fmt.Errorf("signup: queue: %w", err)
	}
	return nil
}
