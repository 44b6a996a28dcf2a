// Package vtime holds time arithmetic shared by the decision core and the simulator.
package vtime

import "time"

// Sub returns t.Sub(u). time.Time.Sub checks for overflow by adding the result back and
// comparing; when the two times are less than 285 years apart (always, in practice) the
// difference of their Unix seconds and nanoseconds cannot overflow and needs no check. When
// both carry a monotonic clock reading, Sub uses those: so does Sub.
func Sub(t, u time.Time) time.Duration {
	if t != t.Round(0) && u != u.Round(0) {
		return t.Sub(u) // both monotonic
	}
	if ds := t.Unix() - u.Unix(); ds > -maxSubSeconds && ds < maxSubSeconds {
		return time.Duration(ds*1e9 + int64(t.Nanosecond()-u.Nanosecond()))
	}
	return t.Sub(u)
}

// maxSubSeconds bounds the differences Sub computes itself: ds·1e9 ± 1e9 fits in an int64.
const maxSubSeconds = 9e9
