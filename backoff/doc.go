// Package backoff decides whether and when a failed AWS call is retried.
//
// It is part of tollgate's decision core: it never sleeps, never reads the wall clock, never
// draws from a global random source, and does not import the AWS SDK. Every function that
// depends on time takes `now`; every random draw comes from an injected *rand.Rand
// (math/rand/v2), so a seed reproduces a sequence exactly. The middleware (real time) and the
// simulator (virtual time) run this same code.
//
// # Classes
//
// A Classifier turns what is known about a failed attempt — its AWS error code, HTTP status and
// transport failure (a Signal) — into a Class: Throttle, Transient, Timeout, NonRetryable (or
// Success). The 14 AWS throttle codes (RequestLimitExceeded, SlowDown, ThrottlingException, ...)
// and HTTP 429 are throttles; RequestTimeout(Exception), HTTP 500/502/503/504, connection resets
// and refusals, unexpected EOFs and any other failure to send or receive (SendFailed) are
// transient; client-side timeouts are Timeout, retried like transient failures. A host name
// that does not exist (NameNotFound) and a certificate that fails verification (BadCertificate)
// are not retried: the next attempt would meet the same answer. TransportOf names the transport
// failure of a Go error by its types (syscall errnos, *net.DNSError, x509 and tls verification
// errors, Timeout() methods), never by its message. The table lives in data/error_codes.csv with
// its source. Codes can be added or reclassified: LimitExceededException is a throttle by default,
// as in the SDK, but some services use it for "quota used up":
//
//	c := backoff.NewClassifier(backoff.WithCodes(backoff.NonRetryable, "LimitExceededException"))
//
// # Delays
//
// Backoff draws a delay from the ceiling v = min(cap, base·2^i), i being the 0-based retry
// index, with one of four Jitter kinds: FullJitter U[0,v) (default), EqualJitter v/2+U[0,v/2),
// DecorrelatedJitter U[base, min(cap, 3·prev)), and NoJitter (v, for comparisons). The base
// depends on the class: 1 s for throttles, 50 ms otherwise, cap 20 s — the SDK's current standard
// mode. Unlike the SDK's legacy mode, which returns exactly the cap from the fifth attempt on and
// so lines clients up, no jitter kind but NoJitter ever returns the cap unjittered.
//
// # Server hints
//
// `x-amz-retry-after` (milliseconds) and `Retry-After` (seconds or an HTTP-date) are parsed by
// ParseAmzRetryAfter and ParseRetryAfter; a hint raises the delay to at most backoff+5 s
// (ClampHint) and never lowers it. Malformed, negative and absurd hints are ignored.
//
// # Budgets
//
// A Budget keeps retries from multiplying load during an outage. TokenQuota is the AWS SDKs'
// retry quota (500 tokens, 5 per throttle retry, 14 per transient retry, +1 per first-attempt
// success, refund on a successful retry); RatioBudget is Finagle's (retries ≤ 20% of requests
// plus 10 per second over a 10 s window). A refusal reaches the caller as *RetryRefusedError,
// which says plainly that the decision was tollgate's, not AWS's, and wraps the last service
// error — never a message that reads as if AWS had said it.
//
// # Policy
//
// Policy combines all of the above with a maximum number of attempts (default 3), a maximum
// total delay and the call's deadline: it never schedules a retry that would start after the
// deadline, and says so at once.
package backoff
