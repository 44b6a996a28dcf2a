package calibrate

import (
	"math"
	"slices"

	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/simulate"
)

// figures are one side's figures for one row (total, group or API) of one run.
type figures struct {
	calls, attempts, throttled, failed, clientSide                                    float64
	limiterRefused, retryRefused, deadline, deadlineInFlight, exhausted, nonRetryable float64
	goodput, p50, p99                                                                 float64 // p50, p99: ms of successful calls
	succeeded                                                                         float64
	quotaOut                                                                          float64 // seconds; -1: never
}

func fromSummary(s *simulate.Summary, quotaOut float64) figures {
	return figures{
		calls: float64(s.Requests), attempts: float64(s.Attempts), throttled: float64(s.Throttled),
		failed: float64(s.GiveUps), clientSide: float64(s.LimiterRefused + s.BudgetRefused),
		limiterRefused: float64(s.LimiterRefused), retryRefused: float64(s.BudgetRefused), deadline: float64(s.TimedOut),
		deadlineInFlight: float64(s.TimedOutInFlight), exhausted: float64(s.Exhausted), nonRetryable: float64(s.NonRetryable),
		goodput: s.GoodputPerS, p50: s.LatencyP50Ms, p99: s.LatencyP99Ms, succeeded: float64(s.Successes), quotaOut: quotaOut,
	}
}

func fromStats(s *load.CallStats) figures {
	return figures{
		calls: float64(s.Calls), attempts: float64(s.Attempts), throttled: float64(s.Throttled),
		failed: float64(s.Failed()), clientSide: float64(s.ClientSide()),
		limiterRefused: float64(s.LimiterRefused), retryRefused: float64(s.RetryRefused), deadline: float64(s.Deadline),
		deadlineInFlight: float64(s.DeadlineInFlight), exhausted: float64(s.Exhausted), nonRetryable: float64(s.NonRetryable),
		goodput: s.GoodputPerS, p50: s.SucceededP50Ms, p99: s.SucceededP99Ms, succeeded: float64(s.Succeeded), quotaOut: s.BudgetExhaustedS,
	}
}

// A check is how a metric's agreement is judged: within Rel of the real value, relatively, or
// within Abs of it (Abs scaled by the real run's calls when PerCall), whichever is looser.
type check struct {
	rel, abs float64
	perCall  bool
	text     string
}

// The checks of the must-show: throttled share, attempts per call and failed calls
// within ±25% of the real run, p50 latency of successful calls within ±50% or 50 ms. Shares and
// counts near zero get an absolute floor, said in the text.
var (
	checkShare    = &check{rel: 0.25, abs: 0.005, text: "±25% or 0.5 points"}
	checkAttempts = &check{rel: 0.25, text: "±25%"}
	checkFailed   = &check{rel: 0.25, abs: 0.005, perCall: true, text: "±25% or 0.5% of calls"}
	checkP50      = &check{rel: 0.50, abs: 50, text: "±50% or 50 ms"}
)

