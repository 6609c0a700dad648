package attachments

// Multipart uploads: a file over 5 GiB (S3's single-PUT limit), or any
// file a client would rather send in parts (in parallel, retrying one part
// instead of the whole file), is uploaded as an S3 multipart upload. The
// server starts it (so content type and the pending tag are its, not the
// client's), presigns one PUT per part, each bound to the part's exact
// size, and completes it when the client hands back the parts' ETags.
// The object then exists as for a single PUT, and the send guard checks
// it the same way. A multipart upload never completed is aborted by the
// bucket's AbortIncompleteMultipartUploads rule after a day.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

const (
	// DefaultPartSize is every part's size but the last's (S3: 5 MiB to
	// 5 GiB, at most 10,000 parts); partPlan grows it for files over 625 GiB.
	DefaultPartSize = 64 << 20
	// MinPartSize is S3's smallest part but the last.
	MinPartSize = 5 << 20
	// MaxParts is S3's limit on parts per upload.
	MaxParts = 10_000
	// MultipartTTL is how long part URLs work: a large file takes longer
	// than a single PUT's ten minutes.
	MultipartTTL = 6 * time.Hour
)

// PartURL is one part to PUT: exactly Size bytes to URL.
type PartURL struct {
	PartNumber int32  `json:"part_number"`
	Size       int64  `json:"size"`
	URL        string `json:"url"`
}

// CompletedPart is a part the client stored, with the ETag S3 answered.
type CompletedPart struct {
	PartNumber int32  `json:"part_number"`
	ETag       string `json:"etag"`
}

// Completed is CompleteUpload's answer.
type Completed struct {
	UploadID string `json:"upload_id"`
	Size     int64  `json:"size"`
}

// Errors of Objects.CompleteMultipart.
var (
	ErrNoUpload = errors.New("attachments: no such multipart upload")
	ErrBadParts = errors.New("attachments: parts missing or not as stored")
)

// partPlan splits size into parts of partSize each, larger when the file
// would otherwise need more than MaxParts, the last one what remains.
func partPlan(size, partSize int64) (int64, int32) {
	if need := (size + MaxParts - 1) / MaxParts; need > partSize {
		partSize = need
	}
	return partSize, int32((size + partSize - 1) / partSize)
}

// createMultipart is CreateUpload's multipart path: quota, then the S3
// upload (1 request), then the record; presigning is local.
func (s *Service) createMultipart(ctx context.Context, u Upload, now time.Time) (Created, error) {
	if err := s.store.ConsumeUploadQuota(ctx, u.OwnerID, now.Format(time.DateOnly), s.cfg.PerUserDay); err != nil {
		return Created{}, err
	}
	id, err := s.objects.CreateMultipart(ctx, u.Key, u.ContentType)
	if err != nil {
		return Created{}, err
	}
	u.MultipartID = id
	partSize, n := partPlan(u.Size, s.cfg.PartSize)
	parts := make([]PartURL, n)
	for i := range n {
		size := min(partSize, u.Size-int64(i)*partSize)
		url, err := s.objects.PresignPart(ctx, u.Key, id, i+1, size, now, MultipartTTL)
		if err != nil {
			return Created{}, err
		}
		parts[i] = PartURL{PartNumber: i + 1, Size: size, URL: url}
	}
	if err := s.store.PutUpload(ctx, u, now.Add(PendingLifetime)); err != nil {
		return Created{}, err
	}
	return Created{UploadID: u.UploadID, Method: "PUT", Headers: map[string]string{}, ExpiresAt: now.Add(MultipartTTL),
		PartSize: partSize, Parts: parts}, nil
}

// CompleteUpload assembles a multipart upload from the parts the caller
// stored. Only the uploader may; the parts must be all of them, in order,
// each with the ETag S3 answered its PUT. Completing again after success
// answers the same (the object is there). Cost: one GetItem-class read
// (BatchGetItem of one key) and one S3 request (two if already complete).
func (s *Service) CompleteUpload(ctx context.Context, p auth.Principal, uploadID string, parts []CompletedPart) (Completed, error) {
	uid, err := p.User()
	if err != nil {
		return Completed{}, err
	}
	us, err := s.store.GetUploads(ctx, []string{uploadID})
	if err != nil {
		return Completed{}, err
	}
	u, ok := us[uploadID]
	if !ok || u.OwnerID != uid {
		return Completed{}, fieldErr(apierror.UploadNotFound, "upload_id", "No upload of yours has id %q.", uploadID)
	}
	if u.MultipartID == "" {
		return Completed{}, fieldErr(apierror.ValidationFailed, "upload_id", "Upload %q is a single PUT: there is nothing to complete.", uploadID)
	}
	if err := checkParts(u.Size, s.cfg.PartSize, parts); err != nil {
		return Completed{}, err
	}
	err = s.objects.CompleteMultipart(ctx, u.Key, u.MultipartID, parts)
	switch {
	case errors.Is(err, ErrNoUpload):
		// Completed before (a retry), or aborted: the object says which.
		obj, herr := s.objects.Head(ctx, u.Key)
		if herr != nil {
			return Completed{}, herr
		}
		if obj == nil {
			return Completed{}, apierror.New(apierror.UploadExpired, "Upload %q was aborted; upload the file again.", uploadID)
		}
	case errors.Is(err, ErrBadParts):
		return Completed{}, fieldErr(apierror.UploadIncomplete, "parts", "A part is missing or its ETag is not the one S3 answered its PUT.")
	case err != nil:
		return Completed{}, err
	}
	return Completed{UploadID: uploadID, Size: u.Size}, nil
}

// urlTTL is how long u's upload URLs worked.
func (s *Service) urlTTL(u Upload) time.Duration {
	if u.MultipartID != "" {
		return MultipartTTL
	}
	return s.cfg.UploadTTL
}

// checkParts: every part of the plan, numbered 1..n in order, each with an ETag.
func checkParts(size, partSize int64, parts []CompletedPart) error {
	_, n := partPlan(size, partSize)
	if len(parts) != int(n) {
		return fieldErr(apierror.ValidationFailed, "parts", "The upload has %d parts; %d were given.", n, len(parts))
	}
	for i, pt := range parts {
		if pt.PartNumber != int32(i+1) {
			return fieldErr(apierror.ValidationFailed, fmt.Sprintf("parts[%d].part_number", i), "Parts must be listed in order, numbered from 1.")
		}
		if pt.ETag == "" || len(pt.ETag) > 128 {
			return fieldErr(apierror.ValidationFailed, fmt.Sprintf("parts[%d].etag", i), "etag must be the ETag header S3 answered the part's PUT (1-128 characters).")
		}
	}
	return nil
}
