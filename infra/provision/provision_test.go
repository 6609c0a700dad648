package provision_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/tokenim/tokenim/infra/provision"
	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStreams: a table's StreamSpecification is created on the emulator,
// enabled by the time Provision returns, and its stream's ARN returned;
// provisioning again (the same tables, or a
// table that gained a StreamSpecification since) keeps or adds the stream.
func TestStreams(t *testing.T) {
	testenv.NeedAWS(t)
	cfg := testenv.Get(t).Cfg
	parse := func(withStream bool) *template.Template {
		t.Helper()
		spec := ""
		if withStream {
			spec = "\n      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}"
		}
		tmpl, err := template.Parse([]byte(`
Resources:
  Plain:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Streamed:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]` + spec + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return tmpl
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name  string
		steps []bool // provision with / without the StreamSpecification, in turn
	}{
		{"created with its stream", []bool{true}},
		{"provisioned twice", []bool{true, true}},
		{"stream added to an existing table", []bool{false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testenv.ID("p") + "-"
			var res provision.Resources
			var first string
			for i, with := range tc.steps {
				var err error
				if res, err = provision.Provision(ctx, cfg, parse(with), prefix); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = res.StreamARNs["Streamed"]
				}
			}
			if _, ok := res.StreamARNs["Plain"]; ok {
				t.Errorf("a table without StreamSpecification got a stream: %v", res.StreamARNs)
			}
			arn := res.StreamARNs["Streamed"]
			if arn == "" {
				t.Fatalf("no stream ARN: %+v", res)
			}
			if tc.steps[0] && arn != first {
				t.Errorf("re-provisioning changed the stream: %s -> %s", first, arn)
			}
			out, err := dynamodbstreams.NewFromConfig(cfg).DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &arn})
			if err != nil {
				t.Fatal(err)
			}
			if v := out.StreamDescription.StreamViewType; v != "NEW_AND_OLD_IMAGES" {
				t.Errorf("stream view type = %s", v)
			}
			// Writes made while a stream is ENABLING are lost on LocalStack.
			if st := out.StreamDescription.StreamStatus; st != "ENABLED" {
				t.Errorf("stream status = %s right after provisioning, want ENABLED", st)
			}
		})
	}
}
