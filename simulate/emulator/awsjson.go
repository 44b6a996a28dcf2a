package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// maxJSONBytes bounds the body of awsJson requests (DynamoDB's 400 KB items fit many times over).
const maxJSONBytes = 16 << 20

// unknownJSONService answers X-Amz-Target values of services the emulator does not emulate.
var unknownJSONService = service{
	id:         "unknown",
	writeError: writeAWSJSONError("1.1", "", false),
	throttle:   func(*exchange) *apiError { return jsonThrottlingException() },
	internal:   func(*exchange) *apiError { return jsonInternalFailure() },
}

func errUnknownJSONOperation(target string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "UnknownOperationException",
		message: "The tollgate emulator does not implement " + truncate(target, 128)}
}

func jsonThrottlingException() *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded", throttled: true}
}

func jsonInternalFailure() *apiError {
	return &apiError{status: http.StatusInternalServerError, code: "InternalFailure",
		message: "The request processing has failed because of an unknown error, exception or failure."}
}

// writeAWSJSONError returns an error writer for awsJson version ("1.0" or "1.1"). typePrefix
// is prepended to the code in the body's __type (DynamoDB: "com.amazonaws.dynamodb.v20120810#").
// withCRC adds DynamoDB's x-amz-crc32 header.
//
// The code is sent both as X-Amzn-ErrorType (which current SDKs read first) and as the body's
// __type (which older SDKs let win), so every SDK decodes the same code.
func writeAWSJSONError(version, typePrefix string, withCRC bool) func(x *exchange, err *apiError) {
	contentType := "application/x-amz-json-" + version
	return func(x *exchange, err *apiError) {
		body := map[string]any{"__type": typePrefix + err.code, "message": err.message}
		for k, v := range err.fields {
			body[k] = v
		}
		h := x.w.Header()
		h.Set("X-Amzn-ErrorType", err.code)
		for k, v := range err.header {
			h.Set(k, v)
		}
		x.writeJSON(err.status, contentType, body, withCRC)
	}
}

// writeJSON marshals v and writes it with the request-ID header and, if withCRC, x-amz-crc32.
func (x *exchange) writeJSON(status int, contentType string, v any, withCRC bool) {
	body := marshalJSON(v)
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	if withCRC {
		h.Set("x-amz-crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
	x.setRequestIDHeaders()
	write(x.w, x.r, status, body)
}

// replyJSON writes a successful awsJson or restJson response.
func (x *exchange) replyJSON(contentType string, v any, withCRC bool) {
	x.result = "accepted"
	x.e.pause(x.r.Context())
	x.writeJSON(http.StatusOK, contentType, v, withCRC)
}

// marshalJSON encodes v without HTML escaping. The values marshalled here cannot fail.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("emulator: marshal response: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// readJSONBody decodes the request body into v. An empty body decodes as {}. Errors are
// SerializationException, the awsJson protocols' error for bodies they cannot read.
func readJSONBody(x *exchange, v any) *apiError {
	ct, _, _ := mime.ParseMediaType(x.r.Header.Get("Content-Type"))
	if ct != "" && ct != "application/x-amz-json-1.0" && ct != "application/x-amz-json-1.1" && ct != "application/json" {
		return &apiError{status: http.StatusBadRequest, code: "SerializationException",
			message: "Unsupported Content-Type " + truncate(ct, 64)}
	}
	data, err := io.ReadAll(http.MaxBytesReader(x.w, x.r.Body, maxJSONBytes))
	switch {
	case err == nil:
	case isTooLarge(err):
		// AWS's common error for a body over the service's limit
		// (https://docs.aws.amazon.com/general/latest/gr/api-retries.html lists the common errors).
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLargeException",
			message: "Request entity too large: the body exceeds " + itoa(maxJSONBytes) + " bytes"}
	case isTimeout(err):
		return &apiError{status: http.StatusRequestTimeout, code: "RequestTimeoutException",
			message: "The request timed out: the client stopped sending its body"}
	case errors.Is(err, errRequestMemory):
		return x.svc.internal(x)
	default:
		return &apiError{status: http.StatusBadRequest, code: "SerializationException",
			message: "Could not read the request body: " + err.Error()}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &apiError{status: http.StatusBadRequest, code: "SerializationException",
			message: "Start of structure or map found where not expected, or the body is not valid JSON: " + err.Error()}
	}
	return nil
}
