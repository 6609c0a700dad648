package attachments_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestMultipartUpload: a file uploaded in parts - one presigned PUT per
// part, bound to its size - is assembled by CompleteUpload from the
// parts' ETags and then sent and downloaded like any other. Only the
// uploader may complete it; parts must all be listed, in order, with the
// ETags S3 answered; completing twice answers the same; a single-PUT
// upload has nothing to complete; over 5 GiB only multipart is offered.
func TestMultipartUpload(t *testing.T) {
	f := newFixture(t, attachments.Config{PartSize: attachments.MinPartSize, MaxBytes: 6 << 30})
	u := f.newUsers(t, 3)
	dm := chat.DMID(u[0], u[1])
	body := make([]byte, attachments.MinPartSize+1000)
	for i := range body {
		body[i] = byte(i*7 + i/4096)
	}
	c, err := f.att.CreateUpload(ctx, user(u[0]), attachments.CreateInput{ConversationID: string(dm), Name: "clip.mp4",
		ContentType: "video/mp4", Size: int64(len(body)), Multipart: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "" || len(c.Parts) != 2 || c.Parts[0].Size != attachments.MinPartSize || c.Parts[1].Size != 1000 || c.PartSize != attachments.MinPartSize {
		t.Fatalf("plan = url %q, part size %d, parts %+v; want 2 parts of 5 MiB and 1000 B, no url", c.URL, c.PartSize, partSizes(c.Parts))
	}
	etags := make([]string, len(c.Parts))
	for i, p := range c.Parts {
		off := int64(i) * c.PartSize
		etags[i] = putPart(t, p.URL, body[off:off+p.Size])
	}
	parts := []attachments.CompletedPart{{PartNumber: 1, ETag: etags[0]}, {PartNumber: 2, ETag: etags[1]}}
	att := chat.Attachment{UploadID: c.UploadID, Name: "clip.mp4", ContentType: "video/mp4", Size: int64(len(body))}

	// Not complete yet: the send finds no file.
	_, _, err = f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{att}})
	wantCode(t, err, apierror.UploadIncomplete)

	for _, tc := range []struct {
		name  string
		who   string
		parts []attachments.CompletedPart
		code  apierror.Code
	}{
		{"someone else's upload", u[2], parts, apierror.UploadNotFound},
		{"a part left out", u[0], parts[:1], apierror.ValidationFailed},
		{"parts out of order", u[0], []attachments.CompletedPart{parts[1], parts[0]}, apierror.ValidationFailed},
		{"a wrong ETag", u[0], []attachments.CompletedPart{parts[0], {PartNumber: 2, ETag: `"0123456789abcdef0123456789abcdef"`}}, apierror.UploadIncomplete},
	} {
		_, err := f.att.CompleteUpload(ctx, user(tc.who), c.UploadID, tc.parts)
		if !apierror.Is(err, tc.code) {
			t.Fatalf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	for i := range 2 { // the second is a client's retry
		done, err := f.att.CompleteUpload(ctx, user(u[0]), c.UploadID, parts)
		if err != nil || done.Size != int64(len(body)) {
			t.Fatalf("complete #%d = %+v, %v", i+1, done, err)
		}
	}
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{att}}); err != nil {
		t.Fatalf("send the assembled file: %v", err)
	}
	d, err := f.att.DownloadURL(ctx, user(u[1]), string(dm), c.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	st, got, ctype := get(t, d.URL)
	if st != http.StatusOK || !bytes.Equal(got, body) || ctype != "video/mp4" {
		t.Fatalf("download = %d, %d bytes (equal %v), %q", st, len(got), bytes.Equal(got, body), ctype)
	}

	single := f.create(t, user(u[0]), dm, "a.png", "image/png", len(png))
	_, err = f.att.CompleteUpload(ctx, user(u[0]), single.UploadID, parts)
	wantCode(t, err, apierror.ValidationFailed)
	_, err = f.att.CreateUpload(ctx, user(u[0]), attachments.CreateInput{ConversationID: string(dm), Name: "big.mp4", ContentType: "video/mp4",
		Size: 5<<30 + 1})
	wantCode(t, err, apierror.UploadTooLarge)
}

func partSizes(ps []attachments.PartURL) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.Size
	}
	return out
}

// putPart PUTs one part as a client would and returns S3's ETag.
func putPart(t *testing.T, url string, b []byte) string {
	t.Helper()
	st, etag := putURL(t, url, nil, b)
	if st != http.StatusOK || etag == "" {
		t.Fatalf("PUT part: %d, ETag %q", st, etag)
	}
	return etag
}
