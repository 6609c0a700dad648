package testenv

import (
	"fmt"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/users"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// memory is the environment of the memory backend: the template (read,
// not provisioned), fresh keys, an empty memstore world, and one memqueue
// per template queue with the template's redrive policy.
func memory() (*Env, error) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		return nil, err
	}
	key := []byte(randHex(32))
	tokens, cursors, err := config.Keys(key, config.DefaultIssuer)
	if err != nil {
		return nil, err
	}
	e := &Env{Cfg: nowhere(), SigningKey: key, Tokens: tokens, Cursors: cursors, Template: tmpl, Memory: memstore.NewWorld(), queues: map[string]*memqueue.Queue{}}
	// Dead-letter queues first, so a work queue can name its own.
	for name, r := range tmpl.Resources {
		if r.Type == "AWS::SQS::Queue" && !hasRedrive(r.Properties) {
			e.queues[name] = memqueue.New(name, memqueue.Options{})
		}
	}
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::SQS::Queue" || !hasRedrive(r.Properties) {
			continue
		}
		dlq, max, err := redrive(r.Properties)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", name, err)
		}
		e.queues[name] = memqueue.New(name, memqueue.Options{DeadLetter: e.queues[dlq], MaxReceiveCount: max})
	}
	return e, nil
}

// nowhere is the memory backend's AWS config: a region and test
// credentials, so clients can be built (the API Gateway management client
// pointed at a fake gateway, say), and an endpoint on a closed loopback
// port, so a client a test builds by mistake fails at once instead of
// reaching real AWS.
func nowhere() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:9"), RetryMaxAttempts: 1}
}

func hasRedrive(props map[string]any) bool { _, ok := props["RedrivePolicy"]; return ok }

// redrive reads a queue's RedrivePolicy: the dead-letter queue's logical
// id (from its !GetAtt ....Arn) and maxReceiveCount.
func redrive(props map[string]any) (string, int, error) {
	p, _ := props["RedrivePolicy"].(map[string]any)
	max, ok := p["maxReceiveCount"].(int)
	if !ok {
		return "", 0, fmt.Errorf("RedrivePolicy.maxReceiveCount is not a number: %v", p["maxReceiveCount"])
	}
	att, _ := p["deadLetterTargetArn"].(map[string]any)
	ga, _ := att["Fn::GetAtt"].([]any)
	if len(ga) != 2 {
		return "", 0, fmt.Errorf("RedrivePolicy.deadLetterTargetArn is not a !GetAtt: %v", p["deadLetterTargetArn"])
	}
	name, _ := ga[0].(string)
	return name, max, nil
}

// Stores are the store ports the use cases declare, over the backend.
type Stores struct {
	Users interface {
		users.Store
		auth.UserGens
	}
	Credentials auth.CredentialDirectory
	Chat        chat.Store
	Groups      batch.GroupReader
	Jobs        batch.Store
	Connections realtime.Store
}

// Stores returns the backend's stores: the memory world, or the DynamoDB
// adapters over the provisioned tables (uncounted; use DB with a Counted
// config to count requests).
func (e *Env) Stores() Stores {
	if e.Memory != nil {
		w := e.Memory
		return Stores{Users: w.Users, Credentials: w.Credentials, Chat: w.Chat, Groups: w.Chat, Jobs: w.Jobs, Connections: w.Connections}
	}
	d := dynamo.New(dynamodb.NewFromConfig(e.Cfg), e.Tables)
	return Stores{Users: d.Users, Credentials: d.Credentials, Chat: d.Chat, Groups: d.Groups, Jobs: d.Jobs, Connections: d.Connections}
}

// Queue is a template queue as the use cases send to it.
type Queue interface {
	queue.BatchSender
	queue.Sender
}

// Queue returns the template queue name (its logical id, e.g.
// "BatchQueue"): a memqueue, or the SQS adapter over the provisioned queue.
func (e *Env) Queue(name string) Queue {
	if e.Memory != nil {
		q, ok := e.queues[name]
		if !ok {
			panic(fmt.Sprintf("testenv: template.yaml has no queue %q", name)) // a test bug, at setup
		}
		return q
	}
	return sqsqueue.New(sqs.NewFromConfig(e.Cfg), e.Res.QueueURLs[name])
}

// MemQueue is the memory backend's queue name (nil on AWS), to read
// what was sent or drive a poller.
func (e *Env) MemQueue(name string) *memqueue.Queue { return e.queues[name] }
