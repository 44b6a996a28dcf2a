package load

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
)

// OpKey identifies an API as the simulator's reports do (simulate.OperationReport): a
// scenario's operations with the same key are one row.
type OpKey struct {
	Service    string `json:"service"`
	Operation  string `json:"operation"`
	Region     string `json:"region"`
	Resource   string `json:"resource,omitempty"`
	Unfiltered bool   `json:"unfiltered,omitempty"`
}

// Why a call of a scenario run ended without success (CallStats), as the simulator counts them.
const (
	EndLimiterRefused   = "limiter_refused"    // tollgate's limiter refused an attempt (client-side)
	EndRetryRefused     = "retry_refused"      // a retry budget or quota, or the deadline, refused a retry (client-side)
	EndDeadline         = "deadline"           // the deadline passed while the call waited (a backoff, a limiter wait, an adaptive sleep)
	EndDeadlineInFlight = "deadline_in_flight" // the deadline passed while an attempt was in flight, which it cancelled
	EndExhausted        = "attempts_exhausted" // the call made all its attempts
	EndNonRetryable     = "non_retryable"      // the last failure was not retryable
)

// endOf classifies how a call ended: "" for a success, else one of the End* reasons, and
// whether a retry quota or budget refused a retry (not the deadline). ctxErr is the call's
// context's error when it returned.
func endOf(err error, cs *callStats, ctxErr error) (end string, budget bool) {
	if err == nil {
		return "", false
	}
	var lr *limiter.RefusedError
	var rr *backoff.RetryRefusedError
	var qe ratelimit.QuotaExceededError
	var me *retry.MaxAttemptsError
	switch {
	case errors.As(err, &lr):
		return EndLimiterRefused, false
	case errors.As(err, &rr) && rr.ClientSide():
		return EndRetryRefused, rr.Reason == backoff.StopBudget
	case errors.As(err, &qe):
		return EndRetryRefused, true
	case errors.As(err, &me):
		return EndExhausted, false
	case errors.Is(ctxErr, context.DeadlineExceeded) && cs.canceled:
		return EndDeadlineInFlight, false
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return EndDeadline, false
	}
	return EndNonRetryable, false
}

// CallStats are the counts of a scenario run for an API, a group or the whole run. A call is
// one operation invocation (its retries included), an attempt one request sent.
type CallStats struct {
	Calls     int `json:"calls"`     // calls started
	Dropped   int `json:"dropped"`   // open-loop calls not started: MaxInFlight calls were in flight
	Succeeded int `json:"succeeded"` // calls that succeeded
	OnTime    int `json:"on_time"`   // of which within the load window (the scenario's duration)
	Attempts  int `json:"attempts"`
	Throttled int `json:"throttled"` // attempts the server throttled
	// Calls that failed, by why (the End* reasons).
	LimiterRefused   int `json:"limiter_refused"`
	RetryRefused     int `json:"retry_refused"`
	Deadline         int `json:"deadline"`
	DeadlineInFlight int `json:"deadline_in_flight"`
	Exhausted        int `json:"attempts_exhausted"`
	NonRetryable     int `json:"non_retryable"`
	// BudgetExhaustedS is when a retry quota or budget first refused a retry, in seconds from
	// the start (-1: never).
	BudgetExhaustedS float64 `json:"budget_exhausted_s"`
	// GoodputPerS is OnTime per second of the load window.
	GoodputPerS float64 `json:"goodput_per_s"`
	// Latencies in milliseconds: of the calls that succeeded, and of every call.
	SucceededP50Ms float64 `json:"succeeded_p50_ms"`
	SucceededP99Ms float64 `json:"succeeded_p99_ms"`
	AllP50Ms       float64 `json:"all_p50_ms"`
	AllP99Ms       float64 `json:"all_p99_ms"`
	// RTTP50Ms is the median round trip of the attempts that got an answer (network hops and
	// the server included, client waits not).
	RTTP50Ms float64 `json:"rtt_p50_ms"`

	// The distributions behind the figures.
	OKLatency, AllLatency, RTT simulate.Histogram `json:"-"`
}

// Failed returns the calls that did not succeed.
func (s *CallStats) Failed() int {
	return s.LimiterRefused + s.RetryRefused + s.Deadline + s.DeadlineInFlight + s.Exhausted + s.NonRetryable
}

// ClientSide returns the failed calls the client refused (tollgate's limiter, a retry budget or
// quota, a retry past the deadline).
func (s *CallStats) ClientSide() int { return s.LimiterRefused + s.RetryRefused }

func (s *CallStats) add(o *CallStats) {
	s.Calls += o.Calls
	s.Dropped += o.Dropped
	s.Succeeded += o.Succeeded
	s.OnTime += o.OnTime
	s.Attempts += o.Attempts
	s.Throttled += o.Throttled
	s.LimiterRefused += o.LimiterRefused
	s.RetryRefused += o.RetryRefused
	s.Deadline += o.Deadline
	s.DeadlineInFlight += o.DeadlineInFlight
	s.Exhausted += o.Exhausted
	s.NonRetryable += o.NonRetryable
	switch {
	case o.BudgetExhaustedS < 0:
	case s.BudgetExhaustedS < 0:
		s.BudgetExhaustedS = o.BudgetExhaustedS
	default:
		s.BudgetExhaustedS = min(s.BudgetExhaustedS, o.BudgetExhaustedS)
	}
	s.OKLatency.Merge(&o.OKLatency)
	s.AllLatency.Merge(&o.AllLatency)
	s.RTT.Merge(&o.RTT)
}

