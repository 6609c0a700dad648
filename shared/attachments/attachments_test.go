package attachments_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestImageRoundTrip: an upload PUT from the presigned URL, sent in a DM,
// is in the stored message and the peer downloads the same bytes, served
// as the declared type.
func TestImageRoundTrip(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 2)
	dm := chat.DMID(u[0], u[1])
	a := f.uploaded(t, user(u[0]), dm, "cat.png", "image/png", png)
	a.Width, a.Height = 1, 1
	m, created, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{a}})
	if err != nil || !created {
		t.Fatalf("send: %v %v", created, err)
	}
	page, err := f.chat.History(ctx, user(u[1]), string(dm), chat.HistoryQuery{})
	if err != nil || len(page.Messages) != 1 || len(page.Messages[0].Attachments) != 1 || page.Messages[0].Attachments[0] != a {
		t.Fatalf("history = %+v, %v; want the message with %+v", page.Messages, err, a)
	}
	d, err := f.att.DownloadURL(ctx, user(u[1]), string(m.ConversationID), a.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	st, body, ct := get(t, d.URL)
	if st != http.StatusOK || !bytes.Equal(body, png) || ct != "image/png" || d.Name != "cat.png" || d.Size != int64(len(png)) {
		t.Fatalf("download = %d %q %d bytes (%+v)", st, ct, len(body), d)
	}
}
