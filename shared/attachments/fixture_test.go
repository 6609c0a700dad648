package attachments_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/s3"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

func user(id string) auth.Principal { return *testenv.User(id) }

// fixture is the chat service with the attachments guard, and the
// attachments service, over the emulator; now is the attachments clock.
type fixture struct {
	env    *testenv.Env
	chat   *chat.Service
	att    *attachments.Service
	bucket *s3.Bucket
	users  *users.Service
	now    time.Time
}

func newFixture(t *testing.T, cfg attachments.Config) *fixture {
	t.Helper()
	testenv.NeedAWS(t) // S3 lives in the emulator
	env := testenv.Get(t)
	f := &fixture{env: env, now: time.Now().UTC()}
	f.chat, f.att, f.bucket = f.services(env.Cfg, cfg)
	f.users = users.NewService(env.Stores().Users, env.Cursors, nil)
	return f
}

// services builds both services over cfg (the env's, or a counted copy).
func (f *fixture) services(awsCfg aws.Config, cfg attachments.Config) (*chat.Service, *attachments.Service, *s3.Bucket) {
	db := dynamo.New(dynamodb.NewFromConfig(awsCfg), f.env.Tables)
	bucket := s3.New(awsCfg, f.env.Res.Buckets["UploadsBucket"])
	cs := chat.NewService(db.Chat, f.env.Cursors, chat.Config{}, chat.Options{})
	as := attachments.NewService(dynamo.NewUploads(db.Client(), f.env.Tables), bucket, cs, cfg,
		attachments.Options{Clock: func() time.Time { return f.now }})
	cs = chat.NewService(as.RecallStore(db.Chat), f.env.Cursors, chat.Config{}, chat.Options{Guard: as.Guard()})
	return cs, as, bucket
}

func (f *fixture) newUsers(t *testing.T, n int) []string {
	t.Helper()
	return testenv.NewUsers(t, f.users, "att", n)
}

// create asks for an upload and fails the test on error.
func (f *fixture) create(t *testing.T, p auth.Principal, conv chat.ConversationID, name, ctype string, size int) attachments.Created {
	t.Helper()
	c, err := f.att.CreateUpload(ctx, p, attachments.CreateInput{ConversationID: string(conv), Name: name, ContentType: ctype, Size: int64(size)})
	if err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	return c
}

// put sends body to a presigned upload as a browser would: the method,
// the URL and the returned headers; it returns the HTTP status.
func put(t *testing.T, c attachments.Created, body []byte) int {
	t.Helper()
	st, _ := putURL(t, c.URL, c.Headers, body)
	return st
}

// putURL PUTs body to url with headers; it returns the status and the
// ETag header.
func putURL(t *testing.T, url string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag")
}

// uploaded creates an upload and puts body to it.
func (f *fixture) uploaded(t *testing.T, p auth.Principal, conv chat.ConversationID, name, ctype string, body []byte) chat.Attachment {
	t.Helper()
	c := f.create(t, p, conv, name, ctype, len(body))
	if st := put(t, c, body); st != http.StatusOK {
		t.Fatalf("PUT upload: status %d", st)
	}
	return chat.Attachment{UploadID: c.UploadID, Name: name, ContentType: ctype, Size: int64(len(body))}
}

// get fetches a URL and returns its status, body and content type.
func get(t *testing.T, url string) (int, []byte, string) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("Content-Type")
}

// wantCode fails unless err is an *apierror.Error with code.
func wantCode(t *testing.T, err error, code apierror.Code) {
	t.Helper()
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

// png is a 1x1 PNG.
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// tagOf returns the value of the upload's object's tokenim tag.
func (f *fixture) tagOf(t *testing.T, conv chat.ConversationID, uploadID string) string {
	t.Helper()
	cli := awss3.NewFromConfig(f.env.Cfg, func(o *awss3.Options) { o.UsePathStyle = true })
	out, err := cli.GetObjectTagging(ctx, &awss3.GetObjectTaggingInput{Bucket: aws.String(f.env.Res.Buckets["UploadsBucket"]),
		Key: aws.String("uploads/" + keyPart(conv) + "/" + uploadID)})
	if err != nil || len(out.TagSet) != 1 || aws.ToString(out.TagSet[0].Key) != attachments.TagKey {
		t.Fatalf("tags = %+v, %v", out, err)
	}
	return aws.ToString(out.TagSet[0].Value)
}
