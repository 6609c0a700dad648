package local

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tokenim/tokenim/infra/local/runtime"
)

// lambdaAPIPrefix is where Lambda's Invoke API lives. The local stack
// serves it on the REST port, so
//
//	aws lambda invoke --endpoint-url http://127.0.0.1:3000 \
//	  --function-name CognitoSignupFunction --payload fileb://events/... out.json
//
// reaches any template function, as on AWS: this is how a Cognito
// PostConfirmation event (which has no other local source) is delivered.
const lambdaAPIPrefix = "/2015-03-31/functions"

// MaxInvokePayload is Lambda's synchronous request payload limit.
const MaxInvokePayload = 6 << 20

// lambdaAPI serves POST /2015-03-31/functions/{name}/invocations. name may
// be the logical id, the local physical name (<stack>-<LogicalId>) or its
// ARN. Invocation types RequestResponse (default), Event (202, runs in
// the background) and DryRun (204) behave as on Lambda, and so do errors:
// a function error is 200 with X-Amz-Function-Error, the service's own
// errors carry x-amzn-ErrorType.
type lambdaAPI struct {
	invokers  map[string]Invoker
	stackName string
	log       *slog.Logger
	// background bounds asynchronous (Event) invocations to the stack's life.
	background context.Context
}

func (a *lambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, lambdaAPIPrefix+"/")
	name, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || r.Method != http.MethodPost {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "Only Invoke (POST /2015-03-31/functions/{name}/invocations) is served locally.")
		return
	}
	inv, ok := a.invokers[a.logicalID(name)]
	if !ok {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxInvokePayload+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read the request body.")
		return
	}
	if len(payload) > MaxInvokePayload {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json.")
		return
	}
	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "", "RequestResponse":
	case "Event":
		go func() {
			if _, err := inv.Invoke(a.background, payload); err != nil {
				a.log.Warn("asynchronous invocation failed", "function", name, "err", err.Error())
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "Unknown X-Amz-Invocation-Type.")
		return
	}
	out, err := inv.Invoke(r.Context(), payload)
	var fe *runtime.Error
	switch {
	case errors.As(err, &fe) && fe.Kind == runtime.Throttled:
		lambdaError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
		return
	case errors.As(err, &fe):
		// A function error is a successful Invoke call carrying the error.
		out, _ = json.Marshal(fe)
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	case err != nil:
		lambdaError(w, http.StatusInternalServerError, "ServiceException", "The local runtime failed.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Write(out)
}

// logicalID maps the names Lambda accepts to the template's logical id.
func (a *lambdaAPI) logicalID(name string) string {
	if i := strings.LastIndex(name, ":function:"); i >= 0 { // an ARN, maybe with a qualifier
		name = name[i+len(":function:"):]
		name, _, _ = strings.Cut(name, ":")
	}
	return strings.TrimPrefix(name, a.stackName+"-")
}

func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
