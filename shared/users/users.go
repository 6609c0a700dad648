// Package users holds user accounts: the domain type, its validation rules
// and the use cases (create, get, update, delete, list) that REST, batch
// import and sign-up flows all share.
package users

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
)

// User is a chat account.
type User struct {
	UserID    string            `json:"user_id"`
	Nickname  string            `json:"nickname,omitempty"`
	AvatarURL string            `json:"avatar_url,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	// Gen identifies this incarnation of the id: tokens carry it, so a token
	// of a deleted user stays dead even if the id is created again.
	Gen int64 `json:"-"`
	// IdempotencyKey is the key of the create call that made this user.
	IdempotencyKey string `json:"-"`
	// Source names the external identity a sign-up flow created this user
	// for (e.g. "cognito:<pool id>:<sub>"); empty for users made over REST.
	// A repeated sign-up event is recognised by it.
	Source string `json:"-"`
}

// Limits, documented in docs/openapi.yaml and README. String lengths count
// characters (Unicode code points), the unit of the spec's maxLength, so a
// client validating against the schema and the server agree.
const (
	MaxIDLength           = 64
	MaxNicknameRunes      = 64
	MaxAvatarURLRunes     = 2048
	MaxMetadataKeys       = 20
	MaxMetadataKeyRunes   = 64
	MaxMetadataValueRunes = 1024
)

// idPattern: letters, digits and _ . @ -, starting with a letter or digit.
// It keeps ids safe inside DynamoDB keys (no '#'), URLs (no '/', '?') and
// file paths (no leading '.'), and rules out NUL and control characters.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// IDPattern is the documented pattern for user and group ids.
const IDPattern = `^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`

// ValidateID checks a client-chosen id (users and groups share the rule).
func ValidateID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return apierror.New(apierror.InvalidID, "%s must match %s (1-%d characters).", kind, IDPattern, MaxIDLength).
			WithDetails(map[string]string{"field": kind})
	}
	return nil
}

// Profile is the mutable part of a user.
type Profile struct {
	Nickname  string
	AvatarURL string
	Metadata  map[string]string
}

// Validate checks profile fields.
func (p Profile) Validate() error {
	if utf8.RuneCountInString(p.Nickname) > MaxNicknameRunes || !utf8.ValidString(p.Nickname) {
		return fieldErr("nickname", "nickname must be valid UTF-8 of at most %d characters.", MaxNicknameRunes)
	}
	if p.AvatarURL != "" && (len(p.AvatarURL) > MaxAvatarURLRunes || !avatarURL.MatchString(p.AvatarURL)) {
		return fieldErr("avatar_url", "avatar_url must be an http(s) URL of at most %d characters as RFC 3986 writes it (ASCII, other characters percent-encoded), without user@.", MaxAvatarURLRunes)
	}
	return ValidateMetadata(p.Metadata)
}

// AvatarURLPattern is RFC 3986's grammar for an http(s) URI without
// userinfo (an avatar URL carrying credentials is refused) and without an
// IP literal host ([v6]: too rare for avatars to be worth a parser). It is
// docs/openapi.yaml's AvatarURL pattern, character for character (a test
// holds them together); url.Parse is laxer (spaces, non-ASCII, "%zz" in a
// query, several "@").
const AvatarURLPattern = `^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+(?::[0-9]*)?(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?(?:#(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$`

var avatarURL = regexp.MustCompile(AvatarURLPattern)

// ValidateMetadata checks custom string metadata (users and groups).
func ValidateMetadata(m map[string]string) error {
	if len(m) > MaxMetadataKeys {
		return fieldErr("metadata", "metadata may hold at most %d keys.", MaxMetadataKeys)
	}
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > MaxMetadataKeyRunes || !utf8.ValidString(k) {
			return fieldErr("metadata", "metadata keys must be 1-%d characters of UTF-8.", MaxMetadataKeyRunes)
		}
		if utf8.RuneCountInString(v) > MaxMetadataValueRunes || !utf8.ValidString(v) {
			return fieldErr("metadata", "metadata values must be at most %d characters of UTF-8.", MaxMetadataValueRunes)
		}
	}
	return nil
}

func fieldErr(field, format string, args ...any) error {
	return apierror.New(apierror.ValidationFailed, format, args...).WithDetails(map[string]string{"field": field})
}

// NewGen returns a fresh generation: random, non-zero and below 2^53 (so
// it stays exact in JavaScript JWT decoders). It must differ between two
// create attempts, even concurrent ones in the same millisecond: a create
// recognises its own earlier write (after an SDK retry) by its Gen.
func NewGen() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; fall back to time.
		return time.Now().UnixNano()&(1<<53-1) | 1
	}
	return int64(binary.BigEndian.Uint64(b[:])&(1<<53-1)) | 1
}

// NotFound is the error for a missing user.
func NotFound(id string) error {
	return apierror.New(apierror.NotFound, "User %q was not found.", id)
}

// Exists is the error for a duplicate user id.
func Exists(id string) error {
	return apierror.New(apierror.UserExists, "User %q already exists.", id)
}

// StoreError wraps an unexpected store failure for logs (clients see internal).
func StoreError(op string, err error) error { return fmt.Errorf("users: %s: %w", op, err) }
