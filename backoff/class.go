package backoff

// Class is what an attempt's outcome means for retrying it.
//
// The string forms ("success", "throttled", "transient", "timeout", "non_retryable") are the
// values of the `outcome` label in tollgate's metrics and of the outcome field in traces.
type Class uint8

const (
	// Success: the attempt got a 2xx/3xx answer and no error.
	Success Class = iota
	// Throttle: AWS refused the attempt because of a rate limit (one of the throttle codes, or
	// HTTP 429 without a known code). Retried with the throttle base delay.
	Throttle
	// Transient: a short-lived failure (HTTP 500/502/503/504, RequestTimeout, connection reset,
	// connection refused, unexpected EOF). Retried with the transient base delay.
	Transient
	// Timeout: the attempt timed out on the client side before an answer came. Retried like a
	// transient failure.
	Timeout
	// NonRetryable: anything else, including context cancellation. Never retried.
	NonRetryable

	numClasses
)

var classNames = [numClasses]string{
	Success:      "success",
	Throttle:     "throttled",
	Transient:    "transient",
	Timeout:      "timeout",
	NonRetryable: "non_retryable",
}

// String returns the class's label value, e.g. "throttled".
func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "unknown"
}

// Retryable reports whether attempts of this class may be retried (Throttle, Transient, Timeout).
func (c Class) Retryable() bool {
	return c == Throttle || c == Transient || c == Timeout
}

// ParseClass is the inverse of Class.String. It reports false for an unknown name.
func ParseClass(s string) (Class, bool) {
	for i, n := range classNames {
		if n == s {
			return Class(i), true
		}
	}
	return 0, false
}

// Classes lists every class in order, for iteration (metrics pre-create one series per class).
func Classes() []Class {
	return []Class{Success, Throttle, Transient, Timeout, NonRetryable}
}
