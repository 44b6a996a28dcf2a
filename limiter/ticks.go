package limiter

import (
	"math"
	"time"
)

// Buckets keep times as ticks: int64 nanoseconds since 2000-01-01T00:00:00Z (the wall-clock
// reading of a time.Time, its monotonic reading ignored). Ticks make a bucket small (8 bytes
// instead of a 24-byte time.Time) and its arithmetic one subtraction. Times further than
// maxSpanSeconds from the epoch (years before 1855 or after 2145) saturate to the edge of the
// range: a limiter driven with them sees time stand still there, which can refuse calls but
// never admits more than the buckets allow, and never overflows.
const (
	epochUnix      = 946684800 // 2000-01-01T00:00:00Z
	maxSpanSeconds = 4_600_000_000
	maxTicks       = maxSpanSeconds * 1e9 // two ticks differ by at most 2·maxTicks < MaxInt64
)

// ticks converts t to ticks, saturating outside the range.
func ticks(t time.Time) int64 {
	s := t.Unix() - epochUnix
	switch {
	case s >= maxSpanSeconds:
		return maxTicks
	case s <= -maxSpanSeconds:
		return -maxTicks
	}
	return s*1e9 + int64(t.Nanosecond())
}

// seconds converts a tick difference to seconds.
func seconds(d int64) float64 { return float64(d) * 1e-9 }

// maxWaitTicks bounds every wait a bucket computes (about 73 years): far beyond any deadline,
// and small enough that adding it to a tick never overflows.
const maxWaitTicks = math.MaxInt64 / 4

// ticksFor returns the ticks it takes to refill tokens at rate (tokens per second), as
// x/time/rate converts tokens to a duration; maxWaitTicks when it would be longer than that (or
// the rate is not positive).
func ticksFor(tokens float64, rate float64) int64 {
	if tokens <= 0 {
		return 0
	}
	if !(rate > 0) {
		return maxWaitTicks
	}
	d := 1e9 * tokens / rate
	if d >= maxWaitTicks {
		return maxWaitTicks
	}
	return int64(d)
}

// duration converts a non-negative tick difference to a Duration.
func duration(d int64) time.Duration { return time.Duration(d) }