// metricDef is one metric of the report: its name, unit, how to read it from figures, and its
// check (nil: reported, not judged).
type metricDef struct {
	name  string
	unit  string // "share", "ratio", "count", "ms", "per_s", "s"
	val   func(f *figures) float64
	check *check
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

var metricDefs = []metricDef{
	{"calls", "count", func(f *figures) float64 { return f.calls }, nil},
	{"throttled share", "share", func(f *figures) float64 { return ratio(f.throttled, f.attempts) }, checkShare},
	{"attempts per call", "ratio", func(f *figures) float64 { return ratio(f.attempts, f.calls) }, checkAttempts},
	{"calls failed", "count", func(f *figures) float64 { return f.failed }, checkFailed},
	{"  limiter refused", "count", func(f *figures) float64 { return f.limiterRefused }, nil},
	{"  retry refused", "count", func(f *figures) float64 { return f.retryRefused }, nil},
	{"  deadline waiting", "count", func(f *figures) float64 { return f.deadline }, nil},
	{"  deadline in flight", "count", func(f *figures) float64 { return f.deadlineInFlight }, nil},
	{"  attempts exhausted", "count", func(f *figures) float64 { return f.exhausted }, nil},
	{"  not retryable", "count", func(f *figures) float64 { return f.nonRetryable }, nil},
	{"client-side refusals", "count", func(f *figures) float64 { return f.clientSide }, nil},
	{"goodput", "per_s", func(f *figures) float64 { return f.goodput }, nil},
	{"p50 of successful calls", "ms", func(f *figures) float64 { return f.p50 }, checkP50},
	{"p99 of successful calls", "ms", func(f *figures) float64 { return f.p99 }, nil},
	{"retry quota exhausted at", "s", func(f *figures) float64 { return f.quotaOut }, nil},
}

// Metric is one metric of a row: its value in virtual time (the simulator) and in the real run,
// each the median over the seeds, the relative error, and the verdict of its check.
type Metric struct {
	Name string `json:"name"`
	// Unit: "share" (0–1), "ratio", "count", "ms", "per_s" or "s" (-1: never).
	Unit    string  `json:"unit"`
	Virtual float64 `json:"virtual"`
	Real    float64 `json:"real"`
	// Error is (virtual - real) / real; absent when real is 0 (or a time is never reached).
	Error *float64 `json:"error,omitempty"`
	// Check is the tolerance the metric is judged by, and Agrees the verdict; both absent for
	// metrics reported without a check.
	Check  string `json:"check,omitempty"`
	Agrees *bool  `json:"agrees,omitempty"`
	// VirtualBySeed and RealBySeed are each seed's values (Report.Seeds' order), of which
	// Virtual and Real are the medians.
	VirtualBySeed []float64 `json:"virtual_by_seed"`
	RealBySeed    []float64 `json:"real_by_seed"`
}

// median returns the median of xs (the mean of the middle two for an even count); for times,
// -1 (never) sorts after every time and a median that falls on it is -1.
func median(xs []float64, unit string) float64 {
	ys := slices.Clone(xs)
	key := func(x float64) float64 {
		if unit == "s" && x < 0 {
			return math.Inf(1)
		}
		return x
	}
	slices.SortFunc(ys, func(a, b float64) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	n := len(ys)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return ys[n/2]
	}
	a, b := ys[n/2-1], ys[n/2]
	if unit == "s" && (a < 0 || b < 0) {
		if a < 0 {
			return -1
		}
		return b
	}
	return (a + b) / 2
}

// metrics compares the per-seed figures of a row.
func metrics(virtual, real []figures) []Metric {
	var out []Metric
	calls := make([]float64, len(real))
	for i := range real {
		calls[i] = real[i].calls
	}
	realCalls := median(calls, "count")
	for _, d := range metricDefs {
		vs, rs := make([]float64, len(virtual)), make([]float64, len(real))
		for i := range virtual {
			vs[i] = d.val(&virtual[i])
		}
		for i := range real {
			rs[i] = d.val(&real[i])
		}
		m := Metric{Name: d.name, Unit: d.unit, Virtual: median(vs, d.unit), Real: median(rs, d.unit), VirtualBySeed: vs, RealBySeed: rs}
		never := d.unit == "s" && (m.Virtual < 0 || m.Real < 0)
		if m.Real != 0 && !never {
			e := (m.Virtual - m.Real) / math.Abs(m.Real)
			m.Error = &e
		}
		if c := d.check; c != nil {
			abs := c.abs
			if c.perCall {
				abs = max(c.abs*realCalls, 1)
			}
			diff := math.Abs(m.Virtual - m.Real)
			ok := diff <= abs || (m.Real != 0 && diff <= c.rel*math.Abs(m.Real))
			m.Check, m.Agrees = c.text, &ok
		}
		out = append(out, m)
	}
	return out
}
