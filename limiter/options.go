package limiter

import (
	"fmt"
	"time"
)

// Mode says what [Limiter.Reserve] and [Limiter.Wait] do when a call has to wait for tokens.
type Mode uint8

const (
	// Enforce reserves the tokens and returns the delay to wait; it refuses (with a
	// *RefusedError) only when the wait would exceed MaxWait or the deadline.
	Enforce Mode = iota
	// FailFast never waits: a call that cannot be admitted at once is refused.
	FailFast
	// Shadow never delays nor refuses: it decides as Enforce would and reports the result on
	// the Reservation (WouldWait, WouldRefuse) and in the counters, so a rule set can be tried
	// on live traffic. Tokens are taken only when available, so shadow buckets never go into
	// debt.
	Shadow
)

var modeNames = [...]string{"enforce", "fail-fast", "shadow"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// DefaultIdleTTL is how long a partitioned bucket must stay unused (and full) before it may be
// evicted, unless WithIdleTTL says otherwise.
const DefaultIdleTTL = 5 * time.Minute

// Option configures a Limiter.
type Option func(*config)

// DefaultMaxKeys is the number of partitioned buckets (one per resource or prefix, and one per
// learned key) a limiter keeps at most, unless WithMaxKeys says otherwise: about 10 MB.
const DefaultMaxKeys = 100_000

type config struct {
	mode     Mode
	maxWait  time.Duration
	idleTTL  time.Duration
	maxKeys  int
	adaptive bool
	store    Store // WithStore: buckets shared with other processes (store.go)
}

// WithMode sets the mode (default Enforce).
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithMaxWait caps the delay Reserve may hand out in Enforce mode; a call that would wait longer
// is refused at once. Zero or negative means no cap (the caller's deadline still applies).
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = max(d, 0) } }

// WithIdleTTL sets how long a partitioned bucket must be unused, and full again, before it may
// be evicted (default DefaultIdleTTL; zero or negative means the default).
func WithIdleTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = DefaultIdleTTL
		}
		c.idleTTL = d
	}
}

// WithMaxKeys caps the number of live partitioned buckets (one per resource or prefix, and the
// learned buckets). When the cap is reached, full buckets that learned nothing are evicted at
// once (a new bucket would be the same); when none can be, a new key is charged to one of its
// rule's overflow lanes (64 buckets of the rule's shape per rule, a key's lane picked by its
// hash), and counted (RuleStats.Overflowed). Zero means DefaultMaxKeys; negative means no cap.
func WithMaxKeys(n int) Option {
	return func(c *config) {
		switch {
		case n == 0:
			c.maxKeys = DefaultMaxKeys
		case n < 0:
			c.maxKeys = 0
		default:
			c.maxKeys = n
		}
	}
}

// WithAdaptive turns adaptive rates on (the default) or off. Off, the limiter is static, as a
// server is: every bucket keeps its rule's rate and burst whatever the feedback (which is only
// counted), and calls no rule covers are not limited. The simulator's and the emulator's server
// models use WithAdaptive(false); clients should not.
func WithAdaptive(on bool) Option { return func(c *config) { c.adaptive = on } }
