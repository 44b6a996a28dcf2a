package middleware

import (
	"errors"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
)

// failureOf translates an error returned by the SDK's handler chain for one attempt into the
// decision core's vocabulary: the AWS error code (smithy.APIError), the HTTP status, the
// transport failure and the server's retry hints (x-amz-retry-after, Retry-After). It reads only
// types and headers, never messages.
//
// An attempt that got no response still carries one in the SDK: smithy-go's ClientHandler puts
// an empty placeholder (status 0) on the error of a request that could not be sent or whose
// response never came, so a status of 0 means "no response" and the error's transport failure
// decides. Every failure of the SDK's HTTP client comes wrapped in smithy-go's
// *RequestSendError; one that backoff.TransportOf cannot name (a TLS alert, a malformed
// response) is backoff.SendFailed — retried, as the SDK does. An attempt that did get a response
// may still have been cut off while its body was read (a reset, a body shorter than its
// Content-Length, a read timeout): that is recorded beside the status.
func failureOf(err error) backoff.Failure {
	var f backoff.Failure
	if err == nil {
		return f
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		f.Code = apiErr.ErrorCode()
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil && respErr.Response.Response != nil &&
		respErr.Response.StatusCode != 0 {
		f.Status = respErr.Response.StatusCode
		h := respErr.Response.Header
		f.Hints = backoff.Hints{AmzRetryAfter: h.Get("X-Amz-Retry-After"), RetryAfter: h.Get("Retry-After")}
		switch tr := backoff.ResponseTransportOf(err); tr {
		case backoff.ConnReset, backoff.UnexpectedEOF, backoff.TransportTimeout, backoff.Canceled:
			f.Transport = tr // the body was cut off, or the caller gave up while it was read
		}
		return f
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		f.Status = status.HTTPStatusCode() // 0 for the placeholder response
	}
	f.Transport = backoff.TransportOf(err)
	var sendErr *smithyhttp.RequestSendError
	if f.Transport == backoff.OtherTransportError && errors.As(err, &sendErr) {
		f.Transport = backoff.SendFailed
	}
	return f
}

// classOf classifies an attempt's error with c, honouring errors that say for themselves whether
// they may be retried: the SDK marks clock-skew failures RetryableError() = true (so its clock-skew
// correction keeps working), and tollgate's own client-side refusals are never retried. An HTTP
// 429 whose code the SDK deserialized to a modeled error type that c does not know is not
// retried, as in the SDK: the modeled error's meaning wins over the status.
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
	if f.Status == 429 && f.Code != "" && f.Transport == backoff.NoTransportError {
		if _, known := c.Code(f.Code); !known && isModeledAPIError(err) {
			return backoff.NonRetryable
		}
	}
	cl := c.Classify(f.Signal)
	if cl == backoff.Success {
		// An error with no code, no status and no transport failure: not something to retry.
		return backoff.NonRetryable
	}
	return cl
}

// isModeledAPIError reports whether err carries an API error the SDK deserialized to one of the
// service's modeled types (anything but *smithy.GenericAPIError).
func isModeledAPIError(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	_, generic := apiErr.(*smithy.GenericAPIError)
	return !generic
}

// clientSide is implemented by tollgate's client-side refusals (limiter and retry policy).
type clientSide interface{ ClientSide() bool }
