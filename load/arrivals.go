package load

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// How rate mode spaces its calls (Config.Arrivals).
const (
	// ArrivalsEven starts a call every 1/rate seconds.
	ArrivalsEven = "even"
	// ArrivalsPoisson starts calls as a Poisson process at the rate (exponential gaps): the
	// simulator's open loops.
	ArrivalsPoisson = "poisson"
)

// ArrivalKinds lists the arrival processes, for flag help.
var ArrivalKinds = []string{ArrivalsEven, ArrivalsPoisson}

// maxSkipDraws bounds the arrivals a Poisson schedule draws one by one when it skips arrivals it
// cannot start (the in-flight cap is reached); beyond, it counts the expected number.
const maxSkipDraws = 100_000

// schedule is the offsets at which rate mode starts calls.
type schedule interface {
	// peek returns the offset of the next arrival.
	peek() time.Duration
	// take consumes the next arrival.
	take()
	// skip consumes every arrival before to and returns how many there were.
	skip(to time.Duration) int64
}

func newSchedule(kind string, rate float64, rng *rand.Rand) (schedule, error) {
	switch kind {
	case "", ArrivalsEven:
		return &evenSchedule{rate: rate}, nil
	case ArrivalsPoisson:
		p := &poissonSchedule{rate: rate, rng: rng}
		p.at = p.gap()
		return p, nil
	}
	return nil, fmt.Errorf("load: arrivals %q: want even or poisson", kind)
}

// evenSchedule: arrival i at i/rate.
type evenSchedule struct {
	rate   float64
	issued int64
}

func (s *evenSchedule) at(i int64) time.Duration {
	return time.Duration(min(float64(i)/s.rate*float64(time.Second), float64(1<<62)))
}

func (s *evenSchedule) peek() time.Duration { return s.at(s.issued) }
func (s *evenSchedule) take()               { s.issued++ }

func (s *evenSchedule) skip(to time.Duration) int64 {
	// Arrivals i with i/rate < to: i < to·rate.
	due := int64(min(to.Seconds()*s.rate, 1<<62))
	if s.at(due) < to {
		due++
	}
	n := max(due-s.issued, 0)
	s.issued += n
	return n
}

// poissonSchedule: exponential gaps of mean 1/rate.
type poissonSchedule struct {
	rate float64
	rng  *rand.Rand
	at   time.Duration
}

func (s *poissonSchedule) gap() time.Duration {
	return time.Duration(min(s.rng.ExpFloat64()/s.rate*float64(time.Second), float64(1<<62)))
}

func (s *poissonSchedule) peek() time.Duration { return s.at }
func (s *poissonSchedule) take()               { s.at += s.gap() }

func (s *poissonSchedule) skip(to time.Duration) int64 {
	var n int64
	for ; s.at < to && n < maxSkipDraws; n++ {
		s.take()
	}
	if s.at < to {
		// Too many to draw: count the expected number in the rest, and restart the process
		// there (it is memoryless).
		n += int64((to - s.at).Seconds() * s.rate)
		s.at = to + s.gap()
	}
	return n
}
