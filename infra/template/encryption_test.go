package template

import (
	"fmt"
	"testing"
)

// kmsUse says where each encrypted resource type names its key.
var kmsUse = map[string]string{
	"AWS::DynamoDB::Table":        "SSESpecification",
	"AWS::SQS::Queue":             "KmsMasterKeyId",
	"AWS::SecretsManager::Secret": "KmsKeyId",
	"AWS::SNS::Topic":             "KmsMasterKeyId",
	"AWS::S3::Bucket":             "BucketEncryption",
}

// TestEveryStoreUsesTheKmsKey: with KmsKeyArn set, every table, queue,
// secret, topic and bucket is encrypted with it (a new one that is not
// fails here); without it, AWS's keys as before.
func TestEveryStoreUsesTheKmsKey(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for typ, prop := range kmsUse {
		for _, r := range tmpl.OfType(typ) {
			n++
			v := r.Properties[prop]
			if !usesKey(v) {
				t.Errorf("%s (%s): %s is %v, want !If [HasKmsKey, ... !Ref KmsKeyArn ...]", r.Name, typ, prop, v)
			}
			if typ == "AWS::SQS::Queue" && fmt.Sprint(r.Properties["SqsManagedSseEnabled"]) == "true" {
				t.Errorf("%s: SqsManagedSseEnabled is always true; SQS refuses it together with a KMS key", r.Name)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d encrypted resources found: the test reads the template wrongly", n)
	}
	p, ok := tmpl.Resources["KmsKeyUsePolicy"]
	if !ok || p.Condition != "HasKmsKey" {
		t.Fatal("no KmsKeyUsePolicy under HasKmsKey")
	}
	roles := map[string]bool{}
	for _, r := range refs(p.Properties["Roles"]) {
		roles[r] = true
	}
	for _, f := range tmpl.Functions() {
		if !roles[f.LogicalID+"Role"] {
			t.Errorf("function %s's role may not use the KMS key (KmsKeyUsePolicy Roles)", f.LogicalID)
		}
	}
}

// usesKey: v is !If [HasKmsKey, <something referring to KmsKeyArn>, ...].
func usesKey(v any) bool {
	m, _ := v.(map[string]any)
	l, _ := m["Fn::If"].([]any)
	if len(l) != 3 || l[0] != "HasKmsKey" {
		return false
	}
	for _, r := range refs(l[1]) {
		if r == "KmsKeyArn" {
			return true
		}
	}
	return false
}

// TestCustomDomainsRequireTLS12: both custom domains refuse TLS below 1.2.
func TestCustomDomainsRequireTLS12(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range tmpl.OfType("AWS::ApiGateway::DomainName") {
		n++
		if Str(r.Properties, "SecurityPolicy") != "TLS_1_2" {
			t.Errorf("%s: SecurityPolicy %v", r.Name, r.Properties["SecurityPolicy"])
		}
	}
	for _, r := range tmpl.OfType("AWS::ApiGatewayV2::DomainName") {
		for _, c := range List(r.Properties, "DomainNameConfigurations") {
			n++
			if cm, _ := c.(map[string]any); Str(cm, "SecurityPolicy") != "TLS_1_2" {
				t.Errorf("%s: SecurityPolicy %v", r.Name, cm["SecurityPolicy"])
			}
		}
	}
	if n != 2 {
		t.Errorf("%d custom domain configurations, want 2 (REST and WebSocket)", n)
	}
}
