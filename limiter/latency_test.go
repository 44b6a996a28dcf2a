package limiter

import (
	"errors"
	"testing"
	"time"
)

// TestDeadlineLeavesTheAttemptsLatency: once attempts of an API are known to take about 40 ms,
// a call whose turn would come less than the latency margin before its deadline is refused
// (sent, it would be cancelled in flight), while a call whose turn leaves that margin is
// admitted; before any latency is known, the deadline alone decides; a call needing no wait
// is never refused for the margin.
func TestDeadlineLeavesTheAttemptsLatency(t *testing.T) {
	for _, c := range []struct {
		name    string
		latency []time.Duration
	}{
		{"no latency known", nil},
		{"steady 40ms", []time.Duration{40 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}},
		{"varying", []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 30 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := New(oneRule(10, 1))
			k := keyX("Op")
			// RFC 6298 by hand: the margin the limiter must leave.
			var srtt, rttvar float64
			for i, d := range c.latency {
				r := d.Seconds()
				if i == 0 {
					srtt, rttvar = r, r/2
				} else {
					rttvar = 0.75*rttvar + 0.25*abs(srtt-r)
					srtt = 0.875*srtt + 0.125*r
				}
				l.Feedback(t0, k, Feedback{Latency: d})
			}
			margin := time.Duration((srtt + 4*rttvar) * 1e9)
			if got := l.route(k.Service, k.Operation, k.Region).latency.margin(); absDur(got-margin) > time.Microsecond {
				t.Fatalf("margin %v, want %v", got, margin)
			}
			// The only token goes at once, even with a deadline inside the margin.
			if _, err := l.Reserve(t0, k, 1, at(time.Millisecond)); err != nil {
				t.Fatalf("a call that needs no wait: %v", err)
			}
			// The next token comes at 100 ms: a deadline at 100 ms + margin admits it (a
			// microsecond more: the estimate is kept in float32)...
			margin += time.Microsecond
			r, err := l.Reserve(t0, k, 1, at(100*time.Millisecond+margin))
			if err != nil || r.Delay() != 100*time.Millisecond {
				t.Fatalf("deadline at turn + margin: delay %v, err %v; want admitted after 100ms", r.Delay(), err)
			}
			// ...and Confirm at its turn keeps it.
			if d, err := r.Confirm(at(100*time.Millisecond), at(100*time.Millisecond+margin)); err != nil || d != 0 {
				t.Fatalf("Confirm at the turn: %v, %v", d, err)
			}
			// The one after comes at 200 ms: a deadline a millisecond short of turn + margin
			// refuses it, as a deadline reason, when a margin is known.
			_, err = l.Reserve(t0, k, 1, at(200*time.Millisecond+margin-time.Millisecond))
			var re *RefusedError
			if !errors.As(err, &re) || re.Reason != RefusedDeadline {
				t.Fatalf("deadline inside the margin: err %v, want a deadline refusal", err)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
