package middleware

import "fmt"

// BodyNotSeekableError reports that an SDK call failed in a way that could be retried, but its
// request body is a stream that cannot be rewound (not an io.Seeker), so the same bytes cannot
// be sent again. tollgate stops at once — no backoff is slept, no retry budget spent, no
// truncated or empty body is ever sent. Over plain HTTP the SDK refuses such bodies before the
// first attempt; over HTTPS with a trailing checksum it sends them once. Give the operation an
// io.ReadSeeker (bytes.Reader, strings.Reader, *os.File) to make it retryable. Err is the
// attempt's error.
type BodyNotSeekableError struct {
	Service   string
	Operation string
	Attempts  int
	Err       error
}

func (e *BodyNotSeekableError) Error() string {
	return fmt.Sprintf("tollgate: %s %s failed after %d attempt(s) and cannot be retried: its request body is not seekable, so it cannot be sent again (pass an io.ReadSeeker such as bytes.Reader or *os.File); this refusal is client-side, no retry was sent; last error: %v",
		e.Service, e.Operation, e.Attempts, e.Err)
}

// Unwrap returns the attempt's error.
func (e *BodyNotSeekableError) Unwrap() error { return e.Err }

// ClientSide always reports true: tollgate, not AWS, stopped the call.
func (e *BodyNotSeekableError) ClientSide() bool { return true }
