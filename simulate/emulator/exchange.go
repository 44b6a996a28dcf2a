package emulator

import (
	"net/http"

	"github.com/tollgate/tollgate/simulate/server"
)

// service describes one emulated AWS service: its names and how its protocol writes errors.
type service struct {
	// id is the SDK service ID ("EC2"): the Service of limiter keys and fault windows, and the
	// aws_service metric label.
	id string
	// operations are the operations the emulator implements; metrics label every other
	// operation "unknown" so a client cannot grow the label set.
	operations map[string]bool
	// writeError writes err in the service's protocol.
	writeError func(x *exchange, err *apiError)
	// throttle and internal build the service's throttling and HTTP 500 errors.
	throttle, internal func(x *exchange) *apiError
	// s3IDs selects S3's request IDs (16 hex digits in x-amz-request-id, plus x-amz-id-2)
	// over the x-amzn-RequestId UUIDs of the other services.
	s3IDs bool
}

// apiError is an error response: status, code and message, plus what the metrics count it as.
type apiError struct {
	status  int
	code    string
	message string
	// throttled marks a throttling error (metrics result "throttled"; "failed" otherwise).
	throttled bool
	// header holds extra response headers.
	header map[string]string
	// fields holds extra top-level members of JSON error bodies (Lambda's Reason and Type,
	// DynamoDB's ThrottlingReasons).
	fields map[string]any
	// s3Extra holds extra elements of S3 error bodies (Key, BucketName).
	s3Extra []s3ErrorField
}

// exchange is one request being served.
type exchange struct {
	e        *Emulator
	w        http.ResponseWriter
	r        *http.Request
	svc      *service
	op       string // the operation name, as requested (may be unknown)
	region   string
	resource string // the bucket, table or function the request names, if any

	reqID  string
	result string // metrics result: accepted, throttled or failed
}

// requestID returns the request's ID, generating it (in the service's format) on first use.
func (x *exchange) requestID() string {
	if x.reqID == "" {
		if x.svc.s3IDs {
			x.reqID = x.e.s3RequestID()
		} else {
			x.reqID = x.e.uuid()
		}
	}
	return x.reqID
}

// admit asks the throttling model whether to serve req. On refusal it writes the service's
// throttling or internal error and returns false.
func (x *exchange) admit(req server.Request) bool {
	req.Region = x.region
	req.Service = x.svc.id
	req.Operation = x.op
	switch x.e.decide(req).Outcome {
	case server.Throttled:
		x.fail(x.svc.throttle(x))
		return false
	case server.Failed:
		x.fail(x.svc.internal(x))
		return false
	}
	return true
}

// fail writes err in the service's protocol; a throttling error carries the service's retry
// hint (Options.Hints), as the simulator's server model hands it to its clients.
func (x *exchange) fail(err *apiError) {
	if err.throttled {
		x.result = "throttled"
		if h := x.e.hints.Lookup(x.svc.id, x.op); h != nil {
			x.w.Header().Set(h.Header, h.Value(x.e.now()))
		}
	} else {
		x.result = "failed"
	}
	x.e.pause(x.r.Context())
	x.svc.writeError(x, err)
}

// reply writes a successful response: status, content type (if any) and body. Headers already
// set on x.w are kept.
func (x *exchange) reply(status int, contentType string, body []byte) {
	x.result = "accepted"
	x.e.pause(x.r.Context())
	h := x.w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	x.setRequestIDHeaders()
	write(x.w, x.r, status, body)
}

// setRequestIDHeaders sets the request-ID headers of the service's protocol.
func (x *exchange) setRequestIDHeaders() {
	h := x.w.Header()
	if x.svc.s3IDs {
		h.Set("x-amz-request-id", x.requestID())
		h.Set("x-amz-id-2", x.e.s3HostID(x.requestID()))
		return
	}
	h.Set("x-amzn-RequestId", x.requestID())
}

// write sends status and body; HEAD responses get no body.
func write(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if r.Method != http.MethodHead && len(body) > 0 {
		w.Header().Set("Content-Length", itoa(len(body)))
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// finish records the request in the metrics.
func (x *exchange) finish() {
	if x.svc == nil || x.result == "" {
		return
	}
	op := x.op
	if !x.svc.operations[op] {
		op = "unknown"
	}
	x.e.metrics.requests.WithLabelValues(x.svc.id, op, x.result).Inc()
}
