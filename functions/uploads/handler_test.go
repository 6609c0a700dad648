package main

import (
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/s3"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRoutesMatchTemplate reads template.yaml only: it provisions nothing.
func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, logging.NewTo(io.Discard, "uploads"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("UploadsFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

func createReq(p *auth.Principal, body string) testenv.REST {
	return testenv.REST{Method: "POST", Resource: uploadsRoute, Path: "/v1/uploads", Body: body, Principal: p}
}

func downloadReq(p *auth.Principal, conv, id string) testenv.REST {
	return testenv.REST{Method: "GET", Resource: attachmentRoute, Path: "/v1/conversations/" + conv + "/attachments/" + id,
		PathParams: map[string]string{"conversation_id": conv, "attachment_id": id}, Principal: p}
}

// TestUploadSendDownload goes through the handler as Lambda calls it:
// create an upload, PUT the file, send it (chat with the guard), get the
// download URL as the peer; and the refusals' status and codes.
func TestUploadSendDownload(t *testing.T) {
	testenv.NeedAWS(t) // S3 lives in the emulator
	env := testenv.Get(t)
	db := env.Stores()
	access := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{})
	svc := attachments.NewService(dynamo.NewUploads(env.DB(env.Cfg).Client(), env.Tables), s3.New(env.Cfg, env.Res.Buckets["UploadsBucket"]),
		access, attachments.Config{MaxBytes: 1 << 20}, attachments.Options{})
	sender := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Guard: svc.Guard()})
	h := NewHandler(svc, logging.NewTo(io.Discard, "uploads")).Handle
	u := testenv.NewUsers(t, users.NewService(db.Users, env.Cursors, nil), "upl", 3)
	dm := string(chat.DMID(u[0], u[1]))
	file := []byte("hello, file")

	r := testenv.Call(t, h, createReq(testenv.User(u[0]), `{"conversation_id":"`+dm+`","name":"hi.txt","content_type":"text/plain","size":`+strconv.Itoa(len(file))+`}`))
	if r.Status != http.StatusCreated || r.JSON["method"] != "PUT" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id, url := r.JSON["upload_id"].(string), r.JSON["url"].(string)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, url, bytes.NewReader(file))
	for k, v := range r.JSON["headers"].(map[string]any) {
		req.Header.Set(k, v.(string))
	}
	cli := &http.Client{Timeout: 10 * time.Second}
	resp, err := cli.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	a := chat.Attachment{UploadID: id, Name: "hi.txt", ContentType: "text/plain", Size: int64(len(file))}
	if _, _, err := sender.Send(t.Context(), *testenv.User(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{a}}); err != nil {
		t.Fatal(err)
	}
	r = testenv.Call(t, h, downloadReq(testenv.User(u[1]), dm, id))
	if r.Status != http.StatusOK || r.JSON["name"] != "hi.txt" || r.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("download: %d %v %s", r.Status, r.Headers, r.Body)
	}
	resp, err = cli.Get(r.JSON["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, file) {
		t.Fatalf("downloaded %q", got)
	}

	tests := []struct {
		name   string
		req    testenv.REST
		status int
		code   string
	}{
		{"non-member download", downloadReq(testenv.User(u[2]), dm, id), 404, "not_found"},
		{"unknown field", createReq(testenv.User(u[0]), `{"conversation_id":"`+dm+`","name":"a","content_type":"text/plain","size":1,"x":1}`), 400, "unknown_field"},
		{"too large", createReq(testenv.User(u[0]), `{"conversation_id":"`+dm+`","name":"a","content_type":"text/plain","size":2000000}`), 400, "upload_too_large"},
		{"type not allowed", createReq(testenv.User(u[0]), `{"conversation_id":"`+dm+`","name":"a","content_type":"application/x-msdownload","size":1}`), 400, "content_type_not_allowed"},
		{"no token user", createReq(testenv.Admin(), `{"conversation_id":"`+dm+`","name":"a","content_type":"text/plain","size":1}`), 403, "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, h, tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
}
