// Package chat holds groups, conversations and messages: the domain types,
// their rules and the use cases that REST handlers, WebSocket routes and
// batch import all call. Every permission and validation rule lives here;
// handlers only translate HTTP to these calls.
//
// Storage is read-diffused: a group message is written once, in its
// conversation's partition, never once per member. Design and cost of every
// access pattern: docs/data-model.md.
package chat

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

// Config holds the tunable limits (template.yaml sets them per deployment).
type Config struct {
	// MaxGroupMembers caps a group's size (MAX_GROUP_MEMBERS). Default 1,000:
	// every group message is pushed to every member, so the cap bounds the
	// fan-out cost and time of one send (1,000 pushes fit comfortably in one
	// Lambda invocation), and reading the member list for that fan-out
	// (~100 B per member) stays under 100 KB.
	MaxGroupMembers int
	// RecallWindow is how long a sender may recall a message
	// (RECALL_WINDOW_SECONDS, default 2 minutes).
	RecallWindow time.Duration
	// MaxReactionKinds and MaxReactionsByUser limit a message's distinct
	// emojis and each user's emojis on it (react.go).
	MaxReactionKinds   int
	MaxReactionsByUser int
}

// Defaults for Config fields left zero.
const (
	DefaultMaxGroupMembers = 1000
	DefaultRecallWindow    = 2 * time.Minute
)

func (c Config) withDefaults() Config {
	if c.MaxGroupMembers <= 0 {
		c.MaxGroupMembers = DefaultMaxGroupMembers
	}
	if c.RecallWindow <= 0 {
		c.RecallWindow = DefaultRecallWindow
	}
	if c.MaxReactionKinds <= 0 {
		c.MaxReactionKinds = DefaultMaxReactionKinds
	}
	if c.MaxReactionsByUser <= 0 {
		c.MaxReactionsByUser = DefaultMaxReactionsByUser
	}
	return c
}

// Conversation kinds.
const (
	KindDM    = "dm"
	KindGroup = "group"
)

// ConversationID is a canonical conversation id: "dm:<a>:<b>" with a < b
// for a direct conversation, "g:<group_id>" for a group. User and group ids
// cannot contain ':' (users.IDPattern), so the id is unambiguous; ':' is a
// legal character in a URL path segment (RFC 3986 pchar), and clients may
// also send it percent-encoded (%3A).
type ConversationID string

// DMID is the one id of the direct conversation between a and b, whichever
// side asks.
func DMID(a, b string) ConversationID {
	if b < a {
		a, b = b, a
	}
	return ConversationID("dm:" + a + ":" + b)
}

// GroupConversationID is the id of a group's conversation.
func GroupConversationID(groupID string) ConversationID { return ConversationID("g:" + groupID) }

// ConvRef is a parsed conversation id.
type ConvRef struct {
	ID      ConversationID
	Kind    string
	A, B    string // DM participants, A < B
	GroupID string
}

// Has reports whether user is one of a DM's two participants.
func (r ConvRef) Has(user string) bool { return r.Kind == KindDM && (r.A == user || r.B == user) }

// Peer is the other participant of a DM.
func (r ConvRef) Peer(user string) string {
	if r.A == user {
		return r.B
	}
	return r.A
}

// ParseConversationID validates and canonicalizes s. The two ids of a DM
// may come in either order.
func ParseConversationID(s string) (ConvRef, error) {
	bad := apierror.New(apierror.InvalidID, "conversation_id must be \"dm:<user_id>:<user_id>\" or \"g:<group_id>\".").
		WithDetails(map[string]string{"field": "conversation_id"})
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 3 && parts[0] == "dm":
		a, b := parts[1], parts[2]
		if users.ValidateID("user_id", a) != nil || users.ValidateID("user_id", b) != nil {
			return ConvRef{}, bad
		}
		if a == b {
			return ConvRef{}, apierror.New(apierror.InvalidID, "conversation_id names the same user twice; a direct conversation is between two different users.").
				WithDetails(map[string]string{"field": "conversation_id"})
		}
		if b < a {
			a, b = b, a
		}
		return ConvRef{ID: DMID(a, b), Kind: KindDM, A: a, B: b}, nil
	case len(parts) == 2 && parts[0] == "g":
		if users.ValidateID("group_id", parts[1]) != nil {
			return ConvRef{}, bad
		}
		return ConvRef{ID: GroupConversationID(parts[1]), Kind: KindGroup, GroupID: parts[1]}, nil
	}
	return ConvRef{}, bad
}

// newID returns a prefixed, time-ordered, unique id (48-bit millisecond
// time + 80 random bits, lower-case base32): it satisfies users.IDPattern,
// sorts by creation time and never collides in practice.
func newID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ panics
		// inside Read instead); keep the id unique enough regardless.
		binary.BigEndian.PutUint64(b[8:], uint64(now.UnixNano()))
	}
	return prefix + strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// notFound is the one answer for anything the caller may not see: a
// missing conversation, a DM of others, a group the caller is not in.
func notFound(what string, id any) error {
	return apierror.New(apierror.NotFound, "%s %q was not found.", what, fmt.Sprint(id))
}

func fieldErr(field, format string, args ...any) error {
	return apierror.New(apierror.ValidationFailed, format, args...).WithDetails(map[string]string{"field": field})
}

// ErrConflict is returned by the store when a conditional write lost a race
// the use case can retry (a member appeared or changed role concurrently).
var ErrConflict = apierror.New(apierror.Conflict, "The group changed concurrently; retry.")

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
