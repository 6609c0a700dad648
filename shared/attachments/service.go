package attachments

import (
	"context"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// Defaults (template parameters MaxUploadBytes, AllowedContentTypes,
// UploadsPerUserPerDay; docs/openapi.yaml).
const (
	DefaultMaxBytes     = 100 << 20
	DefaultPerUserDay   = 200
	DefaultUploadTTL    = 10 * time.Minute // how long an upload URL works
	DefaultDownloadTTL  = 5 * time.Minute  // how long a download URL works
	DefaultAllowedTypes = "image/*,video/*,audio/*,application/pdf,text/plain"
	// PendingLifetime is how long an upload never attached is kept: its
	// record's TTL and the bucket's lifecycle rule (template.yaml).
	PendingLifetime = 24 * time.Hour
	// MaxSinglePut is the largest object one presigned PUT may store
	// (S3's limit); larger files are uploaded in parts (multipart.go).
	MaxSinglePut = 5 << 30
	// MaxObject is S3's largest object, the cap on MaxUploadBytes.
	MaxObject = 5 << 40
)

// Config is the limits.
type Config struct {
	MaxBytes     int64
	AllowedTypes []string // "type/subtype" or "type/*"
	PerUserDay   int
	UploadTTL    time.Duration
	DownloadTTL  time.Duration
	PartSize     int64 // multipart parts; DefaultPartSize, at least MinPartSize
}

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	c.MaxBytes = min(c.MaxBytes, MaxObject)
	if len(c.AllowedTypes) == 0 {
		c.AllowedTypes = ParseTypes(DefaultAllowedTypes)
	}
	if c.PerUserDay <= 0 {
		c.PerUserDay = DefaultPerUserDay
	}
	if c.UploadTTL <= 0 {
		c.UploadTTL = DefaultUploadTTL
	}
	if c.DownloadTTL <= 0 {
		c.DownloadTTL = DefaultDownloadTTL
	}
	if c.PartSize <= 0 {
		c.PartSize = DefaultPartSize
	}
	c.PartSize = max(c.PartSize, MinPartSize)
	return c
}

