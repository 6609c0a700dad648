package template

import (
	"slices"
	"testing"
)

// TestHeadOfMissingObjectIsNotFound: S3 answers a HeadObject of a missing
// key 403, not 404, unless the caller may list the bucket. The emulators
// do not enforce IAM, so only the template can hold this: every role that
// checks uploads (AttachmentsSendPolicy) has s3:ListBucket on the uploads
// bucket itself, so a send naming an upload that was never made gets
// upload_incomplete rather than an internal error.
func TestHeadOfMissingObjectIsNotFound(t *testing.T) {
	tmpl, err := Load(RepoRoot() + "/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, ok := tmpl.Resources["AttachmentsSendPolicy"]
	if !ok {
		t.Fatal("no AttachmentsSendPolicy")
	}
	doc, _ := pol.Properties["PolicyDocument"].(map[string]any)
	stmts, _ := doc["Statement"].([]any)
	head, list := false, false
	for _, s := range stmts {
		st, _ := s.(map[string]any)
		actions := strs(asList(st["Action"]))
		res := st["Resource"]
		if slices.Contains(actions, "s3:GetObject") {
			head = true
		}
		if slices.Contains(actions, "s3:ListBucket") {
			ga, _ := res.(map[string]any)["Fn::GetAtt"].([]any)
			if len(ga) == 2 && ga[0] == "UploadsBucket" && ga[1] == "Arn" {
				list = true
			} else {
				t.Errorf("s3:ListBucket on %v, want the uploads bucket's ARN", res)
			}
		}
	}
	if !head {
		t.Fatal("AttachmentsSendPolicy grants no s3:GetObject (HeadObject): the guard cannot check uploads")
	}
	if !list {
		t.Error("AttachmentsSendPolicy lacks s3:ListBucket on UploadsBucket: a HeadObject of a missing upload would be 403, not 404")
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}
