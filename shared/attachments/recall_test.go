package attachments_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestRecallDeletesFiles: recalling a message deletes its objects and
// upload records (the download is not_found, the object is gone); a
// message without attachments is recalled as before, and another
// message's files stay.
func TestRecallDeletesFiles(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 2)
	dm := chat.DMID(u[0], u[1])
	send := func(as ...chat.Attachment) chat.Message {
		t.Helper()
		m, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "x", Attachments: as})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a1 := f.uploaded(t, user(u[0]), dm, "a.png", "image/png", png)
	a2 := f.uploaded(t, user(u[0]), dm, "b.png", "image/png", png)
	kept := f.uploaded(t, user(u[0]), dm, "c.png", "image/png", png)
	m := send(a1, a2)
	other := send(kept)
	plain := send()
	for _, seq := range []int64{m.Seq, plain.Seq} {
		if _, err := f.chat.Recall(ctx, user(u[0]), string(dm), seq); err != nil {
			t.Fatalf("recall %d: %v", seq, err)
		}
	}
	for _, a := range []chat.Attachment{a1, a2} {
		_, err := f.att.DownloadURL(ctx, user(u[1]), string(dm), a.UploadID)
		wantCode(t, err, apierror.NotFound)
		if info, err := f.bucket.Head(ctx, "uploads/"+keyPart(dm)+"/"+a.UploadID); err != nil || info != nil {
			t.Fatalf("object of %s after the recall: %+v, %v", a.UploadID, info, err)
		}
	}
	if _, err := f.att.DownloadURL(ctx, user(u[1]), string(other.ConversationID), kept.UploadID); err != nil {
		t.Fatalf("another message's file: %v", err)
	}
}

// keyPart is a conversation id as object keys spell it.
func keyPart(c chat.ConversationID) string {
	out := []byte(c)
	for i, b := range out {
		if b == ':' {
			out[i] = '_'
		}
	}
	return string(out)
}
