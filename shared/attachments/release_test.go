package attachments_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestRefusedSendReleasesUploads: a send refused after the guard marked
// its uploads attached (here: its client_msg_id was used for another
// message) gives them back - tagged pending again, free for another send
// - except those the message stored under that client_msg_id carries.
func TestRefusedSendReleasesUploads(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 2)
	dm := chat.DMID(u[0], u[1])
	kept := f.uploaded(t, user(u[0]), dm, "kept.png", "image/png", png)
	freed := f.uploaded(t, user(u[0]), dm, "freed.png", "image/png", png)
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], ClientMsgID: "c1", Text: "one",
		Attachments: []chat.Attachment{kept}}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], ClientMsgID: "c1", Text: "two",
		Attachments: []chat.Attachment{kept, freed}})
	wantCode(t, err, apierror.IdempotencyKeyReused)

	if got := f.tagOf(t, dm, freed.UploadID); got != attachments.TagPending {
		t.Errorf("the refused send's own upload is tagged %q, want pending", got)
	}
	if got := f.tagOf(t, dm, kept.UploadID); got != attachments.TagAttached {
		t.Errorf("the stored message's upload is tagged %q, want attached", got)
	}
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "again", Attachments: []chat.Attachment{freed}}); err != nil {
		t.Fatalf("the released upload cannot be sent: %v", err)
	}
	_, _, err = f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "steal", Attachments: []chat.Attachment{kept}})
	wantCode(t, err, apierror.UploadAlreadyAttached)
}
