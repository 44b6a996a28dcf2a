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
	// CapacityPerS is what the server buckets the workload sends to could accept per second of
	// the load window (their bursts and refill, with the scenario's capacity steps and fault
	// windows) before any S3 partition split; each Summary has its own, with the splits its
	// runs caused.
	CapacityPerS float64 `json:"capacity_per_s"`
	// Skipped counts trace records a replay could not use.
	Skipped    uint64           `json:"skipped_records,omitempty"`
	Strategies []StrategyReport `json:"strategies"`
}

// StrategyReport is one strategy's results, in total, per client group and per API.
type StrategyReport struct {
	Strategy string `json:"strategy"`
	// Oracle marks a strategy handed the server's true rules (see Oracle).
	Oracle bool `json:"oracle,omitempty"`
	Summary
	Groups []GroupReport `json:"groups"`
	// Operations are the strategy's results per API, over every group.
	Operations []OperationReport `json:"operations"`
	// Series is attempts, successes and throttles over time, summed over runs.
	Series SeriesReport `json:"series"`
	// Latency is the distribution of successful calls' latencies, summed over runs.
	Latency *Histogram `json:"-"`
}

// GroupReport is one client group's results under a strategy.
type GroupReport struct {
	Group string `json:"group"`
	Summary
	// Operations are the group's results per API.
	Operations []OperationReport `json:"operations"`
}

// OperationReport is one API's results: in a group, or over every group of a strategy. Its
// capacity is that of the server buckets the API's calls go to (a bucket shared with other
// APIs counts whole for each).
type OperationReport struct {
	// Name labels the row: "EC2 DescribeInstances", with the resource, the unfiltered EC2
	// variant and a Region other than us-east-1 when set.
	Name       string `json:"name"`
	Service    string `json:"service"`
	Operation  string `json:"operation"`
	Region     string `json:"region"`
	Resource   string `json:"resource,omitempty"`
	Unfiltered bool   `json:"unfiltered,omitempty"`
	Summary
	// Alone is the API's results in the companion run where it ran alone (Operation.Alone),
	// at the strategy's level only.
	Alone *Summary `json:"alone,omitempty"`
	// Series is the API's attempts, successes and throttles over time, summed over runs, at
	// the strategy's level only.
	Series *SeriesReport `json:"series,omitempty"`
	// Latency is the distribution of the API's successful calls' latencies, at the strategy's
	// level only.
	Latency *Histogram `json:"-"`
}

// Summary is the figures a report shows for a strategy or a group.
//
// Goodput is the calls that succeeded within the load window (the scenario's duration; for a
// replay, until the last call finished) per second of that window, so every strategy is
// measured over the same time. CapacityPerS is what the server buckets the calls go to could
// have accepted per second of the window (bursts, refill, capacity steps, fault windows, S3
// partitions split off during the runs; see capshare.go); CapacityShare is the goodput of the
// calls to APIs with a server limit divided by it (0 when no API has one). Amplification is
// attempts per request.
// Latencies are those of successful calls, from the call's start to its success, read from a
// fixed-bucket histogram (within 1.6%; Max exact). CompletionS is the mean time, over runs,
// until the last call finished.
type Summary struct {
	Requests       uint64 `json:"requests"`
	Attempts       uint64 `json:"attempts"`
	Successes      uint64 `json:"successes"`
	Throttled      uint64 `json:"throttled_attempts"`
	ServerErrors   uint64 `json:"server_errors"`
	GiveUps        uint64 `json:"give_ups"`
	LimiterRefused uint64 `json:"give_ups_limiter_refused"`
	BudgetRefused  uint64 `json:"give_ups_budget_refused"`
	TimedOut       uint64 `json:"give_ups_timed_out"`
	// TimedOutInFlight are the calls whose deadline passed while an attempt was in flight
	// (cancelled); TimedOut those whose deadline passed while they waited.
	TimedOutInFlight uint64  `json:"give_ups_deadline_in_flight"`
	Exhausted        uint64  `json:"give_ups_attempts_exhausted"`
	NonRetryable     uint64  `json:"give_ups_non_retryable"`
	LimiterWaits     uint64  `json:"limiter_waits"`
	LimiterWaitS     float64 `json:"limiter_wait_s"`
	GoodputPerS      float64 `json:"goodput_per_s"`
	CapacityPerS     float64 `json:"capacity_per_s"`
	CapacityShare    float64 `json:"capacity_share"`
	Amplification    float64 `json:"amplification"`
	LatencyP50Ms     float64 `json:"latency_p50_ms"`
	LatencyP90Ms     float64 `json:"latency_p90_ms"`
	LatencyP99Ms     float64 `json:"latency_p99_ms"`
	LatencyMaxMs     float64 `json:"latency_max_ms"`
	CompletionS      float64 `json:"completion_s"`
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
// load windows and elapsed times summed over runs, the number of runs, and the capacity of the
// server buckets the workload could use, summed over runs.
func summarize(c *Counters, lat *Histogram, window, elapsed time.Duration, runs int, capacity capTally) Summary {
	s := Summary{
		Requests: c.Requests, Attempts: c.Attempts, Successes: c.Successes, Throttled: c.Throttled,
		ServerErrors: c.ServerErrors, GiveUps: c.GiveUps, LimiterRefused: c.LimiterRefused,
		BudgetRefused: c.BudgetRefused, TimedOut: c.TimedOut, TimedOutInFlight: c.TimedOutInFlight, Exhausted: c.Exhausted,
		NonRetryable: c.NonRetryable, LimiterWaits: c.LimiterWaits, LimiterWaitS: round(c.LimiterWait.Seconds(), 3),
		LatencyP50Ms: ms(lat.Quantile(0.5)), LatencyP90Ms: ms(lat.Quantile(0.9)),
		LatencyP99Ms: ms(lat.Quantile(0.99)), LatencyMaxMs: ms(lat.Max()),
	}
	if c.Requests > 0 {
		s.Amplification = round(float64(c.Attempts)/float64(c.Requests), 4)
	}
	if secs := window.Seconds(); secs > 0 {
		s.GoodputPerS = round(float64(c.OnTime)/secs, 3)
		s.CapacityPerS = round(capacity.tokens/secs, 3)
		if capacity.tokens > 0 {
			s.CapacityShare = round(float64(capacity.onTime)/capacity.tokens, 4)
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
