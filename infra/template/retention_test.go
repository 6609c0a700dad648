package template

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
)

// statefulTypes are the resource types whose deletion or replacement loses
// data: keys, table rows, queued messages, user accounts, logs. Every
// resource of one of these types must keep its data when the stack is
// deleted or the resource replaced (README, "What a stack deletion leaves").
var statefulTypes = map[string]bool{
	"AWS::SecretsManager::Secret": true,
	"AWS::DynamoDB::Table":        true,
	"AWS::SQS::Queue":             true,
	"AWS::Cognito::UserPool":      true,
	"AWS::Logs::LogGroup":         true,
	"AWS::S3::Bucket":             true,
	"AWS::KMS::Key":               true,
}

// keepsData reports whether a DeletionPolicy/UpdateReplacePolicy value
// keeps the data (Snapshot exists only for some types; cfn-lint E3035
// rejects it where it does not).
func keepsData(policy string) bool { return policy == "Retain" || policy == "Snapshot" }

// unretained lists, sorted, the stateful resources of t that a stack
// deletion or a replacement would destroy.
func unretained(t *Template) []string {
	var out []string
	for _, typ := range sortedKeys(statefulTypes) {
		for _, r := range t.OfType(typ) {
			if !keepsData(r.DeletionPolicy) {
				out = append(out, fmt.Sprintf("%s DeletionPolicy=%q", r.Name, r.DeletionPolicy))
			}
			if !keepsData(r.UpdateReplacePolicy) {
				out = append(out, fmt.Sprintf("%s UpdateReplacePolicy=%q", r.Name, r.UpdateReplacePolicy))
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestStatefulResourcesAreRetained holds template.yaml to the retention
// rule: no stateful resource is left to CloudFormation's default (Delete).
func TestStatefulResourcesAreRetained(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if got := unretained(tmpl); len(got) > 0 {
		t.Errorf("stateful resources without Retain/Snapshot (a stack deletion or replacement destroys their data):\n%v", got)
	}
	for _, name := range []string{"SigningKeySecret", "BatchDeadLetterQueue", "SignupDeadLetterQueue", "FanoutDeadLetterQueue"} {
		if _, ok := tmpl.Resources[name]; !ok {
			t.Errorf("%s is gone from template.yaml: update this test's list", name)
		}
	}
}

// TestUnretained checks the checker itself on small templates, so the test
// above cannot pass by finding nothing to check.
func TestUnretained(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"both retained", `
Resources:
  Key: {Type: AWS::SecretsManager::Secret, DeletionPolicy: Retain, UpdateReplacePolicy: Retain}`, nil},
		{"snapshot counts", `
Resources:
  T: {Type: AWS::DynamoDB::Table, DeletionPolicy: Snapshot, UpdateReplacePolicy: Snapshot}`, nil},
		{"no policy", `
Resources:
  Dlq: {Type: AWS::SQS::Queue}`, []string{`Dlq DeletionPolicy=""`, `Dlq UpdateReplacePolicy=""`}},
		{"deletion only", `
Resources:
  Logs: {Type: AWS::Logs::LogGroup, DeletionPolicy: Retain}`, []string{`Logs UpdateReplacePolicy=""`}},
		{"explicit delete", `
Resources:
  Key: {Type: AWS::SecretsManager::Secret, DeletionPolicy: Delete, UpdateReplacePolicy: Retain}`, []string{`Key DeletionPolicy="Delete"`}},
		{"stateless type ignored", `
Resources:
  Role: {Type: AWS::IAM::Role}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := unretained(mustParse(t, c.yaml))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("unretained = %q, want %q", got, c.want)
			}
		})
	}
}

func mustParse(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}
