package attachments_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// writes counts the requests of s that write (DynamoDB or S3).
func writes(s awsclient.Snapshot) int {
	n := 0
	for op, c := range s.Requests {
		for _, w := range []string{"Put", "Update", "Delete", "TransactWrite", "BatchWrite", "Copy"} {
			if strings.Contains(op, "."+w) {
				n += c
				break
			}
		}
	}
	return n
}

// TestCreateUploadRefused: every bad upload request gets its documented
// code and writes nothing (no quota, no record).
func TestCreateUploadRefused(t *testing.T) {
	f := newFixture(t, attachments.Config{MaxBytes: 1000, AllowedTypes: []string{"image/*", "application/pdf"}})
	u := f.newUsers(t, 4)
	g, _, err := f.chat.CreateGroup(ctx, user(u[0]), chat.CreateGroupInput{Name: "g", Members: []string{u[1]}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, c := f.env.Counted()
	_, svc, _ := f.services(cfg, attachments.Config{MaxBytes: 1000, AllowedTypes: []string{"image/*", "application/pdf"}})
	dm := string(chat.DMID(u[0], u[1]))
	ok := attachments.CreateInput{ConversationID: dm, Name: "a.png", ContentType: "image/png", Size: 10}
	with := func(mod func(*attachments.CreateInput)) attachments.CreateInput {
		in := ok
		mod(&in)
		return in
	}
	tests := []struct {
		name string
		as   string // caller ("" = admin token)
		in   attachments.CreateInput
		want apierror.Code
	}{
		{"bad conversation id", u[0], with(func(i *attachments.CreateInput) { i.ConversationID = "nope" }), apierror.InvalidID},
		{"empty name", u[0], with(func(i *attachments.CreateInput) { i.Name = "" }), apierror.ValidationFailed},
		{"name with a slash", u[0], with(func(i *attachments.CreateInput) { i.Name = "../a.png" }), apierror.ValidationFailed},
		{"name with a control character", u[0], with(func(i *attachments.CreateInput) { i.Name = "a\n.png" }), apierror.ValidationFailed},
		{"content type with parameters", u[0], with(func(i *attachments.CreateInput) { i.ContentType = "image/png; q=1" }), apierror.ValidationFailed},
		{"content type not allowed", u[0], with(func(i *attachments.CreateInput) { i.ContentType = "application/zip" }), apierror.ContentTypeNotAllowed},
		{"size zero", u[0], with(func(i *attachments.CreateInput) { i.Size = 0 }), apierror.ValidationFailed},
		{"too large", u[0], with(func(i *attachments.CreateInput) { i.Size = 1001 }), apierror.UploadTooLarge},
		{"someone else's DM", u[2], ok, apierror.NotFound},
		{"group of which the caller is not a member", u[2], with(func(i *attachments.CreateInput) { i.ConversationID = string(g.ConversationID) }), apierror.NotFound},
		{"admin token", "", ok, apierror.Forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := *testenv.Admin()
			if tc.as != "" {
				p = user(tc.as)
			}
			c.Reset()
			_, err := svc.CreateUpload(ctx, p, tc.in)
			wantCode(t, err, tc.want)
			if s := c.Snapshot(); writes(s) != 0 {
				t.Fatalf("refused request wrote: %s", s)
			}
		})
	}
}

// TestUploadQuota: the per-user daily quota refuses the upload past it.
func TestUploadQuota(t *testing.T) {
	f := newFixture(t, attachments.Config{PerUserDay: 2})
	u := f.newUsers(t, 2)
	dm := chat.DMID(u[0], u[1])
	f.create(t, user(u[0]), dm, "a.png", "image/png", 1)
	f.create(t, user(u[0]), dm, "a.png", "image/png", 1)
	_, err := f.att.CreateUpload(ctx, user(u[0]), attachments.CreateInput{ConversationID: string(dm), Name: "a.png", ContentType: "image/png", Size: 1})
	wantCode(t, err, apierror.QuotaExceeded)
	f.create(t, user(u[1]), dm, "a.png", "image/png", 1) // the peer's quota is its own
}

// TestPresignedPutBindsSizeAndType: the URL signs Content-Length,
// Content-Type and the pending tag, dates from the service's clock and
// expires after UploadTTL; expires_at says when.
func TestPresignedPutBindsSizeAndType(t *testing.T) {
	f := newFixture(t, attachments.Config{UploadTTL: 7 * time.Minute})
	u := f.newUsers(t, 2)
	f.now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := f.create(t, user(u[0]), chat.DMID(u[0], u[1]), "a.png", "image/png", 10)
	for _, want := range []string{"X-Amz-Date=20260304T050607Z", "X-Amz-Expires=420", "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-tagging"} {
		if !strings.Contains(c.URL, want) {
			t.Errorf("URL %s lacks %s", c.URL, want)
		}
	}
	if c.Method != http.MethodPut || c.Headers["Content-Type"] != "image/png" || c.Headers["X-Amz-Tagging"] != attachments.TagKey+"="+attachments.TagPending ||
		!c.ExpiresAt.Equal(f.now.Add(7*time.Minute)) {
		t.Fatalf("created = %+v", c)
	}
}

// TestSendRefused: a message whose attachment is not an upload of the
// sender's to this conversation, not stored, not as declared, stored after
// its URL expired, or carried by another message is refused with its
// code, and nothing is written: no message, no mark, no tag.
func TestSendRefused(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 3)
	dm, other := chat.DMID(u[0], u[1]), chat.DMID(u[0], u[2])
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	good := f.uploaded(t, user(u[0]), dm, "a.png", "image/png", png)
	peers := f.uploaded(t, user(u[1]), dm, "b.png", "image/png", png)
	elsewhere := f.uploaded(t, user(u[0]), other, "c.png", "image/png", png)
	notPut := chat.Attachment{UploadID: f.create(t, user(u[0]), dm, "d.png", "image/png", len(png)).UploadID, Name: "d.png", ContentType: "image/png", Size: int64(len(png))}
	// A client that ignored the signed headers (S3 refuses it; the
	// emulator stores it): another size, another type.
	bigger := f.create(t, user(u[0]), dm, "e.png", "image/png", len(png))
	if st := put(t, bigger, append(png, 0)); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	retyped := f.create(t, user(u[0]), dm, "f.png", "image/png", len(png))
	retyped.Headers["Content-Type"] = "text/html"
	if st := put(t, retyped, png); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	// An upload whose URL had expired when the file was stored.
	f.now = time.Now().Add(-time.Hour)
	late := f.uploaded(t, user(u[0]), dm, "g.png", "image/png", png)
	f.now = time.Now()
	// An upload another message carries already.
	taken := f.uploaded(t, user(u[0]), dm, "h.png", "image/png", png)
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{taken}}); err != nil {
		t.Fatal(err)
	}
	// An upload the pending-record TTL has passed.
	stale := f.uploaded(t, user(u[0]), dm, "i.png", "image/png", png)

	decl := func(a chat.Attachment, mod func(*chat.Attachment)) chat.Attachment { mod(&a); return a }
	att := func(id, name string) chat.Attachment {
		return chat.Attachment{UploadID: id, Name: name, ContentType: "image/png", Size: int64(len(png))}
	}
	tests := []struct {
		name  string
		as    []chat.Attachment
		after time.Duration // the attachments clock, moved forward
		want  apierror.Code
	}{
		{"unknown upload id", []chat.Attachment{att("up_aaaaaaaaaaaaaaaaaaaaaaaaaa", "a.png")}, 0, apierror.UploadNotFound},
		{"someone else's upload", []chat.Attachment{peers}, 0, apierror.UploadNotFound},
		{"an upload to another conversation", []chat.Attachment{elsewhere}, 0, apierror.UploadNotFound},
		{"declared size differs", []chat.Attachment{decl(good, func(a *chat.Attachment) { a.Size++ })}, 0, apierror.AttachmentMismatch},
		{"declared type differs", []chat.Attachment{decl(good, func(a *chat.Attachment) { a.ContentType = "image/gif" })}, 0, apierror.AttachmentMismatch},
		{"declared name differs", []chat.Attachment{decl(good, func(a *chat.Attachment) { a.Name = "x.png" })}, 0, apierror.AttachmentMismatch},
		{"file not uploaded", []chat.Attachment{notPut}, 0, apierror.UploadIncomplete},
		{"stored file larger than declared", []chat.Attachment{att(bigger.UploadID, "e.png")}, 0, apierror.AttachmentMismatch},
		{"stored file of another type", []chat.Attachment{att(retyped.UploadID, "f.png")}, 0, apierror.AttachmentMismatch},
		{"stored after the URL expired", []chat.Attachment{late}, 0, apierror.UploadExpired},
		{"carried by another message", []chat.Attachment{taken}, 0, apierror.UploadAlreadyAttached},
		{"pending record past its lifetime", []chat.Attachment{stale}, attachments.PendingLifetime + time.Minute, apierror.UploadNotFound},
		{"one good, one bad: none marked", []chat.Attachment{good, peers}, 0, apierror.UploadNotFound},
		{"system message", nil, 0, apierror.ValidationFailed},
		{"invalid upload id", []chat.Attachment{att("up_X", "a.png")}, 0, apierror.ValidationFailed},
		{"eleven attachments", make([]chat.Attachment, 11), 0, apierror.ValidationFailed},
		{"the same upload twice", []chat.Attachment{good, good}, 0, apierror.ValidationFailed},
	}
	cfg, c := f.env.Counted()
	cs, _, _ := f.services(cfg, attachments.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.now = time.Now().Add(tc.after)
			defer func() { f.now = time.Now() }()
			in := chat.SendInput{ToUser: u[1], Text: "look", Attachments: tc.as}
			if tc.name == "system message" {
				in = chat.SendInput{ConversationID: string(dm), System: true, Attachments: []chat.Attachment{good}}
			}
			p := user(u[0])
			if in.System {
				p = *testenv.Admin()
			}
			c.Reset()
			_, _, err := cs.Send(ctx, p, in)
			wantCode(t, err, tc.want)
			if s := c.Snapshot(); writes(s) != 0 {
				t.Fatalf("refused send wrote: %s", s)
			}
		})
	}
	// good was never marked: it can still be sent.
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{good}}); err != nil {
		t.Fatalf("good upload after the refusals: %v", err)
	}
}

