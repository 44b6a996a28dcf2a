package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/simulate/server"
)

const (
	lambdaPathPrefix = "/2015-03-31/functions"
	// lambdaMaxPayload is Lambda's synchronous invocation payload limit.
	lambdaMaxPayload = 6 << 20
)

var lambdaService = service{
	id:         "Lambda",
	operations: map[string]bool{"Invoke": true, "GetFunction": true},
	writeError: writeRestJSONError,
	throttle:   lambdaThrottle,
	internal: func(*exchange) *apiError {
		return &apiError{status: http.StatusInternalServerError, code: "ServiceException",
			message: "An internal error has occurred", fields: map[string]any{"Type": "Service"}}
	},
}

// lambdaThrottle is TooManyRequestsException: HTTP 429 with a Reason (and the Retry-After hint of
// server.DefaultHints, which exchange.fail adds).
func lambdaThrottle(x *exchange) *apiError {
	reason := "CallerRateLimitExceeded"
	if x.op == "Invoke" {
		reason = "FunctionInvocationRateLimitExceeded"
	}
	return &apiError{
		status: http.StatusTooManyRequests, code: "TooManyRequestsException", message: "Rate Exceeded.",
		throttled: true,
		fields:    map[string]any{"Reason": reason, "Type": "User"},
	}
}

// writeRestJSONError writes a restJson1 error: the code in X-Amzn-ErrorType (Lambda's body has
// "Type", not "__type", so the header is what SDKs decode), the message and extra members in
// the body.
func writeRestJSONError(x *exchange, err *apiError) {
	body := map[string]any{"message": err.message}
	if _, ok := err.fields["Type"]; !ok {
		body["Type"] = "User"
	}
	for k, v := range err.fields {
		body[k] = v
	}
	h := x.w.Header()
	h.Set("X-Amzn-ErrorType", err.code)
	for k, v := range err.header {
		h.Set(k, v)
	}
	x.writeJSON(err.status, "application/json", body, false)
}

func lambdaError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, message: msg}
}

// serveLambda answers a restJson1 request to Lambda:
// GET /2015-03-31/functions/{name} (GetFunction) and
// POST /2015-03-31/functions/{name}/invocations (Invoke).
func (e *Emulator) serveLambda(x *exchange) {
	rest, ok := strings.CutPrefix(x.r.URL.Path, lambdaPathPrefix+"/")
	name, sub, _ := strings.Cut(rest, "/")
	switch {
	case ok && name != "" && sub == "" && x.r.Method == http.MethodGet:
		x.op = "GetFunction"
	case ok && name != "" && sub == "invocations" && x.r.Method == http.MethodPost:
		x.op = "Invoke"
	default:
		x.fail(lambdaError(http.StatusNotFound, "UnknownOperationException",
			"The tollgate emulator implements Invoke and GetFunction, not "+x.r.Method+" "+truncate(x.r.URL.Path, 128)))
		return
	}
	fn, ok := functionName(name)
	if !ok {
		x.fail(lambdaError(http.StatusBadRequest, "InvalidParameterValueException",
			"1 validation error detected: Value '"+truncate(name, 170)+"' at 'functionName' failed to satisfy constraint: "+
				"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"))
		return
	}
	x.resource = fn
	if x.op == "GetFunction" {
		e.lambdaGetFunction(x, fn)
	} else {
		e.lambdaInvoke(x, fn)
	}
}

// functionName extracts the function name from a name, partial ARN or ARN
// ("my-fn", "123456789012:function:my-fn", "arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod").
func functionName(s string) (string, bool) {
	if len(s) == 0 || len(s) > 170 {
		return "", false
	}
	parts := strings.Split(s, ":")
	if i := indexOf(parts, "function"); i >= 0 {
		parts = parts[i+1:]
	}
	if len(parts) == 0 || len(parts) > 2 {
		return "", false
	}
	name := parts[0]
	if len(name) == 0 || len(name) > 64 {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(isNameByte(c) || c == '-' || c == '.') {
			return "", false
		}
	}
	return name, true
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func (x *exchange) functionARN(name string) string {
	return "arn:aws:lambda:" + x.region + ":" + x.e.account + ":function:" + name
}

func (e *Emulator) lambdaGetFunction(x *exchange, fn string) {
	if !x.admit(server.Request{Resource: fn}) {
		return
	}
	sum := sha256.Sum256([]byte(fn))
	x.replyJSON("application/json", map[string]any{
		"Configuration": map[string]any{
			"FunctionName":     fn,
			"FunctionArn":      x.functionARN(fn),
			"Runtime":          "provided.al2023",
			"Role":             "arn:aws:iam::" + e.account + ":role/tollgate-emulator",
			"Handler":          "bootstrap",
			"CodeSize":         0,
			"Description":      "tollgate emulator function: Invoke echoes its payload",
			"Timeout":          3,
			"MemorySize":       128,
			"LastModified":     e.created.UTC().Format("2006-01-02T15:04:05.000-0700"),
			"CodeSha256":       base64.StdEncoding.EncodeToString(sum[:]),
			"Version":          "$LATEST",
			"State":            "Active",
			"LastUpdateStatus": "Successful",
			"PackageType":      "Zip",
			"Architectures":    []string{"x86_64"},
		},
		"Code": map[string]any{"RepositoryType": "S3", "Location": "https://tollgate-emulator.invalid/" + fn + ".zip"},
	}, false)
}

// lambdaInvoke "runs" the function: it echoes the payload. InvocationType Event answers 202 with
// no body and DryRun 204, as Lambda does.
func (e *Emulator) lambdaInvoke(x *exchange, fn string) {
	invocationType := x.r.Header.Get("X-Amz-Invocation-Type")
	switch invocationType {
	case "", "RequestResponse", "Event", "DryRun":
	default:
		x.fail(lambdaError(http.StatusBadRequest, "InvalidParameterValueException",
			"Unsupported invocation type "+truncate(invocationType, 32)))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(x.r.Body, lambdaMaxPayload+1))
	if errors.Is(err, errRequestMemory) {
		x.fail(x.svc.internal(x))
		return
	}
	if err != nil {
		x.fail(lambdaError(http.StatusBadRequest, "InvalidRequestContentException", "Could not read the request body: "+err.Error()))
		return
	}
	if len(payload) > lambdaMaxPayload {
		x.fail(lambdaError(http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than 6291456 bytes for the InvokeFunction operation"))
		return
	}
	if len(payload) > 0 && !json.Valid(payload) {
		x.fail(lambdaError(http.StatusBadRequest, "InvalidRequestContentException",
			"Could not parse request body into json: the payload is not valid JSON"))
		return
	}
	if !x.admit(server.Request{Resource: fn}) {
		return
	}
	h := x.w.Header()
	switch invocationType {
	case "Event":
		x.reply(http.StatusAccepted, "", nil)
		return
	case "DryRun":
		x.reply(http.StatusNoContent, "", nil)
		return
	}
	version := "$LATEST"
	if q := x.r.URL.Query().Get("Qualifier"); q != "" && isDigits(q) {
		version = q
	}
	h.Set("X-Amz-Executed-Version", version)
	if x.r.Header.Get("X-Amz-Log-Type") == "Tail" {
		id := x.requestID()
		log := "START RequestId: " + id + " Version: " + version + "\nEND RequestId: " + id +
			"\nREPORT RequestId: " + id + "\tDuration: 0.01 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB\n"
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(log)))
	}
	if len(payload) == 0 {
		payload = []byte("null")
	}
	x.reply(http.StatusOK, "application/json", payload)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