// finish computes the figures from the counts, for a load window of w.
func (s *CallStats) finish(w time.Duration) {
	if w > 0 {
		s.GoodputPerS = float64(s.OnTime) / w.Seconds()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	s.SucceededP50Ms, s.SucceededP99Ms = ms(s.OKLatency.Quantile(0.5)), ms(s.OKLatency.Quantile(0.99))
	s.AllP50Ms, s.AllP99Ms = ms(s.AllLatency.Quantile(0.5)), ms(s.AllLatency.Quantile(0.99))
	s.RTTP50Ms = ms(s.RTT.Quantile(0.5))
}

// scenarioRecorder aggregates a scenario run's calls per group and operation.
type scenarioRecorder struct {
	sc     *simulate.Scenario
	ops    [][]scenarioOp
	window time.Duration

	mu     sync.Mutex
	stats  [][]CallStats // per group, per operation of the group
	series Series
	lates  simulate.Histogram
}

// Series counts attempts, successful attempts and throttled attempts per second of a run, by
// when their answer came.
type Series struct {
	WidthS    float64  `json:"width_s"`
	Attempts  []uint64 `json:"attempts"`
	Successes []uint64 `json:"successes"`
	Throttled []uint64 `json:"throttled"`
}

func (s *Series) add(at time.Duration, ok, throttled bool) {
	i := max(int(at/time.Second), 0)
	for len(s.Attempts) <= i {
		s.Attempts, s.Successes, s.Throttled = append(s.Attempts, 0), append(s.Successes, 0), append(s.Throttled, 0)
	}
	s.Attempts[i]++
	if ok {
		s.Successes[i]++
	}
	if throttled {
		s.Throttled[i]++
	}
}

func newScenarioRecorder(sc *simulate.Scenario, ops [][]scenarioOp) *scenarioRecorder {
	r := &scenarioRecorder{sc: sc, ops: ops, window: sc.Duration, series: Series{WidthS: 1}}
	r.stats = make([][]CallStats, len(ops))
	for gi := range ops {
		r.stats[gi] = make([]CallStats, len(ops[gi]))
		for oi := range r.stats[gi] {
			r.stats[gi][oi].BudgetExhaustedS = -1
		}
	}
	return r
}

// record counts a call of group gi's operation oi that ran from start to end (offsets from the
// run's start) and ended with err; ctxErr is its context's error then.
func (r *scenarioRecorder) record(gi, oi int, cs *callStats, start, end time.Duration, err, ctxErr error) {
	why, budget := endOf(err, cs, ctxErr)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.stats[gi][oi]
	s.Calls++
	s.Attempts += cs.attempts
	s.Throttled += cs.throttled
	s.AllLatency.Add(end - start)
	for _, a := range cs.answers {
		s.RTT.Add(a.rtt)
		r.series.add(a.end, false, a.throttled)
	}
	switch why {
	case "":
		s.Succeeded++
		s.OKLatency.Add(end - start)
		if end < r.window {
			s.OnTime++
		}
		if n := len(cs.answers); n > 0 {
			r.series.Successes[max(int(cs.answers[n-1].end/time.Second), 0)]++
		}
	case EndLimiterRefused:
		s.LimiterRefused++
	case EndRetryRefused:
		s.RetryRefused++
	case EndDeadline:
		s.Deadline++
	case EndDeadlineInFlight:
		s.DeadlineInFlight++
	case EndExhausted:
		s.Exhausted++
	default:
		s.NonRetryable++
	}
	if budget && (s.BudgetExhaustedS < 0 || end.Seconds() < s.BudgetExhaustedS) {
		s.BudgetExhaustedS = end.Seconds()
	}
}

// drop counts an open-loop call of group gi's operation oi that could not start.
func (r *scenarioRecorder) drop(gi, oi int) {
	r.mu.Lock()
	r.stats[gi][oi].Dropped++
	r.mu.Unlock()
}

// late records how late an open-loop call started after its arrival time.
func (r *scenarioRecorder) late(d time.Duration) {
	r.mu.Lock()
	r.lates.Add(max(d, 0))
	r.mu.Unlock()
}

func (r *scenarioRecorder) totals() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p Progress
	for gi := range r.stats {
		for oi := range r.stats[gi] {
			s := &r.stats[gi][oi]
			p.Calls += s.Calls
			p.Failed += s.Failed()
			p.Attempts += s.Attempts
			p.Throttled += s.Throttled
		}
	}
	return p
}

// progress is recorder.progress for a scenario run.
func (r *scenarioRecorder) progress(f func(Progress), start time.Time) func() {
	return everySecond(f, start, r.totals)
}