// TestSendRetryKeepsAttachments: a retry with the same client_msg_id is
// the same send (its uploads are its own); a new send of them is not.
func TestSendRetryKeepsAttachments(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 2)
	a := f.uploaded(t, user(u[0]), chat.DMID(u[0], u[1]), "a.png", "image/png", png)
	in := chat.SendInput{ToUser: u[1], ClientMsgID: "c1", Attachments: []chat.Attachment{a}}
	m1, created, err := f.chat.Send(ctx, user(u[0]), in)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	m2, created, err := f.chat.Send(ctx, user(u[0]), in)
	if err != nil || created || m2.Seq != m1.Seq {
		t.Fatalf("retry = seq %d created %v %v; want seq %d, not created", m2.Seq, created, err, m1.Seq)
	}
	in.ClientMsgID = "c2"
	_, _, err = f.chat.Send(ctx, user(u[0]), in)
	wantCode(t, err, apierror.UploadAlreadyAttached)
}

// TestAttachedObjectIsTagged: the object a message carries is no longer
// tagged pending (the lifecycle rule would delete it).
func TestAttachedObjectIsTagged(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 2)
	dm := chat.DMID(u[0], u[1])
	a := f.uploaded(t, user(u[0]), dm, "a.png", "image/png", png)
	tagOf := func() string { return f.tagOf(t, dm, a.UploadID) }
	if got := tagOf(); got != attachments.TagPending {
		t.Fatalf("uploaded object tagged %q, want pending", got)
	}
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{a}}); err != nil {
		t.Fatal(err)
	}
	if got := tagOf(); got != attachments.TagAttached {
		t.Fatalf("attached object tagged %q", got)
	}
}

