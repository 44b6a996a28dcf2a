package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/internal/redact"
	"github.com/tollgate/tollgate/limiter"
)

// RoundTripper applies a Tollgate's policies to raw HTTP requests to AWS: S3 presigned URLs (GET
// and PUT) and hand-signed API calls. Each attempt takes its token from the limiter bucket of the
// API IdentifyRequest finds; a failed attempt is classified from its status, its X-Amzn-ErrorType
// header or its XML/JSON error body (S3's <Error><Code>SlowDown</Code>), and retried with the
// policy's backoff, honouring x-amz-retry-after and Retry-After.
//
// It follows the http.RoundTripper contract: it never modifies the caller's request (each attempt
// sends a clone); a retry re-reads the body through req.GetBody, and a request whose body cannot
// be rewound (a body without GetBody) is sent once — when that attempt fails retryably, the
// caller gets a *BodyNotRewindableError with the failed response closed, never a retry with a
// truncated body. Non-2xx responses that are not retried are returned as responses, as from any
// transport; client-side refusals (limiter, budget, deadline) are returned as typed errors.
//
// No error it returns holds a credential: the values of signed query parameters
// (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, SigV2's Signature and
// AWSAccessKeyId) are replaced by "REDACTED" in every error, tollgate's own and the next
// transport's, and errors.As still finds the typed error inside. net/http's Client, though,
// wraps whatever a transport returns in a *url.Error holding the request's full URL: send
// presigned requests with Client (NewClient), or pass http.Client's errors through RedactError.
type RoundTripper struct {
	t        *Tollgate
	next     http.RoundTripper
	identify func(*http.Request) RequestInfo
}

// NewRoundTripper returns a RoundTripper over next (http.DefaultTransport when nil).
// identify, when not nil, replaces IdentifyRequest.
func (t *Tollgate) NewRoundTripper(next http.RoundTripper, identify func(*http.Request) RequestInfo) *RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if identify == nil {
		identify = func(r *http.Request) RequestInfo { return IdentifyRequest(r, t.builtin.scheme) }
	}
	return &RoundTripper{t: t, next: next, identify: identify}
}

// BodyNotRewindableError reports that a request failed in a way that could be retried, but its
// body could not be sent again because the request has no GetBody.
type BodyNotRewindableError struct {
	Method, URL string
	Status      int // status of the failed attempt, 0 for a transport failure
	Err         error
}

func (e *BodyNotRewindableError) Error() string {
	msg := fmt.Sprintf("tollgate: %s %s failed (status %d) and cannot be retried: its body cannot be rewound (set Request.GetBody, as http.NewRequest does for bytes, strings and bytes.Reader bodies); no retry was sent",
		e.Method, e.URL, e.Status)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the attempt's transport error, if any.
func (e *BodyNotRewindableError) Unwrap() error { return e.Err }

// ClientSide reports true: the refusal to retry is tollgate's.
func (e *BodyNotRewindableError) ClientSide() bool { return true }

// RoundTrip sends req with retries. Its errors are redacted (see RoundTripper).
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.roundTrip(req)
	return resp, redact.Error(err)
}

