package backoff

import (
	"net/http"
	"time"
)

// Server hints. AWS services may say how long to wait: `x-amz-retry-after` in integer
// milliseconds (the SDKs' "retry behaviour 2.1"), or the standard `Retry-After` in seconds or as
// an HTTP-date (Lambda's TooManyRequestsException carries `Retry-After: 1`).

// MaxHint is the largest hint believed. Anything longer is treated as garbage and ignored (the
// computed backoff applies), as are malformed and negative values: a bad header is never fatal.
const MaxHint = 24 * time.Hour

// DefaultHintMaxExtra is how far above the computed backoff a hint may push the delay.
const DefaultHintMaxExtra = 5 * time.Second

// ParseAmzRetryAfter parses an `x-amz-retry-after` value: a non-negative integer number of
// milliseconds, optionally surrounded by spaces. It reports false for anything else, including
// values above MaxHint.
func ParseAmzRetryAfter(v string) (time.Duration, bool) {
	n, ok := parseUint(trimSpace(v), int64(MaxHint/time.Millisecond))
	if !ok {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// ParseRetryAfter parses a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date
// from which now is subtracted (a date in the past means "now": 0). It reports false for
// malformed, negative, or absurd (above MaxHint) values.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = trimSpace(v)
	if n, ok := parseUint(v, int64(MaxHint/time.Second)); ok {
		return time.Duration(n) * time.Second, true
	}
	if len(v) < 20 || !isAlpha(v[0]) {
		return 0, false // not even the shape of an HTTP-date
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true
	}
	if d > MaxHint {
		return 0, false
	}
	return d, true
}

// Hints carries the raw server hint headers of a failed attempt. Empty strings mean absent.
type Hints struct {
	AmzRetryAfter string // x-amz-retry-after (milliseconds)
	RetryAfter    string // Retry-After (seconds or HTTP-date)
}

// Delay returns the hinted delay: `x-amz-retry-after` if it parses, else `Retry-After`, else false.
func (h Hints) Delay(now time.Time) (time.Duration, bool) {
	if h.AmzRetryAfter != "" {
		if d, ok := ParseAmzRetryAfter(h.AmzRetryAfter); ok {
			return d, true
		}
	}
	if h.RetryAfter != "" {
		return ParseRetryAfter(h.RetryAfter, now)
	}
	return 0, false
}

// ClampHint returns hint clamped to [backoff, backoff+maxExtra]: a server can ask for a longer
// wait than the jittered backoff (up to maxExtra more), never a shorter one. This is the SDKs'
// rule for `x-amz-retry-after` with maxExtra = 5 s.
func ClampHint(backoff, hint, maxExtra time.Duration) time.Duration {
	if hint < backoff {
		return backoff
	}
	if maxExtra < 0 {
		maxExtra = 0
	}
	if hint-backoff > maxExtra {
		return backoff + maxExtra
	}
	return hint
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseUint parses decimal digits only (no sign) and reports false above max or when empty.
func parseUint(s string, max int64) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
