package httpapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Deprecation announces that a route, a request-body field or a query
// parameter is going away (docs/versioning.md). Every response of a
// deprecated route, and every response to a request that uses a deprecated
// field or parameter, carries
//
//	Deprecation: @<unix seconds of Since>     (RFC 9745)
//	Sunset: <HTTP-date of Sunset>             (RFC 8594)
//	Link: <Successor>; rel="successor-version"
//
// so a client's HTTP layer can warn long before the sunset.
type Deprecation struct {
	Since  time.Time
	Sunset time.Time
	// Successor is what to use instead: a path ("/v1/...") or a URL.
	Successor string
	// Field is "" for the whole route, a top-level request-body field
	// name, or "?name" for a query parameter.
	Field string
}

// Deprecations lists what is deprecated, by route key ("METHOD
// /resource", as in template.yaml). docs/openapi.yaml marks exactly these
// `deprecated: true` (an operation, a request-body property, a parameter);
// TestSpecDeprecationsAnswerHeaders holds the two to each other. Nothing
// is deprecated in v1 yet; an entry looks like
//
//	"GET /v1/users/{user_id}/profile": {{Since: ..., Sunset: ..., Successor: "/v1/users/{user_id}"}},
var Deprecations = map[string][]Deprecation{}

// MinSunset is the shortest transition the compatibility promise allows
// between Since and Sunset (docs/versioning.md).
const MinSunset = 180 * 24 * time.Hour

// deprecationHeaders adds the headers of every deprecation of route key
// that this request triggers. Several at once: the earliest Since and
// Sunset, every successor.
func deprecationHeaders(list []Deprecation, req *Request, headers map[string]string) {
	if len(list) == 0 {
		return
	}
	var fields map[string]json.RawMessage
	if req != nil && len(req.body) > 0 {
		json.Unmarshal(req.body, &fields) // not an object: no field can match
	}
	var since, sunset time.Time
	var links []string
	for _, d := range list {
		switch {
		case d.Field == "":
		case strings.HasPrefix(d.Field, "?"):
			if req == nil {
				continue
			}
			if _, ok := req.Event.QueryStringParameters[d.Field[1:]]; !ok {
				continue
			}
		default:
			if _, ok := fields[d.Field]; !ok {
				continue
			}
		}
		if since.IsZero() || d.Since.Before(since) {
			since = d.Since
		}
		if sunset.IsZero() || d.Sunset.Before(sunset) {
			sunset = d.Sunset
		}
		links = append(links, "<"+d.Successor+`>; rel="successor-version"`)
	}
	if since.IsZero() {
		return
	}
	sort.Strings(links)
	headers["Deprecation"] = "@" + strconv.FormatInt(since.Unix(), 10)
	headers["Sunset"] = sunset.UTC().Format(http.TimeFormat)
	headers["Link"] = strings.Join(links, ", ")
}
