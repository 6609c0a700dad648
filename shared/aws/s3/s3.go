// Package s3 is the attachments bucket (attachments.Objects): presigned
// uploads and downloads, HeadObject, the object's attached tag, deletes.
package s3

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/tokenim/tokenim/shared/attachments"
)

// Bucket is one bucket. Path-style addressing (UsePathStyle) is for
// emulators, whose endpoint has no per-bucket host names.
type Bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	name    string
}

var _ attachments.Objects = (*Bucket)(nil)

// New returns the bucket name over cfg. With an endpoint override
// (AWS_ENDPOINT_URL: the local stack) addressing is path-style, so
// presigned URLs point at the emulator itself.
func New(cfg aws.Config, name string) *Bucket {
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if cfg.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
	return &Bucket{client: c, presign: s3.NewPresignClient(c), name: name}
}

// pendingTag is the tag set an upload is stored with: the URL signs it,
// so the object cannot be stored without it.
var pendingTag = url.Values{attachments.TagKey: {attachments.TagPending}}.Encode()

// PresignPut signs a PUT of exactly size bytes of contentType, tagged
// pending: Content-Length, Content-Type and x-amz-tagging are signed
// headers, so S3 refuses a body of another size or type.
func (b *Bucket) PresignPut(ctx context.Context, key, contentType string, size int64, now time.Time, ttl time.Duration) (attachments.Presigned, error) {
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key, ContentType: &contentType,
		ContentLength: &size, Tagging: &pendingTag}, s3.WithPresignExpires(ttl), signAt(now))
	if err != nil {
		return attachments.Presigned{}, fmt.Errorf("s3: presign put: %w", err)
	}
	headers := map[string]string{}
	for k, vs := range req.SignedHeader {
		// The browser sets Host and Content-Length itself (and must not
		// be told to): they are still signed, so they must match.
		if k == "Host" || k == "Content-Length" || len(vs) == 0 {
			continue
		}
		headers[k] = vs[0]
	}
	return attachments.Presigned{URL: req.URL, Method: req.Method, Headers: headers}, nil
}

// signAt signs as of now, so the URL's expiry follows the service's clock.
func signAt(now time.Time) func(*s3.PresignOptions) {
	return func(o *s3.PresignOptions) {
		o.Presigner = clockPresigner{o.Presigner, now}
	}
}

// clockPresigner presigns at a fixed time.
type clockPresigner struct {
	next s3.HTTPPresignerV4
	now  time.Time
}

func (p clockPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	_ time.Time, opts ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.next.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.now, opts...)
}

// Head reads the object's size and type; nil when there is none.
func (b *Bucket) Head(ctx context.Context, key string) (*attachments.ObjectInfo, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		var nf *types.NotFound
		var api smithy.APIError
		if errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")) {
			return nil, nil
		}
		return nil, fmt.Errorf("s3: head object: %w", err)
	}
	return &attachments.ObjectInfo{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		LastModified: aws.ToTime(out.LastModified)}, nil
}

// CreateMultipart starts a multipart upload with the type and the pending
// tag set here (CreateMultipartUpload), so the parts' URLs cannot change them.
func (b *Bucket) CreateMultipart(ctx context.Context, key, contentType string) (string, error) {
	out, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b.name, Key: &key, ContentType: &contentType,
		Tagging: &pendingTag})
	if err != nil {
		return "", fmt.Errorf("s3: create multipart upload: %w", err)
	}
	return aws.ToString(out.UploadId), nil
}

// PresignPart signs an UploadPart of exactly size bytes (Content-Length
// is signed).
func (b *Bucket) PresignPart(ctx context.Context, key, id string, part int32, size int64, now time.Time, ttl time.Duration) (string, error) {
	req, err := b.presign.PresignUploadPart(ctx, &s3.UploadPartInput{Bucket: &b.name, Key: &key, UploadId: &id, PartNumber: &part,
		ContentLength: &size}, s3.WithPresignExpires(ttl), signAt(now))
	if err != nil {
		return "", fmt.Errorf("s3: presign part: %w", err)
	}
	return req.URL, nil
}

// CompleteMultipart assembles the parts (CompleteMultipartUpload).
func (b *Bucket) CompleteMultipart(ctx context.Context, key, id string, parts []attachments.CompletedPart) error {
	cps := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cps[i] = types.CompletedPart{PartNumber: aws.Int32(p.PartNumber), ETag: aws.String(p.ETag)}
	}
	_, err := b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b.name, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cps}})
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchUpload":
			return attachments.ErrNoUpload
		case "InvalidPart", "InvalidPartOrder", "EntityTooSmall":
			return attachments.ErrBadParts
		}
	}
	if err != nil {
		return fmt.Errorf("s3: complete multipart upload: %w", err)
	}
	return nil
}

// MarkAttached replaces the pending tag (PutObjectTagging).
func (b *Bucket) MarkAttached(ctx context.Context, key string) error {
	return b.tag(ctx, key, attachments.TagAttached)
}

// MarkPending puts the pending tag back (PutObjectTagging).
func (b *Bucket) MarkPending(ctx context.Context, key string) error {
	return b.tag(ctx, key, attachments.TagPending)
}

func (b *Bucket) tag(ctx context.Context, key, value string) error {
	_, err := b.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b.name, Key: &key,
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(attachments.TagKey), Value: aws.String(value)}}}})
	if err != nil {
		return fmt.Errorf("s3: tag object: %w", err)
	}
	return nil
}

// PresignGet signs a GET served as contentType, inline (an <img> shows
// it) under the file name name (RFC 2231 encoded when not ASCII).
func (b *Bucket) PresignGet(ctx context.Context, key, name, contentType string, now time.Time, ttl time.Duration) (string, error) {
	disp := mime.FormatMediaType("inline", map[string]string{"filename": name})
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key, ResponseContentType: &contentType,
		ResponseContentDisposition: &disp}, s3.WithPresignExpires(ttl), signAt(now))
	if err != nil {
		return "", fmt.Errorf("s3: presign get: %w", err)
	}
	return req.URL, nil
}

// Delete removes keys, 1,000 per DeleteObjects request.
func (b *Bucket) Delete(ctx context.Context, keys []string) error {
	for start := 0; start < len(keys); start += 1000 {
		var ids []types.ObjectIdentifier
		for _, k := range keys[start:min(start+1000, len(keys))] {
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b.name, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("s3: delete objects: %w", err)
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("s3: delete objects: %d failed, first %s", len(out.Errors), aws.ToString(out.Errors[0].Code))
		}
	}
	return nil
}
