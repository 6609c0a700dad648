package awsclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeDynamo answers every DynamoDB call with success and counts them.
func fakeDynamo(t *testing.T) (aws.Config, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), BaseEndpoint: aws.String(srv.URL)}
	Policy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxBackoff: 5 * time.Millisecond}.Apply(&cfg)
	return cfg, &calls
}

func put(ctx context.Context, c *dynamodb.Client, sk string) error {
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "C#x"}, "sk": &types.AttributeValueMemberS{Value: sk}}})
	return err
}

// TestFaultError: injected errors fail attempts, which the one retry
// policy retries like real throttles; rules pick calls by operation and
// sort-key prefix; Skip and Times bound them.
func TestFaultError(t *testing.T) {
	cfg, calls := fakeDynamo(t)
	log, err := InjectFaults(&cfg, Fault{Service: "DynamoDB", Operation: "PutItem", KeyPrefix: "MSG#", Action: FaultError, Skip: 1, Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	c := dynamodb.NewFromConfig(cfg)
	ctx := context.Background()
	if err := put(ctx, c, "META"); err != nil || log.Hits("") != 0 { // another prefix: untouched
		t.Fatalf("META: %v, hits %d", err, log.Hits(""))
	}
	if err := put(ctx, c, "MSG#1"); err != nil || log.Hits("") != 0 { // skipped
		t.Fatalf("first MSG#: %v, hits %d", err, log.Hits(""))
	}
	if err := put(ctx, c, "MSG#2"); err != nil { // two attempts fail, the third succeeds
		t.Fatalf("retried call failed: %v", err)
	}
	if log.Hits("DynamoDB.PutItem") != 2 || calls.Load() != 3 {
		t.Fatalf("hits %d, server calls %d; want 2 injected, 3 reaching the server", log.Hits("DynamoDB.PutItem"), calls.Load())
	}
	if err := put(ctx, c, "MSG#3"); err != nil || log.Hits("") != 2 { // Times spent
		t.Fatalf("after Times: %v, hits %d", err, log.Hits(""))
	}

	cfg2, _ := fakeDynamo(t)
	if _, err := InjectFaults(&cfg2, Fault{Operation: "PutItem", Action: FaultError}); err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, dynamodb.NewFromConfig(cfg2), "MSG#1"); err == nil {
		t.Fatal("every attempt failing: the call succeeded")
	}
}

// TestFaultAfter: exit and hang act only once the call has succeeded (the
// write is durable, then the sandbox dies or times out); an armed rule
// fires once, for one process of many.
func TestFaultAfter(t *testing.T) {
	var exits atomic.Int64
	defer func(old func()) { exit = old }(exit)
	exit = func() { exits.Add(1) }

	cfg, calls := fakeDynamo(t)
	armed := filepath.Join(t.TempDir(), "armed")
	if _, err := InjectFaults(&cfg, Fault{Operation: "PutItem", KeyPrefix: "MSG#", Action: FaultExit, Armed: armed}); err != nil {
		t.Fatal(err)
	}
	other, _ := fakeDynamo(t) // a second sandbox with the same rules
	if _, err := InjectFaults(&other, Fault{Operation: "PutItem", KeyPrefix: "MSG#", Action: FaultExit, Armed: armed}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put(ctx, dynamodb.NewFromConfig(cfg), "MSG#0") // not armed yet
	if err := os.WriteFile(armed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	put(ctx, dynamodb.NewFromConfig(cfg), "MSG#1")
	put(ctx, dynamodb.NewFromConfig(other), "MSG#2")
	put(ctx, dynamodb.NewFromConfig(cfg), "MSG#3")
	if exits.Load() != 1 || calls.Load() != 3 {
		t.Fatalf("exits %d, calls %d: want one exit, after the call reached the server", exits.Load(), calls.Load())
	}

	hung, calls2 := fakeDynamo(t)
	if _, err := InjectFaults(&hung, Fault{Operation: "PutItem", Action: FaultHang}); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := put(ctx2, dynamodb.NewFromConfig(hung), "MSG#1"); !errors.Is(err, context.DeadlineExceeded) || calls2.Load() != 1 {
		t.Fatalf("hang: %v, calls %d; want the deadline, after the call reached the server", err, calls2.Load())
	}
}

// TestFaultsFromEnv: TOKENIM_FAULTS is read by Load; unreadable rules
// fail Load (an init error), never silently do nothing.
func TestFaultsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		raw string
		ok  bool
	}{
		{``, true},
		{`[{"operation":"PutItem","action":"error","rate":0.2}]`, true},
		{`[{"operation":"PutItem","action":"explode"}]`, false},
		{`{"operation":"PutItem"}`, false},
	} {
		t.Setenv(FaultsEnv, tc.raw)
		t.Setenv("AWS_REGION", "us-east-1")
		if _, err := Load(context.Background()); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.raw, err, tc.ok)
		}
	}
}

// TestTemplateSetsNoFaults: no deployed function ever gets fault rules.
func TestTemplateSetsNoFaults(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), FaultsEnv) {
		t.Fatalf("template.yaml mentions %s: fault injection is for tests only", FaultsEnv)
	}
}

// TestFaultRulesInOrder: a rule that matches but does not fire (not armed)
// leaves the call to the next rule.
func TestFaultRulesInOrder(t *testing.T) {
	cfg, _ := fakeDynamo(t)
	dir := t.TempDir()
	log, err := InjectFaults(&cfg,
		Fault{Operation: "PutItem", Action: FaultExit, Armed: filepath.Join(dir, "exit")},
		Fault{Operation: "PutItem", Action: FaultHang, Armed: filepath.Join(dir, "hang")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hang"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := put(ctx, dynamodb.NewFromConfig(cfg), "MSG#1"); !errors.Is(err, context.DeadlineExceeded) || log.Hits("") != 1 {
		t.Fatalf("the armed second rule: %v, hits %d", err, log.Hits(""))
	}
}