func (rt *RoundTripper) roundTrip(req *http.Request) (*http.Response, error) {
	t := rt.t
	ctx := req.Context()
	info := rt.identify(req)
	key := limiter.Key{Region: info.Region, Service: info.Service, Operation: info.Operation,
		Resource: info.Partition.Resource, Prefix: info.Partition.Prefix}
	now := t.clock()
	deadline, _ := ctx.Deadline()
	// The service's retry defaults, as the SDK's client for it has them (DynamoDB: 4 attempts,
	// 25 ms transient base).
	svc := t.servicePolicy(info.Service)
	call := svc.policy.Start(now, deadline)
	start := now
	t.emit(event.Event{Kind: event.CallStarted, Time: now, Service: key.Service, Operation: key.Operation, Region: key.Region})

	finish := func(outcome backoff.Class, attempts int, reason string) {
		if t.observer != nil {
			end := t.clock()
			t.emit(event.Event{Kind: event.CallFinished, Time: end, Service: key.Service, Operation: key.Operation,
				Region: key.Region, Outcome: outcome, Attempts: attempts, Duration: end.Sub(start), Reason: reason})
		}
	}

	bodyUsed := false
	for attempt := 1; ; attempt++ {
		out, err := rt.attemptRequest(req, attempt, bodyUsed)
		if err != nil {
			finish(backoff.NonRetryable, attempt-1, "")
			return nil, err
		}
		bodyUsed = req.Body != nil && req.Body != http.NoBody

		if t.limiter != nil {
			if err := t.admit(ctx, attemptID{key, key.Operation, attempt}, info.Units); err != nil {
				closeBody(out)
				var refused *limiter.RefusedError
				reason := ""
				if errors.As(err, &refused) {
					reason = refused.Reason.String()
				}
				finish(backoff.NonRetryable, attempt-1, reason)
				return nil, err
			}
		}

		sent := t.clock()
		resp, err := rt.next.RoundTrip(out)
		end := t.clock()

		f := backoff.Failure{Signal: backoff.Signal{Transport: backoff.TransportOf(err)}}
		if f.Transport == backoff.OtherTransportError {
			// A failure of the transport that TransportOf cannot name (a TLS alert, a malformed
			// response): the request was not answered. The SDK retries every failure of its HTTP
			// client (smithy-go's RequestSendError), and so does the SDK path of tollgate.
			f.Transport = backoff.SendFailed
		}
		if resp != nil {
			f.Status = resp.StatusCode
			if resp.StatusCode >= 300 {
				f.Code = responseErrorCode(resp)
			}
			f.Hints = backoff.Hints{AmzRetryAfter: resp.Header.Get("X-Amz-Retry-After"), RetryAfter: resp.Header.Get("Retry-After")}
		}
		class := t.classifier.Classify(f.Signal)
		if err == nil && resp.StatusCode < 300 {
			class = backoff.Success
		}
		if t.limiter != nil {
			t.feedback(end, attemptID{key, key.Operation, attempt}, class, f.Hints, end.Sub(sent))
		}
		t.emit(event.Event{Kind: event.AttemptFinished, Time: end, Service: key.Service, Operation: key.Operation,
			Region: key.Region, Attempt: attempt, Outcome: class, ErrorCode: f.Code, Status: f.Status, Duration: end.Sub(sent)})

		if class == backoff.Success {
			svc.policy.Succeeded(end, &call)
			finish(backoff.Success, attempt, "")
			return resp, nil
		}
		if !class.Retryable() {
			finish(class, attempt, "")
			return resp, err
		}
		if attempt >= svc.maxAttempts && svc.maxAttempts > 0 {
			finish(class, attempt, backoff.StopMaxAttempts.String())
			return resp, err
		}
		if bodyUsed && req.GetBody == nil {
			closeBody(resp)
			finish(class, attempt, "body_not_rewindable")
			return nil, &BodyNotRewindableError{Method: req.Method, URL: redactedURL(req), Status: f.Status, Err: err}
		}
		d := t.decideRetryWith(&svc.policy, end, &call, class, f.Hints, attemptID{key, key.Operation, attempt})
		if !d.Retry {
			finish(class, attempt, d.Stop.String())
			if d.Stop.ClientSide() {
				last := err
				if last == nil {
					last = fmt.Errorf("%s %s: HTTP %d %s", req.Method, redactedURL(req), f.Status, f.Code)
				}
				closeBody(resp)
				return nil, d.Err(last)
			}
			return resp, err
		}
		closeBody(resp)
		if err := sleepCtx(ctx, d.Delay); err != nil {
			finish(class, attempt, "canceled")
			return nil, err
		}
	}
}

// attemptRequest returns the request for one attempt: a clone of req (never req itself), with a
// fresh body from GetBody for every attempt after the first.
func (rt *RoundTripper) attemptRequest(req *http.Request, attempt int, bodyUsed bool) (*http.Request, error) {
	out := req.Clone(req.Context())
	if attempt == 1 || !bodyUsed {
		out.Body = req.Body
		return out, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("tollgate: %s %s: rewinding the body for attempt %d: %w", req.Method, redactedURL(req), attempt, err)
	}
	out.Body = body
	return out, nil
}

func closeBody(resp any) {
	switch r := resp.(type) {
	case *http.Response:
		if r != nil && r.Body != nil {
			io.Copy(io.Discard, io.LimitReader(r.Body, maxErrorBody))
			r.Body.Close()
		}
	case *http.Request:
		if r != nil && r.Body != nil {
			r.Body.Close()
		}
	}
}

// redactedURL is the request URL with the values of its signed query parameters (a presigned
// URL's signature, credential and session token) and its user information removed.
func redactedURL(req *http.Request) string { return redact.URL(req.URL) }
