package middleware

import (
	"strconv"
	"strings"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkRequestHeader is the header the SDK's retry middleware sets on every attempt:
// "attempt=N; max=M[; ttl=...]" (aws-sdk-go-v2 aws/retry/middleware.go, setRetryMetricsHeader).
const sdkRequestHeader = "Amz-Sdk-Request"

// countAttempts decides, at a call's first attempt, who counts its attempts, and completes the
// attempt's amz-sdk-request header. tollgate's retryer reports no maximum to the SDK (it depends
// on the service), so the SDK writes "attempt=N" without "max=": tollgate then counts against
// the service's maximum and adds "max=M" to the header, as the SDK would have written it. A
// header that already has "max=" means a RetryMaxAttempts option wrapped the retryer: the SDK
// counts, and tollgate leaves the bound to it.
func countAttempts(cs *callState, req *smithyhttp.Request) {
	if req == nil || req.Request == nil {
		return
	}
	h := req.Header.Get(sdkRequestHeader)
	if h == "" {
		return
	}
	if strings.Contains(h, "max=") {
		if cs.attempts == 1 {
			cs.maxAttempts = 0
		}
		return
	}
	if cs.maxAttempts <= 0 {
		return
	}
	attempt, rest, _ := strings.Cut(h, ";")
	h = attempt + "; max=" + strconv.Itoa(cs.maxAttempts)
	if rest != "" {
		h += ";" + rest
	}
	req.Header.Set(sdkRequestHeader, h)
}
