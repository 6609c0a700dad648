// Package provision creates the template's tables, queues, secrets and buckets in
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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/infra/template"
)

// Resources maps logical ids to what the service returned.
type Resources struct {
	Tables map[string]string // logical id -> table name
	// StreamARNs maps a table with a StreamSpecification to its stream's
	// ARN (!GetAtt <Table>.StreamArn) as the emulator returned it.
	StreamARNs map[string]string
	QueueURLs  map[string]string // logical id -> queue URL
	QueueARNs  map[string]string // logical id -> queue ARN
	Secrets    map[string]string // logical id -> secret ARN
	Buckets    map[string]string // logical id -> bucket name
}

// Ref resolves !Ref of a provisioned resource as CloudFormation would
// (table name, queue URL, secret ARN).
func (r Resources) Ref(logicalID string) (string, bool) {
	for _, m := range []map[string]string{r.Tables, r.QueueURLs, r.Secrets, r.Buckets} {
		if v, ok := m[logicalID]; ok {
			return v, true
		}
	}
	return "", false
}

// Provision creates every table, queue and secret of t named prefix+logicalID.
// It is idempotent: existing resources are reused.
func Provision(ctx context.Context, cfg aws.Config, t *template.Template, prefix string) (Resources, error) {
	res := Resources{Tables: map[string]string{}, StreamARNs: map[string]string{}, QueueURLs: map[string]string{}, QueueARNs: map[string]string{}, Secrets: map[string]string{},
		Buckets: map[string]string{}}
	ddb := dynamodb.NewFromConfig(cfg)
	for _, tb := range t.Tables() {
		name := prefix + tb.LogicalID
		stream, err := createTable(ctx, cfg, ddb, name, tb)
		if err != nil {
			return res, err
		}
		res.Tables[tb.LogicalID] = name
		if stream != "" {
			res.StreamARNs[tb.LogicalID] = stream
		}
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
		name := prefix + qu.LogicalID
		if qu.FIFO {
			name += ".fifo" // as CloudFormation names a FIFO queue
			attrs["FifoQueue"] = "true"
			for k, v := range map[string]string{"DeduplicationScope": qu.DeduplicationScope, "FifoThroughputLimit": qu.FifoThroughputLimit} {
				if v != "" {
					attrs[k] = v
				}
			}
		}
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
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
	for _, b := range t.OfType("AWS::S3::Bucket") {
		name, err := ensureBucket(ctx, cfg, strings.ToLower(prefix+b.Name))
		if err != nil {
			return res, err
		}
		res.Buckets[b.Name] = name
	}
	return res, nil
}

// ensureBucket creates (or reuses) a bucket that browsers may PUT to and
// GET from with presigned URLs from any origin: the template's CORS rule
// names origins by parameter, which locally is always any (the demo page
// is served from another port than the emulator).
func ensureBucket(ctx context.Context, cfg aws.Config, name string) (string, error) {
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
	var owned *s3types.BucketAlreadyOwnedByYou
	var exists *s3types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return "", fmt.Errorf("provision: create bucket %s: %w", name, err)
	}
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &name, CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{{
		AllowedMethods: []string{"PUT", "GET", "HEAD"}, AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"},
		ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(3600)}}}})
	if err != nil {
		return "", fmt.Errorf("provision: bucket cors %s: %w", name, err)
	}
	return name, nil
}

// createTable creates (or reuses) a table and returns its stream's ARN
// ("" when the template gives it no StreamSpecification).
func createTable(ctx context.Context, cfg aws.Config, ddb *dynamodb.Client, name string, tb template.Table) (string, error) {
	in := &dynamodb.CreateTableInput{TableName: &name, BillingMode: ddbtypes.BillingModePayPerRequest}
	if tb.StreamViewType != "" {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(tb.StreamViewType)}
	}
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
		return "", fmt.Errorf("provision: create table %s: %w", tb.LogicalID, err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	desc, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: &name}, time.Minute)
	if err != nil {
		return "", fmt.Errorf("provision: wait for table %s: %w", tb.LogicalID, err)
	}
	if tb.TTLAttribute != "" {
		_, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &name,
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(tb.TTLAttribute), Enabled: aws.Bool(true)}})
		// Enabling TTL twice is an error on AWS; on re-provision it is expected.
		if err != nil && !isTTLAlreadyOn(err) {
			return "", fmt.Errorf("provision: ttl on %s: %w", tb.LogicalID, err)
		}
	}
	arn, err := ensureStream(ctx, ddb, name, tb, desc.Table)
	if err != nil || arn == "" {
		return arn, err
	}
	return arn, waitStreamEnabled(ctx, dynamodbstreams.NewFromConfig(cfg), arn, tb.LogicalID)
}

// waitStreamEnabled waits until the stream is ENABLED: LocalStack drops
// the records of writes made while its stream is still ENABLING, so a
// test writing right after provisioning would never see them.
func waitStreamEnabled(ctx context.Context, st *dynamodbstreams.Client, arn, logicalID string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := st.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &arn})
		var notYet *streamtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &notYet) && time.Now().Before(deadline):
			// LocalStack creates a table's stream a moment after the
			// table, with several tables at once: not found yet.
		case err != nil:
			return fmt.Errorf("provision: stream of %s: %w", logicalID, err)
		case out.StreamDescription.StreamStatus == streamtypes.StreamStatusEnabled:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("provision: stream of %s not enabled after a minute", logicalID)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ensureStream returns the table's stream ARN, turning the stream on when
// a table that already existed (a re-provision) has none yet.
func ensureStream(ctx context.Context, ddb *dynamodb.Client, name string, tb template.Table, desc *ddbtypes.TableDescription) (string, error) {
	if tb.StreamViewType == "" {
		return "", nil
	}
	if spec := desc.StreamSpecification; spec != nil && aws.ToBool(spec.StreamEnabled) && aws.ToString(desc.LatestStreamArn) != "" {
		if string(spec.StreamViewType) != tb.StreamViewType {
			return "", fmt.Errorf("provision: table %s exists with stream view %s, the template says %s", tb.LogicalID, spec.StreamViewType, tb.StreamViewType)
		}
		return aws.ToString(desc.LatestStreamArn), nil
	}
	out, err := ddb.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: &name,
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(tb.StreamViewType)}})
	if err != nil {
		return "", fmt.Errorf("provision: stream on %s: %w", tb.LogicalID, err)
	}
	if arn := aws.ToString(out.TableDescription.LatestStreamArn); arn != "" {
		return arn, nil
	}
	return "", fmt.Errorf("provision: stream on %s: the service returned no stream ARN", tb.LogicalID)
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
