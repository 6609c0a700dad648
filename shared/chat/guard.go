package chat

// Screening a message before it is stored: moderation (bans, blocks, word
// filters), per-user rate limits and an app's pre-send hook all plug in
// here, so Send has one place where a message may be refused or rewritten.

import (
	"context"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// SendCheck is what a guard sees of a message about to be stored. The
// sender may send to the conversation (access was checked first).
type SendCheck struct {
	Principal    auth.Principal
	SenderID     string // "" for a system message
	System       bool
	Conversation ConvRef
	ClientMsgID  string
	// Attempt is unique to this call of Send: a guard that holds something
	// for the message (SendReleaser) names its hold with it.
	Attempt string
	// Edit is the seq of the message an edit replaces the text of (0 for
	// a send); Content then holds the new text only (editguard.go).
	Edit    int64
	Content SendContent
	// Keep, set only for a release, lists the uploads the message already
	// stored under ClientMsgID carries: a release must leave them attached.
	Keep []string
}

// Peer is a DM's other participant ("" for a group, a system message, or
// an edit by a moderator outside the DM).
func (c SendCheck) Peer() string {
	if c.System {
		return ""
	}
	return dmPeer(c.Conversation, c.SenderID)
}

// SendContent is what a message holds. Attachments are shown to guards
// for checking only: a guard's rewrite of them is not stored.
type SendContent struct {
	Text        string
	Payload     *Payload
	Attachments []Attachment
}

// SendGuard screens a message before it is stored. It returns the content
// to store (unchanged, or rewritten: a mask, an enrichment) or refuses
// with an *apierror.Error. A guard runs once per attempt: a client's retry
// with the same client_msg_id is screened again, but its idempotency is
// decided on the content the client sent, so a rewrite cannot make a
// retry look like a different message.
type SendGuard interface {
	CheckSend(ctx context.Context, c SendCheck) (SendContent, error)
}

// SendReleaser is a guard that holds something for the message it passed
// (the attachments guard marks uploads attached) and gives it back when
// the message is refused afterwards, before anything of it was stored: a
// later guard, the envelope check or the store refused it (an
// *apierror.Error). An ambiguous failure (a timeout: the message may be
// stored) releases nothing.
type SendReleaser interface {
	ReleaseSend(ctx context.Context, c SendCheck) error
}

// SendGuardFunc adapts a function to SendGuard.
type SendGuardFunc func(ctx context.Context, c SendCheck) (SendContent, error)

// CheckSend calls f.
func (f SendGuardFunc) CheckSend(ctx context.Context, c SendCheck) (SendContent, error) {
	return f(ctx, c)
}

// Guards runs guards in order; each sees the content the previous one
// returned, and the first refusal stops the chain.
type Guards []SendGuard

// CheckSend runs every guard. When one refuses, the guards before it that
// hold something release it.
func (gs Guards) CheckSend(ctx context.Context, c SendCheck) (SendContent, error) {
	in := c
	for i, g := range gs {
		out, err := g.CheckSend(ctx, c)
		if err != nil {
			gs[:i].release(ctx, in)
			return SendContent{}, err
		}
		out.Attachments = c.Content.Attachments // not a guard's to rewrite
		c.Content = out
	}
	return c.Content, nil
}

// ReleaseSend releases what every guard holds for c.
func (gs Guards) ReleaseSend(ctx context.Context, c SendCheck) error {
	gs.release(ctx, c)
	return nil
}

func (gs Guards) release(ctx context.Context, c SendCheck) {
	for _, g := range gs {
		if r, ok := g.(SendReleaser); ok {
			_ = r.ReleaseSend(ctx, c) // a guard logs its own failure; the refusal stands
		}
	}
}

// releaseRefused releases what the guards hold for c when err is a refusal
// (nothing of the message was stored). Other errors keep the hold: the
// message may be stored, and the client's retry finds it. So does a send
// with a client_msg_id, whose earlier attempt may have stored the message
// with the same holds (releaseReused handles its one safe case).
func releaseRefused(ctx context.Context, g SendGuard, c SendCheck, err error) {
	r, ok := g.(SendReleaser)
	if !ok || err == nil || c.ClientMsgID != "" || apierror.HTTPStatus(apierror.CodeOf(err)) >= 500 {
		return
	}
	_ = r.ReleaseSend(ctx, c)
}

// releaseReused releases the uploads of a send refused as
// idempotency_key_reused, except those the message stored under the same
// client_msg_id carries (two reads, on this refusal only).
func (s *Service) releaseReused(ctx context.Context, c SendCheck, claimKey string) {
	r, ok := s.guard.(SendReleaser)
	if !ok || len(c.Content.Attachments) == 0 {
		return
	}
	claims, lerr := s.store.ListClaims(ctx, c.Conversation.ID, claimKey)
	if lerr != nil {
		return
	}
	for _, cl := range claims {
		if cl.Key != claimKey {
			continue
		}
		stored, gerr := s.store.GetMessage(ctx, c.Conversation.ID, cl.Seq)
		if gerr != nil {
			return // unknown: keep every hold
		}
		if stored != nil {
			for _, a := range stored.Attachments {
				c.Keep = append(c.Keep, a.UploadID)
			}
		}
	}
	_ = r.ReleaseSend(ctx, c)
}
