package local

import (
	"net/http"
	"strings"

	"github.com/tokenim/tokenim/infra/template"
)

// defaultStatus is API Gateway's status for each gateway response type,
// used when the template gives none.
var defaultStatus = map[string]int{
	"ACCESS_DENIED": 403, "API_CONFIGURATION_ERROR": 500, "AUTHORIZER_CONFIGURATION_ERROR": 500,
	"AUTHORIZER_FAILURE": 500, "BAD_REQUEST_PARAMETERS": 400, "BAD_REQUEST_BODY": 400,
	"EXPIRED_TOKEN": 403, "INTEGRATION_FAILURE": 504, "INTEGRATION_TIMEOUT": 504,
	"INVALID_API_KEY": 403, "INVALID_SIGNATURE": 403, "MISSING_AUTHENTICATION_TOKEN": 403,
	"QUOTA_EXCEEDED": 429, "REQUEST_TOO_LARGE": 413, "RESOURCE_NOT_FOUND": 404,
	"THROTTLED": 429, "UNAUTHORIZED": 401, "UNSUPPORTED_MEDIA_TYPE": 415,
}

// defaultMessage is API Gateway's own message per type ($context.error.message).
var defaultMessage = map[string]string{
	"ACCESS_DENIED": "User is not authorized to access this resource", "AUTHORIZER_FAILURE": "Unauthorized",
	"INTEGRATION_FAILURE": "Internal server error", "INTEGRATION_TIMEOUT": "Endpoint request timed out",
	"MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token", "REQUEST_TOO_LARGE": "Request Too Long",
	"UNAUTHORIZED": "Unauthorized", "THROTTLED": "Too Many Requests",
}

// gatewayResponses writes API Gateway's own responses as the template's
// GatewayResponses configure them (type, then DEFAULT_4XX/5XX, then AWS's
// defaults).
type gatewayResponses map[string]template.GatewayResponse

func (g gatewayResponses) write(w http.ResponseWriter, typ, requestID string) {
	status := defaultStatus[typ]
	if status == 0 {
		status = 500
	}
	gr, ok := g[typ]
	if !ok {
		if status < 500 {
			gr = g["DEFAULT_4XX"]
		} else {
			gr = g["DEFAULT_5XX"]
		}
	}
	if gr.StatusCode != 0 {
		status = gr.StatusCode
	}
	msg := defaultMessage[typ]
	if msg == "" {
		msg = http.StatusText(status)
	}
	body, ok := gr.Templates["application/json"]
	if !ok {
		body = `{"message":$context.error.messageString}`
	}
	body = strings.NewReplacer(
		"$context.requestId", requestID,
		"$context.error.messageString", `"`+msg+`"`,
		"$context.error.message", msg,
		"$context.error.responseType", typ,
	).Replace(body)
	h := w.Header()
	for k, v := range gr.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("x-amzn-ErrorType", errorType(typ))
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// errorType is the x-amzn-ErrorType API Gateway sends with its own errors.
func errorType(typ string) string {
	switch typ {
	case "UNAUTHORIZED":
		return "UnauthorizedException"
	case "ACCESS_DENIED":
		return "AccessDeniedException"
	case "MISSING_AUTHENTICATION_TOKEN":
		return "MissingAuthenticationTokenException"
	case "REQUEST_TOO_LARGE":
		return "RequestTooLargeException"
	case "THROTTLED":
		return "TooManyRequestsException"
	}
	return "InternalServerErrorException"
}
