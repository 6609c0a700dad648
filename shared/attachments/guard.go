package attachments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// Guard is the send guard for attachments: before a message with
// attachments is stored, each must be an upload the sender made to this
// conversation, its object must be stored and match what was declared,
// and no other message may carry it. It then marks them attached (object
// tag and record), so neither the lifecycle rule nor the record's TTL
// deletes them. Chain it last (app.Guards): a message another guard
// refuses must not leave its uploads marked.
//
// A message without attachments costs nothing here. With n: one
// BatchGetItem (records), n HeadObject, n PutObjectTagging and one
// TransactWriteItems of n updates (2n WCU).
func (s *Service) Guard() chat.SendGuard { return guard{s} }

type guard struct{ s *Service }

func (g guard) CheckSend(ctx context.Context, c chat.SendCheck) (chat.SendContent, error) {
	as := c.Content.Attachments
	if len(as) == 0 {
		return c.Content, nil
	}
	if c.System || c.SenderID == "" {
		return chat.SendContent{}, fieldErr(apierror.ValidationFailed, "attachments", "System messages carry no attachments.")
	}
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.UploadID
	}
	us, err := g.s.store.GetUploads(ctx, ids)
	if err != nil {
		return chat.SendContent{}, err
	}
	ref := attachRef(c)
	now := g.s.clock()
	keys := make([]string, len(as))
	for i, a := range as {
		u, err := g.check(ctx, c, ref, i, a, us, now)
		if err != nil {
			return chat.SendContent{}, err
		}
		keys[i] = u.Key
	}
	// Objects first: a record marked attached over a pending object would
	// let the lifecycle rule delete a file a message carries. A send that
	// fails after this leaves tagged objects whose records still expire.
	for _, k := range keys {
		if err := g.s.objects.MarkAttached(ctx, k); err != nil {
			return chat.SendContent{}, err
		}
	}
	if err := g.s.store.MarkAttached(ctx, ids, c.SenderID, ref, now); err != nil {
		if errors.Is(err, ErrAttached) {
			return chat.SendContent{}, apierror.New(apierror.UploadAlreadyAttached, "Another message carries one of these uploads.").
				WithDetails(map[string]string{"field": "attachments"})
		}
		return chat.SendContent{}, err
	}
	return c.Content, nil
}

// check is one attachment's checks; the error's details.field names it.
// A record the TTL has not removed yet is treated as gone once expired.
func (g guard) check(ctx context.Context, c chat.SendCheck, ref string, i int, a chat.Attachment, us map[string]Upload, now time.Time) (Upload, error) {
	field := func(f string) string { return fmt.Sprintf("attachments[%d].%s", i, f) }
	u, ok := us[a.UploadID]
	if !ok || u.OwnerID != c.SenderID || u.ConversationID != c.Conversation.ID || (!u.Attached() && now.Sub(u.CreatedAt) > PendingLifetime) {
		return u, fieldErr(apierror.UploadNotFound, field("upload_id"), "No upload of yours to this conversation has id %q.", a.UploadID)
	}
	switch {
	case a.Name != u.Name:
		return u, fieldErr(apierror.AttachmentMismatch, field("name"), "name differs from the upload's.")
	case a.ContentType != u.ContentType:
		return u, fieldErr(apierror.AttachmentMismatch, field("content_type"), "content_type differs from the upload's.")
	case a.Size != u.Size:
		return u, fieldErr(apierror.AttachmentMismatch, field("size"), "size differs from the upload's.")
	case u.Attached() && u.AttachedRef != ref:
		return u, fieldErr(apierror.UploadAlreadyAttached, field("upload_id"), "Another message carries upload %q.", a.UploadID)
	}
	obj, err := g.s.objects.Head(ctx, u.Key)
	if err != nil {
		return u, err
	}
	switch {
	case obj == nil:
		return u, fieldErr(apierror.UploadIncomplete, field("upload_id"), "The file of upload %q has not been uploaded yet.", a.UploadID)
	case obj.Size != u.Size:
		return u, fieldErr(apierror.AttachmentMismatch, field("size"), "The uploaded file is %d bytes, not the %d declared.", obj.Size, u.Size)
	case obj.ContentType != u.ContentType:
		return u, fieldErr(apierror.AttachmentMismatch, field("content_type"), "The uploaded file's type is not the one declared.")
	case obj.LastModified.After(u.CreatedAt.Add(g.s.urlTTL(u) + clockSkew)):
		// S3 refuses an expired URL; this holds where it did not (an
		// emulator, a URL signed by a clock that was wrong).
		return u, fieldErr(apierror.UploadExpired, field("upload_id"), "Upload %q was stored after its URL expired; upload it again.", a.UploadID)
	}
	return u, nil
}

// clockSkew is the slack between the signing clock and S3's.
const clockSkew = time.Minute

// attachRef names this send for MarkAttached: with a client_msg_id every
// retry of the send has the same ref and may attach again; without one,
// each attempt is a new send.
func attachRef(c chat.SendCheck) string {
	if c.ClientMsgID != "" {
		return "cmid#" + c.SenderID + "#" + c.ClientMsgID
	}
	if c.Attempt != "" {
		return "once#" + c.Attempt
	}
	return "once#" + newUploadID()
}

var _ chat.SendReleaser = guard{}

// ReleaseSend gives back the uploads of a send refused after this guard
// marked them: the objects are tagged pending again (so the lifecycle
// rule deletes them if never sent), then the records, where this send
// still holds them, expire as new uploads do. Uploads in c.Keep (carried
// by the message already stored under the send's client_msg_id) stay.
func (g guard) ReleaseSend(ctx context.Context, c chat.SendCheck) error {
	as := c.Content.Attachments
	if len(as) == 0 || (c.ClientMsgID == "" && c.Attempt == "") {
		return nil
	}
	var ids []string
	for _, a := range as {
		if !slices.Contains(c.Keep, a.UploadID) {
			ids = append(ids, a.UploadID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	us, err := g.s.store.GetUploads(ctx, ids)
	if err != nil {
		return g.releaseFailed(ctx, err)
	}
	ref := attachRef(c)
	var held []string
	for _, id := range ids {
		if u, ok := us[id]; ok && u.AttachedRef == ref {
			if err := g.s.objects.MarkPending(ctx, u.Key); err != nil {
				return g.releaseFailed(ctx, err)
			}
			held = append(held, id)
		}
	}
	if len(held) == 0 {
		return nil
	}
	if err := g.s.store.ReleaseAttached(ctx, held, ref, g.s.clock().Add(PendingLifetime)); err != nil {
		return g.releaseFailed(ctx, err)
	}
	return nil
}

func (g guard) releaseFailed(ctx context.Context, err error) error {
	g.s.log.WarnContext(ctx, "uploads of a refused send not released: they stay attached to no message", "error", err)
	return err
}