// ParseTypes splits a comma-separated AllowedContentTypes value.
func ParseTypes(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (c Config) allows(contentType string) bool {
	return slices.ContainsFunc(c.AllowedTypes, func(p string) bool {
		ok, _ := path.Match(p, contentType)
		return ok
	})
}

// Service is the upload and download use cases, and the send guard.
type Service struct {
	store   Store
	objects Objects
	access  Access
	cfg     Config
	clock   func() time.Time
	log     *slog.Logger
}

// Options are a Service's optional dependencies.
type Options struct {
	Clock func() time.Time // default time.Now; tests move it
	Log   *slog.Logger
}

// NewService builds the service.
func NewService(store Store, objects Objects, access Access, cfg Config, o Options) *Service {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{store: store, objects: objects, access: access, cfg: cfg.withDefaults(), clock: o.Clock, log: o.Log}
}

// Config returns the limits in force.
func (s *Service) Config() Config { return s.cfg }

// CreateInput is POST /v1/uploads's body.
type CreateInput struct {
	ConversationID string
	Name           string
	ContentType    string
	Size           int64
	// Multipart asks for the file in parts (multipart.go): required above
	// 5 GiB, useful above a few tens of MB (parallel, resumable parts).
	Multipart bool
}

// Created is a presigned upload: PUT the file's bytes to URL with Headers
// before ExpiresAt, then send a message naming UploadID. A multipart
// upload has Parts instead of URL: PUT each part's bytes to its URL, then
// complete the upload (CompleteUpload) with the ETags S3 answered.
type Created struct {
	UploadID  string            `json:"upload_id"`
	URL       string            `json:"url,omitempty"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
	PartSize  int64             `json:"part_size,omitempty"`
	Parts     []PartURL         `json:"parts,omitempty"`
}

func fieldErr(code apierror.Code, field, format string, args ...any) error {
	return apierror.New(code, format, args...).WithDetails(map[string]string{"field": field})
}

// validate checks an upload request's fields, cheapest first.
func (s *Service) validate(in CreateInput) (chat.ConvRef, error) {
	ref, err := chat.ParseConversationID(in.ConversationID)
	if err != nil {
		return chat.ConvRef{}, err
	}
	switch {
	case !chat.ValidAttachmentName(in.Name):
		return ref, fieldErr(apierror.ValidationFailed, "name", "name must be 1-%d characters, without control characters or slashes.", chat.MaxAttachmentName)
	case !chat.ValidContentType(in.ContentType):
		return ref, fieldErr(apierror.ValidationFailed, "content_type", "content_type must be a lower-case type/subtype without parameters.")
	case !s.cfg.allows(in.ContentType):
		return ref, apierror.New(apierror.ContentTypeNotAllowed, "Uploads of type %s are not allowed here.", in.ContentType).
			WithDetails(map[string]string{"allowed": strings.Join(s.cfg.AllowedTypes, ",")})
	case in.Size <= 0:
		return ref, fieldErr(apierror.ValidationFailed, "size", "size must be the file's size in bytes.")
	case in.Size > s.cfg.MaxBytes:
		return ref, apierror.New(apierror.UploadTooLarge, "A file may be at most %d bytes.", s.cfg.MaxBytes).
			WithDetails(map[string]string{"max_bytes": itoa(s.cfg.MaxBytes)})
	case in.Size > MaxSinglePut && !in.Multipart:
		return ref, apierror.New(apierror.UploadTooLarge, "A file over %d bytes must be uploaded in parts (\"multipart\": true).", int64(MaxSinglePut)).
			WithDetails(map[string]string{"max_bytes": itoa(MaxSinglePut), "field": "multipart"})
	}
	return ref, nil
}

// CreateUpload checks the request, the caller's access to the
// conversation and the daily quota, stores the upload's record and
// returns a presigned PUT bound to the declared size and type.
//
// Cost: group conversations one BatchGetItem (membership), then UpdateItem
// (quota) and PutItem (record): 2 WCU. Presigning is local: no request.
func (s *Service) CreateUpload(ctx context.Context, p auth.Principal, in CreateInput) (Created, error) {
	uid, err := p.User()
	if err != nil {
		return Created{}, err
	}
	ref, err := s.validate(in)
	if err != nil {
		return Created{}, err
	}
	if err := s.checkAccess(ctx, p, uid, ref); err != nil {
		return Created{}, err
	}
	now := s.clock().UTC()
	u := Upload{UploadID: newUploadID(), OwnerID: uid, ConversationID: ref.ID, Name: in.Name, ContentType: in.ContentType, Size: in.Size,
		CreatedAt: now}
	u.Key = objectKey(ref.ID, u.UploadID)
	if in.Multipart {
		return s.createMultipart(ctx, u, now)
	}
	ps, err := s.objects.PresignPut(ctx, u.Key, u.ContentType, u.Size, now, s.cfg.UploadTTL)
	if err != nil {
		return Created{}, err
	}
	if err := s.store.ConsumeUploadQuota(ctx, uid, now.Format(time.DateOnly), s.cfg.PerUserDay); err != nil {
		return Created{}, err
	}
	if err := s.store.PutUpload(ctx, u, now.Add(PendingLifetime)); err != nil {
		return Created{}, err
	}
	return Created{UploadID: u.UploadID, URL: ps.URL, Method: ps.Method, Headers: ps.Headers, ExpiresAt: now.Add(s.cfg.UploadTTL)}, nil
}

// checkAccess: a DM's participants may upload to it (its first message
// may carry the file: there is nothing to read yet; the peer's existence
// is checked when the message is sent); a group's members, read in one
// BatchGetItem. A muted member may upload but not send: the send is
// refused as any other.
func (s *Service) checkAccess(ctx context.Context, p auth.Principal, uid string, ref chat.ConvRef) error {
	if ref.Kind == chat.KindDM {
		if !ref.Has(uid) {
			return apierror.New(apierror.NotFound, "Conversation %q was not found.", string(ref.ID))
		}
		return nil
	}
	_, err := s.access.GetConversation(ctx, p, string(ref.ID), "")
	return err
}

// Download is a presigned GET of an attachment.
type Download struct {
	URL         string    `json:"url"`
	ExpiresAt   time.Time `json:"expires_at"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
}

// DownloadURL returns a short-lived presigned GET of an attachment of a
// conversation the caller may read (admin tokens read every one). Only
// uploads a message carries are served; a non-member gets not_found.
//
// Cost: one BatchGetItem (access) and one GetItem (the record); presigning
// is local.
func (s *Service) DownloadURL(ctx context.Context, p auth.Principal, convID, attachmentID string) (Download, error) {
	ref, err := chat.ParseConversationID(convID)
	if err != nil {
		return Download{}, err
	}
	if !ValidUploadID(attachmentID) {
		return Download{}, apierror.New(apierror.InvalidID, "attachment_id must be an upload_id a message carries.").
			WithDetails(map[string]string{"field": "attachment_id"})
	}
	if _, err := s.access.GetConversation(ctx, p, string(ref.ID), ""); err != nil {
		return Download{}, err
	}
	us, err := s.store.GetUploads(ctx, []string{attachmentID})
	if err != nil {
		return Download{}, err
	}
	u, ok := us[attachmentID]
	if !ok || u.ConversationID != ref.ID || !u.Attached() {
		return Download{}, apierror.New(apierror.NotFound, "Attachment %q was not found.", attachmentID)
	}
	now := s.clock().UTC()
	url, err := s.objects.PresignGet(ctx, u.Key, u.Name, u.ContentType, now, s.cfg.DownloadTTL)
	if err != nil {
		return Download{}, err
	}
	return Download{URL: url, ExpiresAt: now.Add(s.cfg.DownloadTTL), Name: u.Name, ContentType: u.ContentType, Size: u.Size}, nil
}

// ValidUploadID reports whether id has the form newUploadID gives.
func ValidUploadID(id string) bool {
	if len(id) != 29 || !strings.HasPrefix(id, "up_") {
		return false
	}
	return !strings.ContainsFunc(id[3:], func(r rune) bool { return (r < 'a' || r > 'z') && (r < '2' || r > '7') })
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
