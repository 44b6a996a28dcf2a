package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

// Virtual time is int64 nanoseconds from a run's epoch, which spans ±292 years. Runs are kept
// well inside that, so that no sum of a time and a wait can wrap around:
//
//   - MaxHorizon bounds the virtual time a run may reach: a scenario's duration plus
//     MaxCallDuration, a trace's span plus MaxCallDuration;
//   - every call ends within its MaxCallDuration (default DefaultMaxCallDuration) of virtual time:
//     a call still waiting then — for a limiter token, for a retry — times out, as if its deadline
//     had passed (a group's timeout, when shorter, is the deadline);
//   - a rule must refill one token within MaxCallDuration, or calls that wait for one could never
//     be served: rules are checked against it before a run, with the file, line and field of
//     the rate when they come from a file;
//   - and every sum of a time and a delay saturates (vadd) rather than wrapping.
const (
	// MaxHorizon is the most virtual time a run may span.
	MaxHorizon = 100 * 365 * 24 * time.Hour
	// DefaultMaxCallDuration is how long a call may last in virtual time when nothing says
	// otherwise (Scenario.MaxCallDuration, ReplayOptions.MaxCallDuration).
	DefaultMaxCallDuration = time.Hour
)

// vadd returns t + d for virtual times, saturating at math.MaxInt64 instead of wrapping (and at
// t for d < 0). Results past a run's horizon never reach the event queue: calls end at their
// deadline, which is at most MaxCallDuration after their start.
func vadd(t int64, d time.Duration) int64 {
	if d <= 0 {
		return t
	}
	if int64(d) > math.MaxInt64-t {
		return math.MaxInt64
	}
	return t + int64(d)
}

// maxCallDuration returns d, or DefaultMaxCallDuration for d <= 0.
func maxCallDuration(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultMaxCallDuration
	}
	return d
}

// RuleError is a rule that cannot work within a run: it refills a token more slowly than a
// call may wait. File and Line locate the field when the rules came from a file.
type RuleError struct {
	File  string
	Line  int
	Set   string // which rules: "server rules", "tollgate rules", "replay rules"
	Rule  string // the rule's name
	Field string // "rate"
	Msg   string
}

func (e *RuleError) Error() string {
	where := ""
	if e.File != "" {
		where = e.File
		if e.Line > 0 {
			where += fmt.Sprintf(":%d", e.Line)
		}
		where += ": "
	}
	return fmt.Sprintf("simulate: %s%s: rule %q: field %q: %s", where, e.Set, e.Rule, e.Field, e.Msg)
}

// checkRules reports the first rule that refills one charge (Cost tokens, 1 by default) more
// slowly than maxCall: a call that waits for it would be abandoned before it could be served.
// src, when not nil, gives the file and lines the rules came from; set names the rules in
// errors ("server rules").
func checkRules(rules limiter.Rules, src *rulesFile, maxCall time.Duration, set string) error {
	for _, r := range rules {
		cost := float64(max(r.Cost, 1))
		if !(r.Rate > 0) {
			continue // limiter's own validation reports these
		}
		refill := cost / r.Rate // seconds for one charge
		if refill <= maxCall.Seconds() {
			continue
		}
		e := &RuleError{Set: set, Rule: r.DisplayName(), Field: "rate",
			Msg: fmt.Sprintf("%g per second refills %g token(s) every %s, longer than the %s a call may last in the run (MaxCallDuration): "+
				"calls waiting for it could never be served", r.Rate, cost, humanSeconds(refill), humanSeconds(maxCall.Seconds()))}
		if line := src.line(e.Rule, "rate"); line > 0 {
			e.File, e.Line = src.path, line
		}
		return e
	}
	return nil
}

// humanSeconds prints s seconds as a duration, in days past two days and in years past two
// years.
func humanSeconds(s float64) string {
	const day, year = 24 * 3600, 365 * 24 * 3600
	switch {
	case s < 2*day:
		return time.Duration(s * float64(time.Second)).Round(time.Second).String()
	case s < 2*year:
		return fmt.Sprintf("%.3g days", s/day)
	}
	return fmt.Sprintf("%.3g years", s/year)
}
