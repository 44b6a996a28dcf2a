package middleware

import (
	"errors"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The SDK's clock-skew correction (aws-sdk-go-v2 v1.48 aws/retry/middleware.go, wrapAsClockSkew):
// an error with one of these codes is retryable when the clock the request was signed with and
// the server's clock (from the response's Date header) differ by more than the threshold.
var sdkClockSkewCodes = map[string]struct{}{
	"InvalidSignatureException": {},
	"SignatureDoesNotMatch":     {},
	"AuthFailure":               {},
	"RequestTimeTooSkewed":      {},
	"AccessDeniedException":     {},
}

const sdkSkewThreshold = 4 * time.Minute

// sdkWillCorrectSkew reports whether the SDK's retry middleware, which runs after the attempt
// middleware returns, will mark err as a retryable clock-skew error. The retry decision itself
// is made on the SDK's marked error, exactly; this estimate only lets the attempt's own
// outcome (the AttemptFinished event, the limiter's feedback) say the same. The SDK compares the
// skew it signed with to the skew the response's Date header shows; the signing skew is read
// back from the request's X-Amz-Date (whole seconds) against the wall clock at the attempt's
// start, so the estimate may differ from the SDK only within a second of the 4-minute threshold.
func sdkWillCorrectSkew(err error, req *smithyhttp.Request, md smithymiddleware.Metadata, start time.Time) bool {
	var coded interface{ ErrorCode() string }
	if err == nil || !errors.As(err, &coded) {
		return false
	}
	if _, ok := sdkClockSkewCodes[coded.ErrorCode()]; !ok {
		return false
	}
	serverSkew, ok := awsmiddleware.GetAttemptSkew(md)
	if !ok {
		return false
	}
	var signingSkew time.Duration
	if req != nil && req.Request != nil {
		if signed, err := time.Parse("20060102T150405Z", req.Header.Get("X-Amz-Date")); err == nil {
			signingSkew = signed.Sub(start.Truncate(time.Second))
		}
	}
	d := signingSkew - serverSkew
	return d > sdkSkewThreshold || d < -sdkSkewThreshold
}
