package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics/internal/label"
)

// series are one (aws_service, operation) pair's children of every vector, resolved once.
// The series every API has — calls by result, attempts by outcome, the call and attempt
// histograms, in-flight calls — are created with the pair, at zero, so rates and ratios have
// data from the start; the others (throttles by code, retries, refusals, backoff and limiter
// histograms, limiter levels) appear with their first event, so an API that never waits or
// retries exports no empty histograms.
type series struct {
	pair label.Pair

	inflight        prometheus.Gauge
	calls           [4]prometheus.Counter                 // by resultIndex
	attempts        [len(outcomeNames)]prometheus.Counter // by backoff.Class
	otherOutcome    lazy[prometheus.Counter]
	callAttempts    prometheus.Observer
	callDuration    prometheus.Observer
	attemptDuration prometheus.Observer

	throttles      []lazy[prometheus.Counter] // by CodeSet index
	retries        [4]lazy[prometheus.Counter]
	retriesRefused [6]lazy[prometheus.Counter]
	limiterRefused [limiter.RefusedShared + 1]lazy[prometheus.Counter] // by limiterRefusalReasons index (the last: other)
	rateChanges    [3]lazy[prometheus.Counter]                         // by rateChangeReasons index (the last: other)
	backoffDelay   lazy[prometheus.Observer]
	limiterWait    lazy[prometheus.Observer]
	tokens         lazy[prometheus.Gauge]
	capacity       lazy[prometheus.Gauge]
	rate           lazy[prometheus.Gauge]
	rule           atomic.Pointer[ruleRate] // the rule whose rate the rate gauge shows
}

// ruleRate is a limiter rule's name and refill rate.
type ruleRate struct {
	name string
	rate float64
}

var outcomeNames = [...]string{
	backoff.Success:      backoff.Success.String(),
	backoff.Throttle:     backoff.Throttle.String(),
	backoff.Transient:    backoff.Transient.String(),
	backoff.Timeout:      backoff.Timeout.String(),
	backoff.NonRetryable: backoff.NonRetryable.String(),
}

func (c *Collector) newSeries(p label.Pair) *series {
	s := &series{pair: p, throttles: make([]lazy[prometheus.Counter], c.codes.Len())}
	s.inflight = c.inflight.WithLabelValues(p.Service, p.Operation)
	for i, r := range Results() {
		s.calls[i] = c.calls.WithLabelValues(p.Service, p.Operation, r)
	}
	for i, o := range outcomeNames {
		s.attempts[i] = c.attempts.WithLabelValues(p.Service, p.Operation, o)
	}
	s.callAttempts = c.callAttempts.WithLabelValues(p.Service, p.Operation)
	s.callDuration = c.callDuration.WithLabelValues(p.Service, p.Operation)
	s.attemptDuration = c.attemptDuration.WithLabelValues(p.Service, p.Operation)
	return s
}

// attempt returns s's attempts counter of outcome.
func (c *Collector) attempt(s *series, outcome backoff.Class) prometheus.Counter {
	if int(outcome) < len(s.attempts) {
		return s.attempts[outcome]
	}
	return s.otherOutcome.get(c.attempts, s.pair, Other)
}

// budgetSeries are one retry budget's gauges.
type budgetSeries struct {
	tokens, capacity prometheus.Gauge
}

func (c *Collector) newBudgetSeries(p label.Pair) *budgetSeries {
	return &budgetSeries{
		tokens:   c.budgetTokens.WithLabelValues(p.Service),
		capacity: c.budgetCapacity.WithLabelValues(p.Service),
	}
}

// lazy holds a series child created on first use. After that, get is one atomic load.
type lazy[T any] struct{ p atomic.Pointer[T] }

// vector is a CounterVec, GaugeVec or HistogramVec's child lookup.
type vector[T any] interface {
	WithLabelValues(lvs ...string) T
}

// get returns the child of v for the pair and the extra label values, creating it the first
// time. Concurrent first uses resolve to the same child (the vector deduplicates).
func (l *lazy[T]) get(v vector[T], p label.Pair, extra ...string) T {
	if t := l.p.Load(); t != nil {
		return *t
	}
	lvs := append([]string{p.Service, p.Operation}, extra...)
	return l.getFrom(func() T { return v.WithLabelValues(lvs...) })
}

func (l *lazy[T]) getFrom(create func() T) T {
	if t := l.p.Load(); t != nil {
		return *t
	}
	t := create()
	l.p.CompareAndSwap(nil, &t)
	return *l.p.Load()
}
