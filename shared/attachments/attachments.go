// Package attachments is files in messages: a client asks for a presigned
// upload (CreateUpload), puts the file straight into S3, then sends a
// message naming the upload; Guard (a chat.SendGuard) checks the upload
// and its object before the message is stored and marks it attached;
// Download hands members a short-lived presigned GET. The design (why
// uploads are tagged, where records live, what expires) is in
// docs/data-model.md, "Attachments".
package attachments

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// Upload is the record of one presigned upload: who asked, for which
// conversation, what they declared, and whether a message carries it.
type Upload struct {
	UploadID       string
	OwnerID        string
	ConversationID chat.ConversationID
	Name           string
	ContentType    string
	Size           int64
	Key            string // the object's key in the bucket
	CreatedAt      time.Time
	// AttachedRef names the send that attached it ("" = not attached):
	// the conversation's client_msg_id scope, so that a retry of the same
	// send may attach it again and no other send may.
	AttachedRef string
	AttachedAt  time.Time
	// MultipartID is S3's id of a multipart upload ("" = one PUT).
	MultipartID string
}

// Attached reports whether a message carries the upload.
func (u Upload) Attached() bool { return u.AttachedRef != "" }

// Store keeps upload records and the per-user daily quota.
type Store interface {
	// ConsumeUploadQuota counts one upload against the user's quota for
	// day (YYYY-MM-DD, UTC), refusing with quota_exceeded at max.
	ConsumeUploadQuota(ctx context.Context, user, day string, max int) error
	// PutUpload stores a new record that expires at expires (unless attached).
	PutUpload(ctx context.Context, u Upload, expires time.Time) error
	// GetUploads reads records by id (strongly consistent); missing ids
	// are absent from the map.
	GetUploads(ctx context.Context, ids []string) (map[string]Upload, error)
	// MarkAttached marks every upload attached by ref, all or none: each
	// must still be owner's and unattached or attached by ref, else
	// ErrAttached. An attached record no longer expires.
	MarkAttached(ctx context.Context, ids []string, owner, ref string, at time.Time) error
	// ReleaseAttached undoes MarkAttached for the uploads ref still holds
	// (others are left as they are): they are unattached again and expire
	// at expires.
	ReleaseAttached(ctx context.Context, ids []string, ref string, expires time.Time) error
	// DeleteUploads removes records (a recalled message's).
	DeleteUploads(ctx context.Context, ids []string) error
}

// Objects is the bucket.
type Objects interface {
	// PresignPut returns a URL that stores exactly size bytes of
	// contentType at key, tagged pending, until now+ttl.
	PresignPut(ctx context.Context, key, contentType string, size int64, now time.Time, ttl time.Duration) (Presigned, error)
	// Head returns the stored object's size and type (nil: no object).
	Head(ctx context.Context, key string) (*ObjectInfo, error)
	// MarkAttached retags the object so the lifecycle rule that deletes
	// pending uploads leaves it.
	MarkAttached(ctx context.Context, key string) error
	// MarkPending tags the object pending again (a refused send's upload).
	MarkPending(ctx context.Context, key string) error
	// CreateMultipart starts a multipart upload of contentType at key,
	// tagged pending, and returns its id.
	CreateMultipart(ctx context.Context, key, contentType string) (string, error)
	// PresignPart returns a URL that stores exactly size bytes as part
	// number part of the multipart upload id, until now+ttl.
	PresignPart(ctx context.Context, key, id string, part int32, size int64, now time.Time, ttl time.Duration) (string, error)
	// CompleteMultipart assembles the parts into the object: ErrNoUpload
	// when the upload is unknown (completed or aborted), ErrBadParts when
	// a part is missing or its ETag wrong.
	CompleteMultipart(ctx context.Context, key, id string, parts []CompletedPart) error
	// PresignGet returns a URL that reads key until now+ttl, served as
	// contentType and as an attachment named name.
	PresignGet(ctx context.Context, key, name, contentType string, now time.Time, ttl time.Duration) (string, error)
	// Delete removes objects (missing ones are not an error).
	Delete(ctx context.Context, keys []string) error
}

// Presigned is a presigned request: the client sends Method to URL with
// exactly Headers.
type Presigned struct {
	URL     string
	Method  string
	Headers map[string]string
}

// ObjectInfo is what HeadObject says of a stored object.
type ObjectInfo struct {
	Size         int64
	ContentType  string
	LastModified time.Time
}

// Access answers who may read a conversation (chat.Service): a user who
// is not a member gets not_found, as every conversation route answers.
type Access interface {
	GetConversation(ctx context.Context, p auth.Principal, convID, asUser string) (chat.Conversation, error)
}

// ErrAttached is MarkAttached's answer when another send attached an
// upload first (or it is no longer the owner's).
var ErrAttached = errAttached{}

type errAttached struct{}

func (errAttached) Error() string { return "attachments: upload attached by another message" }

// Tag values on an object (docs/data-model.md): the bucket's lifecycle
// rule deletes objects still tagged pending after a day.
const (
	TagKey      = "tokenim-upload"
	TagPending  = "pending"
	TagAttached = "attached"
)

// keyPrefix holds every upload's object.
const keyPrefix = "uploads/"

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newUploadID returns "up_" and 26 random characters (128 bits).
func newUploadID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "up_" + strings.ToLower(idEncoding.EncodeToString(b))
}

// objectKey is where an upload's file lives: by conversation, so an
// operator can find (or erase) a conversation's files by prefix.
func objectKey(conv chat.ConversationID, uploadID string) string {
	return keyPrefix + strings.ReplaceAll(string(conv), ":", "_") + "/" + uploadID
}
