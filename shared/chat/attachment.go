package chat

// The shape of a message's attachments. Whether each upload exists, is the
// sender's, is in this conversation and matches its stored object is the
// attachments guard's (shared/attachments), which runs before any write.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Attachment limits (docs/openapi.yaml, Attachment).
const (
	MaxAttachments        = 10
	MaxAttachmentName     = 255 // runes
	maxAttachmentSide     = 100_000
	maxAttachmentDuration = 7 * 24 * 3600.0 // seconds
)

var (
	uploadIDPattern    = regexp.MustCompile(`^up_[a-z0-9]{20,40}$`)
	contentTypePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$`)
)

// ValidContentType reports whether ct is a lower-case type/subtype
// without parameters, the only form uploads and attachments accept.
func ValidContentType(ct string) bool { return contentTypePattern.MatchString(ct) }

// ValidAttachmentName checks a file name: 1-255 runes of valid UTF-8, no
// control characters and no path separators.
func ValidAttachmentName(name string) bool {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxAttachmentName || strings.ContainsAny(name, `/\`) {
		return false
	}
	return !strings.ContainsFunc(name, unicode.IsControl)
}

// validateAttachments checks the shape and count of a message's
// attachments; the error's details.field names the offender.
func validateAttachments(as []Attachment) error {
	if len(as) > MaxAttachments {
		return fieldErr("attachments", "A message carries at most %d attachments.", MaxAttachments)
	}
	seen := map[string]bool{}
	for i, a := range as {
		f := func(name string) string { return fmt.Sprintf("attachments[%d].%s", i, name) }
		switch {
		case !uploadIDPattern.MatchString(a.UploadID):
			return fieldErr(f("upload_id"), "upload_id must be an id returned by POST /v1/uploads.")
		case seen[a.UploadID]:
			return fieldErr(f("upload_id"), "An upload is attached at most once per message.")
		case !ValidAttachmentName(a.Name):
			return fieldErr(f("name"), "name must be 1-%d characters, without control characters or slashes.", MaxAttachmentName)
		case !ValidContentType(a.ContentType):
			return fieldErr(f("content_type"), "content_type must be a lower-case type/subtype without parameters.")
		case a.Size <= 0:
			return fieldErr(f("size"), "size must be the upload's size in bytes.")
		case a.Width < 0 || a.Width > maxAttachmentSide:
			return fieldErr(f("width"), "width must be 0-%d.", maxAttachmentSide)
		case a.Height < 0 || a.Height > maxAttachmentSide:
			return fieldErr(f("height"), "height must be 0-%d.", maxAttachmentSide)
		case a.Duration < 0 || a.Duration > maxAttachmentDuration:
			return fieldErr(f("duration"), "duration must be 0-%d seconds.", int(maxAttachmentDuration))
		}
		seen[a.UploadID] = true
	}
	return nil
}

// withAttachments folds attachments into a message fingerprint; a message
// without any keeps the fingerprint it always had.
func withAttachments(fp string, as []Attachment) string {
	if len(as) == 0 {
		return fp
	}
	b, _ := json.Marshal([]any{fp, as})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
