// Package provision creates the template's tables, queues and secrets in
// an AWS-compatible endpoint (LocalStack, moto, or a real account for
// experiments), under a name prefix so test packages never collide. Names,
// URLs and ARNs come back from the service; nothing is built from strings.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/infra/template"
)

// Resources maps logical ids to what the service returned.
type Resources struct {
	Tables    map[string]string // logical id -> table name
	QueueURLs map[string]string // logical id -> queue URL
	QueueARNs map[string]string // logical id -> queue ARN
	Secrets   map[string]string // logical id -> secret ARN
}

// Ref resolves !Ref of a provisioned resource as CloudFormation would
// (table name, queue URL, secret ARN).
func (r Resources) Ref(logicalID string) (string, bool) {
	for _, m := range []map[string]string{r.Tables, r.QueueURLs, r.Secrets} {
		if v, ok := m[logicalID]; ok {
			return v, true
		}
	}
	return "", false
}

// Provision creates every table, queue and secret of t named prefix+logicalID.
// It is idempotent: existing resources are reused.
func Provision(ctx context.Context, cfg aws.Config, t *template.Template, prefix string) (Resources, error) {
	res := Resources{Tables: map[string]string{}, QueueURLs: map[string]string{}, QueueARNs: map[string]string{}, Secrets: map[string]string{}}
	ddb := dynamodb.NewFromConfig(cfg)
	for _, tb := range t.Tables() {
		name := prefix + tb.LogicalID
		if err := createTable(ctx, ddb, name, tb); err != nil {
			return res, err
		}
		res.Tables[tb.LogicalID] = name
	}
	q := sqs.NewFromConfig(cfg)
	for _, qu := range t.Queues() {
		attrs := map[string]string{
			"VisibilityTimeout":      strconv.Itoa(qu.VisibilityTimeout),
			"MessageRetentionPeriod": strconv.Itoa(qu.RetentionSeconds),
		}
		if qu.DeadLetterQueue != "" {
			dlq, ok := res.QueueARNs[qu.DeadLetterQueue]
			if !ok {
				return res, fmt.Errorf("provision: queue %s redrives to unknown %s", qu.LogicalID, qu.DeadLetterQueue)
			}
			attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlq, qu.MaxReceiveCount)
		}
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + qu.LogicalID), Attributes: attrs})
		if err != nil {
			return res, fmt.Errorf("provision: create queue %s: %w", qu.LogicalID, err)
		}
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return res, fmt.Errorf("provision: queue arn %s: %w", qu.LogicalID, err)
		}
		res.QueueURLs[qu.LogicalID] = aws.ToString(out.QueueUrl)
		res.QueueARNs[qu.LogicalID] = a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	sm := secretsmanager.NewFromConfig(cfg)
	for _, s := range t.OfType("AWS::SecretsManager::Secret") {
		arn, err := ensureSecret(ctx, sm, prefix+s.Name, template.Int(template.Map(s.Properties, "GenerateSecretString"), "PasswordLength", 64))
		if err != nil {
			return res, err
		}
		res.Secrets[s.Name] = arn
	}
	return res, nil
}

func createTable(ctx context.Context, ddb *dynamodb.Client, name string, tb template.Table) error {
	in := &dynamodb.CreateTableInput{TableName: &name, BillingMode: ddbtypes.BillingModePayPerRequest}
	for _, a := range tb.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(a.Name), AttributeType: ddbtypes.ScalarAttributeType(a.Type)})
	}
	in.KeySchema = keySchema(tb.KeySchema)
	for _, g := range tb.GSIs {
		gsi := ddbtypes.GlobalSecondaryIndex{IndexName: aws.String(g.Name), KeySchema: keySchema(g.KeySchema),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(g.ProjectionType)}}
		if len(g.NonKeyAttrs) > 0 {
			gsi.Projection.NonKeyAttributes = g.NonKeyAttrs
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	_, err := ddb.CreateTable(ctx, in)
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("provision: create table %s: %w", tb.LogicalID, err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, time.Minute); err != nil {
		return fmt.Errorf("provision: wait for table %s: %w", tb.LogicalID, err)
	}
	if tb.TTLAttribute != "" {
		_, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &name,
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(tb.TTLAttribute), Enabled: aws.Bool(true)}})
		// Enabling TTL twice is an error on AWS; on re-provision it is expected.
		if err != nil && !isTTLAlreadyOn(err) {
			return fmt.Errorf("provision: ttl on %s: %w", tb.LogicalID, err)
		}
	}
	return nil
}

func isTTLAlreadyOn(err error) bool {
	var ve interface{ ErrorCode() string }
	return errors.As(err, &ve) && ve.ErrorCode() == "ValidationException"
}

func keySchema(ks []template.KeyElement) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.Name), KeyType: ddbtypes.KeyType(k.Type)})
	}
	return out
}

// ensureSecret returns the ARN of secret name, creating it with a random
// alphanumeric value (like GenerateSecretString) if absent. It creates
// first and describes only an existing secret: moto sometimes breaks the
// connection while sending DescribeSecret's 404, which failed a whole test
// binary's provisioning.
func ensureSecret(ctx context.Context, sm *secretsmanager.Client, name string, length int) (string, error) {
	buf := make([]byte, length)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	value := hex.EncodeToString(buf)[:length]
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &name, SecretString: &value})
	if err == nil {
		return aws.ToString(out.ARN), nil
	}
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("provision: create secret %s: %w", name, err)
	}
	got, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	if err != nil {
		return "", fmt.Errorf("provision: describe secret %s: %w", name, err)
	}
	return aws.ToString(got.ARN), nil
}