// TestDownloadRefused: only members get a URL, and only for an upload a
// message of that conversation carries.
func TestDownloadRefused(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 3)
	dm := chat.DMID(u[0], u[1])
	a := f.uploaded(t, user(u[0]), dm, "a.png", "image/png", png)
	pending := f.uploaded(t, user(u[0]), dm, "b.png", "image/png", png)
	if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Attachments: []chat.Attachment{a}}); err != nil {
		t.Fatal(err)
	}
	g, _, err := f.chat.CreateGroup(ctx, user(u[2]), chat.CreateGroupInput{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, as, conv, id string
		want               apierror.Code
	}{
		{"non-member", u[2], string(dm), a.UploadID, apierror.NotFound},
		{"not carried by a message", u[1], string(dm), pending.UploadID, apierror.NotFound},
		{"another conversation's id", u[2], string(g.ConversationID), a.UploadID, apierror.NotFound},
		{"malformed id", u[1], string(dm), "up_X", apierror.InvalidID},
		{"malformed conversation", u[1], "x", a.UploadID, apierror.InvalidID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.att.DownloadURL(ctx, user(tc.as), tc.conv, tc.id)
			wantCode(t, err, tc.want)
		})
	}
	if _, err := f.att.DownloadURL(ctx, *testenv.Admin(), string(dm), a.UploadID); err != nil {
		t.Fatalf("admin download: %v", err)
	}
}
