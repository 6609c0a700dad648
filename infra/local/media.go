package local

// Binary media types: which request bodies the REST gateway passes to
// Lambda base64-encoded, read from the template as API Gateway reads them.

import (
	"strings"
	"unicode/utf8"
)

// binary decides whether a body reaches the function base64-encoded: its
// Content-Type is one of the API's BinaryMediaTypes or, when the template
// lists none, is not textual (or the bytes are not UTF-8).
func (g *RESTGateway) binary(contentType string, body []byte) bool {
	mt := mediaType(contentType)
	if len(g.api.BinaryMediaTypes) > 0 {
		for _, b := range g.api.BinaryMediaTypes {
			if matchMedia(decodeMediaType(b), mt) {
				return true
			}
		}
		return false
	}
	if !utf8.Valid(body) {
		return true
	}
	if mt == "" || strings.HasPrefix(mt, "text/") {
		return false
	}
	for _, s := range []string{"json", "xml", "x-www-form-urlencoded", "javascript", "csv", "yaml"} {
		if strings.Contains(mt, s) {
			return false
		}
	}
	return true
}

// mediaType is a Content-Type's type/subtype, lower-cased, without
// parameters: API Gateway matches "text/csv; charset=utf-8" (or
// "multipart/form-data; boundary=...") against "text/csv" by the type
// alone, and does so even when the parameters are malformed, so this does
// not use mime.ParseMediaType, which would give up on those.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	if mt = strings.ToLower(strings.TrimSpace(mt)); mt == "" {
		// API Gateway's default for a request without a Content-Type.
		return "application/json"
	}
	return mt
}

// binaryMediaEscapes undoes the JSON Pointer escaping (RFC 6901) that
// API Gateway's binaryMediaTypes use, and SAM and CloudFormation pass on
// as written: "text~1csv" is text/csv, "*~1*" is */*.
var binaryMediaEscapes = strings.NewReplacer("~1", "/", "~0", "~")

func decodeMediaType(b string) string { return strings.ToLower(binaryMediaEscapes.Replace(b)) }

// matchMedia matches a media type against a binaryMediaTypes entry, where
// "*/*" is every type and "image/*" every image type.
func matchMedia(pattern, mt string) bool {
	if pattern == "*/*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(mt, prefix+"/")
	}
	return pattern == mt
}
