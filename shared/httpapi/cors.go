package httpapi

import "strings"

// CORS: a web app on another origin calls the REST API with bearer tokens
// (no cookies), so every response names the allowed origin and exposes
// the headers clients read. API Gateway answers the preflight (template
// Cors) and its own errors (GatewayResponses) with the same values;
// docs/versioning.md, "Browsers on another origin".

// ExposeHeaders are the response headers, beyond the CORS-safelisted
// ones, that clients read: template.yaml's GatewayResponses expose the
// same list (TestTemplateCORSMatches).
var ExposeHeaders = []string{
	"Location",            // 201 and 202: the created resource or job
	"Retry-After",         // 429, 503
	"Idempotent-Replayed", // a replayed Idempotency-Key
	"Deprecation",         // docs/versioning.md
	"Sunset",              // docs/versioning.md
	"Link",                // docs/versioning.md; pages of job errors
	"X-Request-Id",        // quoted when asking for help
	"X-Next-Cursor",       // pages of job errors (CSV)
	"WWW-Authenticate",    // 401
	"Content-Disposition", // job errors (CSV)
}

// DefaultAllowOrigin is the template parameter CorsAllowOrigin's default:
// any origin (tokens are bearer tokens, never cookies).
const DefaultAllowOrigin = "*"

// CORS configures the CORS headers of a Handler's responses.
type CORS struct {
	// AllowOrigin is "*" or one origin ("https://app.example.com");
	// empty means DefaultAllowOrigin.
	AllowOrigin string
}

// WithCORS sets the origin the handler's responses allow, and returns h.
func (h *Handler) WithCORS(c CORS) *Handler {
	if c.AllowOrigin == "" {
		c.AllowOrigin = DefaultAllowOrigin
	}
	h.cors = c
	return h
}

// headers adds the CORS headers to a response's headers.
func (c CORS) headers(h map[string]string) {
	h["Access-Control-Allow-Origin"] = c.AllowOrigin
	h["Access-Control-Expose-Headers"] = strings.Join(ExposeHeaders, ", ")
}
