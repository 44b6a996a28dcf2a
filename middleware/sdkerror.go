package middleware

import (
	"errors"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
)

// failureOf translates an error returned by the SDK's handler chain for one attempt into the
// decision core's vocabulary: the AWS error code (smithy.APIError), the HTTP status
// (HTTPStatusCode()), the transport failure (backoff.TransportOf) and the server's retry hints
// (x-amz-retry-after, Retry-After). It reads only types and headers, never messages.
func failureOf(err error) backoff.Failure {
	var f backoff.Failure
	if err == nil {
		return f
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		f.Code = apiErr.ErrorCode()
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		f.Status = status.HTTPStatusCode()
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil && respErr.Response.Response != nil {
		h := respErr.Response.Header
		f.Hints = backoff.Hints{AmzRetryAfter: h.Get("X-Amz-Retry-After"), RetryAfter: h.Get("Retry-After")}
	} else {
		// No HTTP response: a transport failure (connection reset, refused, EOF, timeout) or a
		// cancelled context.
		f.Transport = backoff.TransportOf(err)
	}
	return f
}

// classOf classifies an attempt's error with c, honouring errors that say for themselves whether
// they may be retried: the SDK marks clock-skew failures RetryableError() = true (so its clock-skew
// correction keeps working), and tollgate's own client-side refusals are never retried.
func classOf(c *backoff.Classifier, err error, f backoff.Failure) backoff.Class {
	if err == nil {
		return backoff.Success
	}
	var refused clientSide
	if errors.As(err, &refused) && refused.ClientSide() {
		return backoff.NonRetryable
	}
	var limited *limiter.RefusedError
	if errors.As(err, &limited) {
		return backoff.NonRetryable
	}
	var canceled interface{ CanceledError() bool }
	if errors.As(err, &canceled) && canceled.CanceledError() {
		return backoff.NonRetryable
	}
	var re interface{ RetryableError() bool }
	if errors.As(err, &re) {
		if re.RetryableError() {
			cl := c.Classify(f.Signal)
			if cl.Retryable() {
				return cl
			}
			return backoff.Transient
		}
		return backoff.NonRetryable
	}
	cl := c.Classify(f.Signal)
	if cl == backoff.Success {
		// An error with no code, no status and no transport failure: not something to retry.
		return backoff.NonRetryable
	}
	return cl
}

// clientSide is implemented by tollgate's client-side refusals (limiter and retry policy).
type clientSide interface{ ClientSide() bool }
