package simulate

import (
	"math"
	"time"
)

// Comparison is the result of running a scenario (or replaying a trace) under several
// strategies: one StrategyReport each, in the order the strategies were given. Its JSON form
// (encoding/json) has a fixed field order and is byte-for-byte reproducible for a seed.
type Comparison struct {
	Scenario    string  `json:"scenario"`
	Description string  `json:"description,omitempty"`
	Seed        uint64  `json:"seed"`
	Runs        int     `json:"runs"`
	DurationS   float64 `json:"duration_s"`
	// CapacityPerS is the sum of the refill rates of the distinct server buckets the workload
	// touches (S3: each bucket's parent partition).
	CapacityPerS float64 `json:"capacity_per_s"`
	// Skipped counts trace records a replay could not use.
	Skipped    uint64           `json:"skipped_records,omitempty"`
	Strategies []StrategyReport `json:"strategies"`
}

// StrategyReport is one strategy's results, in total and per client group.
type StrategyReport struct {
	Strategy string `json:"strategy"`
	Summary
	Groups []GroupReport `json:"groups"`
	// Series is attempts, successes and throttles over time, summed over runs.
	Series SeriesReport `json:"series"`
	// Latency is the distribution of successful calls' latencies, summed over runs.
	Latency *Histogram `json:"-"`
}

// GroupReport is one client group's results under a strategy.
type GroupReport struct {
	Group string `json:"group"`
	Summary
}

// Summary is the figures a report shows for a strategy or a group.
//
// Goodput is the calls that succeeded within the load window (the scenario's duration; for a
// replay, until the last call finished) per second of that window, so every strategy is
// measured over the same time. CapacityShare divides it by what the server's buckets could have
// accepted over the window: Σ rate + Σ burst / window. Amplification is attempts per request.
// Latencies are those of successful calls, from the call's start to its success, read from a
// fixed-bucket histogram (within 1.6%; Max exact). CompletionS is the mean time, over runs,
// until the last call finished.
type Summary struct {
	Requests       uint64  `json:"requests"`
	Attempts       uint64  `json:"attempts"`
	Successes      uint64  `json:"successes"`
	Throttled      uint64  `json:"throttled_attempts"`
	ServerErrors   uint64  `json:"server_errors"`
	GiveUps        uint64  `json:"give_ups"`
	LimiterRefused uint64  `json:"give_ups_limiter_refused"`
	BudgetRefused  uint64  `json:"give_ups_budget_refused"`
	TimedOut       uint64  `json:"give_ups_timed_out"`
	Exhausted      uint64  `json:"give_ups_attempts_exhausted"`
	NonRetryable   uint64  `json:"give_ups_non_retryable"`
	LimiterWaits   uint64  `json:"limiter_waits"`
	LimiterWaitS   float64 `json:"limiter_wait_s"`
	GoodputPerS    float64 `json:"goodput_per_s"`
	CapacityShare  float64 `json:"capacity_share"`
	Amplification  float64 `json:"amplification"`
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP90Ms   float64 `json:"latency_p90_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LatencyMaxMs   float64 `json:"latency_max_ms"`
	CompletionS    float64 `json:"completion_s"`
}

// SeriesReport is a Series in report form.
type SeriesReport struct {
	WidthS    float64  `json:"width_s"`
	Attempts  []uint64 `json:"attempts"`
	Successes []uint64 `json:"successes"`
	Throttled []uint64 `json:"throttled"`
}

func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }

// summarize computes a Summary from counters summed over runs, the latency histogram, the
// total elapsed time over runs, the number of runs, and the server capacity (sustained rate
// and burst) the workload could use.
func summarize(c *Counters, lat *Histogram, window, elapsed time.Duration, runs int, capRate, capBurst float64) Summary {
	s := Summary{
		Requests: c.Requests, Attempts: c.Attempts, Successes: c.Successes, Throttled: c.Throttled,
		ServerErrors: c.ServerErrors, GiveUps: c.GiveUps, LimiterRefused: c.LimiterRefused,
		BudgetRefused: c.BudgetRefused, TimedOut: c.TimedOut, Exhausted: c.Exhausted,
		NonRetryable: c.NonRetryable, LimiterWaits: c.LimiterWaits, LimiterWaitS: round(c.LimiterWait.Seconds(), 3),
		LatencyP50Ms: ms(lat.Quantile(0.5)), LatencyP90Ms: ms(lat.Quantile(0.9)),
		LatencyP99Ms: ms(lat.Quantile(0.99)), LatencyMaxMs: ms(lat.Max()),
	}
	if c.Requests > 0 {
		s.Amplification = round(float64(c.Attempts)/float64(c.Requests), 4)
	}
	if secs := window.Seconds(); secs > 0 {
		s.GoodputPerS = round(float64(c.OnTime)/secs, 3)
		if capacity := capRate + capBurst/(secs/float64(max(runs, 1))); capacity > 0 {
			s.CapacityShare = round(float64(c.OnTime)/secs/capacity, 4)
		}
	}
	s.CompletionS = round(elapsed.Seconds()/float64(max(runs, 1)), 3)
	return s
}

func seriesReport(s *Series) SeriesReport {
	return SeriesReport{WidthS: s.Width.Seconds(), Attempts: nonNil(s.Attempts), Successes: nonNil(s.Successes), Throttled: nonNil(s.Throttled)}
}

func nonNil(v []uint64) []uint64 {
	if v == nil {
		return []uint64{}
	}
	return v
}
