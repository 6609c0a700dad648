package chat

// Screening changes to stored messages. An edit puts new content in front
// of the other side just as a send does, so it passes the same guards
// (SendGuard: per-user rate limit, ban, DM blocklist, word filter, and
// whatever else the chain holds) with SendCheck.Edit naming the message.
// A reaction carries no content, but it is pushed to the other side: a
// guard that also implements ReactionGuard screens who reacts where (a
// banned user, a user blocked by their DM partner). Recalls are not
// screened: they only take content away (docs/permissions.md,
// "Moderation").

import (
	"context"

	"github.com/tokenim/tokenim/shared/auth"
)

// ReactionCheck is what a ReactionGuard sees of a reaction about to be
// added (removing one only takes something away and is not screened). The user may read the message (access was checked).
type ReactionCheck struct {
	Principal    auth.Principal
	UserID       string
	Conversation ConvRef
	Seq          int64
}

// Peer is a DM's other participant ("" for a group, or a user outside
// the DM).
func (c ReactionCheck) Peer() string { return dmPeer(c.Conversation, c.UserID) }

// ReactionGuard screens a reaction before it is stored; it refuses with
// an *apierror.Error.
type ReactionGuard interface {
	CheckReaction(ctx context.Context, c ReactionCheck) error
}

// CheckReaction runs every guard of the chain that screens reactions.
func (gs Guards) CheckReaction(ctx context.Context, c ReactionCheck) error {
	for _, g := range gs {
		if rg, ok := g.(ReactionGuard); ok {
			if err := rg.CheckReaction(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// dmPeer is user's partner in a DM, "" for a group or a user who is not
// one of the two (a moderator acting through a grant).
func dmPeer(r ConvRef, user string) string {
	if r.Kind != KindDM || user == "" || (r.A != user && r.B != user) {
		return ""
	}
	return r.Peer(user)
}

// screenEdit passes an edit's new text through the send guards, as the
// actor's own send to the conversation would be, and returns the text to
// store (masked, for instance). An admin token's edit is the system's, as
// its sends are.
func (s *Service) screenEdit(ctx context.Context, p auth.Principal, t target, text string) (string, error) {
	if s.guard == nil {
		return text, nil
	}
	out, err := s.guard.CheckSend(ctx, SendCheck{Principal: p, SenderID: t.r.id, System: t.r.id == "", Conversation: t.ref,
		Edit: t.msg.Seq, Content: SendContent{Text: text}})
	if err != nil {
		return "", err
	}
	if out.Text == "" {
		return "", fieldErr("text", "text must not be empty.")
	}
	if _, err := validateContent(out.Text, nil); err != nil {
		return "", err
	}
	return out.Text, nil
}

// screenReaction passes a reaction through the guards that screen
// reactions (none: every reaction passes).
func (s *Service) screenReaction(ctx context.Context, p auth.Principal, t target) error {
	rg, ok := s.guard.(ReactionGuard)
	if !ok {
		return nil
	}
	return rg.CheckReaction(ctx, ReactionCheck{Principal: p, UserID: t.r.id, Conversation: t.ref, Seq: t.msg.Seq})
}
