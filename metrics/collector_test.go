package metrics_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// throttledCall is the event sequence of one EC2 DescribeInstances call as the middleware emits
// it: waited for its token, throttled, backed off, waited again, succeeded.
func throttledCall() []event.Event {
	api := func(k event.Kind) event.Event {
		return event.Event{Kind: k, Time: t0, Service: "EC2", Operation: "DescribeInstances", Region: "us-east-1"}
	}
	var es []event.Event
	add := func(e event.Event, f func(*event.Event)) { f(&e); es = append(es, e) }
	add(api(event.CallStarted), func(*event.Event) {})
	add(api(event.LimiterWaited), func(e *event.Event) {
		e.Attempt, e.Duration, e.Rule, e.Value, e.Capacity = 1, 30*time.Millisecond, "ec2-non-mutating", 41, 100
	})
	add(api(event.AttemptFinished), func(e *event.Event) {
		e.Attempt, e.Outcome, e.ErrorCode, e.Status, e.Duration = 1, backoff.Throttle, "RequestLimitExceeded", 503, 20*time.Millisecond
	})
	add(api(event.BudgetLevel), func(e *event.Event) { e.Budget, e.Value, e.Capacity = "aws-retry-quota", 495, 500 })
	add(api(event.BackoffScheduled), func(e *event.Event) {
		e.Attempt, e.Outcome, e.Duration = 1, backoff.Throttle, 700*time.Millisecond
	})
	add(api(event.LimiterWaited), func(e *event.Event) {
		e.Attempt, e.Duration, e.Rule, e.Value, e.Capacity = 2, 0, "ec2-non-mutating", 40, 100
	})
	add(api(event.AttemptFinished), func(e *event.Event) {
		e.Attempt, e.Outcome, e.Status, e.Duration = 2, backoff.Success, 200, 10*time.Millisecond
	})
	add(api(event.CallFinished), func(e *event.Event) {
		e.Outcome, e.Attempts, e.Duration = backoff.Success, 2, 760*time.Millisecond
	})
	return es
}

// refusedCall is an S3 GetObject call the limiter refused before sending anything.
func refusedCall() []event.Event {
	api := event.Event{Time: t0, Service: "S3", Operation: "GetObject", Region: "us-east-1"}
	start, refused, finished := api, api, api
	start.Kind = event.CallStarted
	refused.Kind, refused.Attempt, refused.Reason, refused.Rule, refused.Duration = event.LimiterRefused, 1, "max-wait", "s3-read", 2*time.Second
	finished.Kind, finished.Outcome, finished.Attempts, finished.Reason = event.CallFinished, backoff.NonRetryable, 1, "max-wait"
	return []event.Event{start, refused, finished}
}

func observeAll(c *metrics.Collector, es []event.Event) {
	for _, e := range es {
		c.Observe(e)
	}
}

func newRegistered(t testing.TB, opts metrics.Options) (*prometheus.Registry, *metrics.Collector) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c, err := metrics.Register(reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return reg, c
}

func TestEventsBecomeSeries(t *testing.T) {
	reg, c := newRegistered(t, metrics.Options{})
	observeAll(c, throttledCall())
	observeAll(c, refusedCall())

	ec2 := `aws_service="EC2",operation="DescribeInstances"`
	s3 := `aws_service="S3",operation="GetObject"`
	want := map[string]float64{
		`tollgate_calls_total{` + ec2 + `,result="success_with_retry"}`:           1,
		`tollgate_calls_total{` + ec2 + `,result="success_without_retry"}`:        0,
		`tollgate_calls_total{` + s3 + `,result="failure_without_retry"}`:         1,
		`tollgate_attempts_total{` + ec2 + `,outcome="throttled"}`:                1,
		`tollgate_attempts_total{` + ec2 + `,outcome="success"}`:                  1,
		`tollgate_attempts_total{` + s3 + `,outcome="success"}`:                   0,
		`tollgate_throttles_total{` + ec2 + `,error_code="RequestLimitExceeded"}`: 1,
		`tollgate_retries_total{` + ec2 + `,reason="throttled"}`:                  1,
		`tollgate_limiter_refusals_total{` + s3 + `,reason="max-wait"}`:           1,
		`tollgate_limiter_tokens_available{` + ec2 + `}`:                          40,
		`tollgate_limiter_tokens_capacity{` + ec2 + `}`:                           100,
		`tollgate_limiter_refill_rate{` + ec2 + `}`:                               20, // ec2-non-mutating in limiter.DefaultRules
		`tollgate_inflight_calls{` + ec2 + `}`:                                    0,
		`tollgate_retry_budget_tokens_available{budget="aws-retry-quota"}`:        495,
		`tollgate_retry_budget_tokens_capacity{budget="aws-retry-quota"}`:         500,
		`tollgate_call_attempts_sum{` + ec2 + `}`:                                 2,
		`tollgate_call_attempts_bucket{` + ec2 + `,le="1"}`:                       0,
		`tollgate_call_attempts_bucket{` + ec2 + `,le="2"}`:                       1,
		`tollgate_backoff_delay_seconds_sum{` + ec2 + `}`:                         0.7,
		`tollgate_backoff_delay_seconds_bucket{` + ec2 + `,le="0.5"}`:             0,
		`tollgate_backoff_delay_seconds_bucket{` + ec2 + `,le="1"}`:               1,
		`tollgate_limiter_wait_seconds_count{` + ec2 + `}`:                        2,
		`tollgate_limiter_wait_seconds_bucket{` + ec2 + `,le="0.001"}`:            1,
		`tollgate_call_duration_seconds_sum{` + ec2 + `}`:                         0.76,
		`tollgate_attempt_duration_seconds_count{` + ec2 + `}`:                    2,
	}
	got := samples(t, reg)
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("no series %s", k)
		} else if math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	// The S3 call never reached the limiter's bucket or retried: no empty histograms for it.
	for k := range got {
		for _, absent := range []string{"tollgate_backoff_delay_seconds", "tollgate_limiter_wait_seconds", "tollgate_retries_total", "tollgate_throttles_total"} {
			if strings.HasPrefix(k, absent) && strings.Contains(k, s3) {
				t.Errorf("unexpected series %s", k)
			}
		}
	}
	if v, ok := got[`tollgate_build_info{goversion="`+runtimeVersion()+`",version="devel"}`]; !ok || v != 1 {
		t.Errorf("build info missing or not 1; series: %v", keysWithPrefix(got, "tollgate_build_info"))
	}
}

func TestGatherAndLintIsClean(t *testing.T) {
	reg, c := newRegistered(t, metrics.Options{NativeHistograms: true})
	observeAll(c, throttledCall())
	observeAll(c, refusedCall())
	c.Observe(event.Event{Kind: event.RetryRefused, Service: "DynamoDB", Operation: "GetItem", Outcome: backoff.Throttle, Reason: "budget"})
	c.Observe(event.Event{Kind: event.RateChanged, Service: "DynamoDB", Operation: "GetItem", Rule: "adaptive", Reason: "cut", Value: 12.5, Capacity: 25})
	c.Observe(event.Event{Kind: event.LimiterTokens, Service: "DynamoDB", Operation: "GetItem", Rule: "dynamodb-read", Value: 3, Capacity: 25})
	c.Observe(event.Event{Kind: event.LeaseRenewed, Service: "EC2", Operation: "DescribeInstances", Value: 12.5, Capacity: 62.5, Duration: time.Millisecond, Reason: "state_lost"})
	c.Observe(event.Event{Kind: event.StoreFallback, Service: "EC2", Operation: "DescribeInstances", Reason: "timeout", Value: 5})
	c.Observe(event.Event{Kind: event.StoreRecovered, Service: "EC2", Operation: "DescribeInstances", Value: 42, Duration: time.Second})

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	// Project rule: tollgate's series carry only these labels.
	allowed := map[string]bool{"aws_service": true, "operation": true, "result": true, "outcome": true, "error_code": true,
		"reason": true, "budget": true, "le": true, "version": true, "goversion": true}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	linter := promlint.NewWithMetricFamilies(mfs)
	linter.AddCustomValidations(func(mf *dto.MetricFamily) []error {
		var errs []error
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowed[lp.GetName()] {
					errs = append(errs, fmt.Errorf("label %q is not one of tollgate's labels", lp.GetName()))
				}
			}
		}
		return errs
	})
	problems, err = linter.Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("project lint: %s: %s", p.Metric, p.Text)
	}
	if len(mfs) < 18 {
		t.Errorf("%d metric families, want all 19 exported after every event kind", len(mfs))
	}
}

func TestRegisterSharesOneCollectorPerRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := metrics.Register(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := metrics.Register(reg, metrics.Options{MaxPairs: 5})
	if err != nil {
		t.Fatalf("second Register on the same registry: %v", err)
	}
	if a != b {
		t.Fatal("second Register returned a new Collector; want the registered one")
	}
	// Through a wrapping registerer (with a constant label) too.
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"app": "x"}, prometheus.NewRegistry())
	w1, err := metrics.Register(wrapped, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := metrics.Register(wrapped, metrics.Options{})
	if err != nil || w1 != w2 {
		t.Fatalf("Register twice through a wrapping registerer: %v, same=%v", err, w1 == w2)
	}
	// Events observed through either handle land in the same series.
	observeAll(a, refusedCall())
	observeAll(b, refusedCall())
	if got := samples(t, reg)[`tollgate_calls_total{aws_service="S3",operation="GetObject",result="failure_without_retry"}`]; got != 2 {
		t.Errorf("calls = %v, want 2", got)
	}

	// A foreign collector holding one of tollgate's names with other labels is a clear error.
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_calls_total", Help: "x"}, []string{"service"}))
	if _, err := metrics.Register(clash, metrics.Options{}); err == nil || !strings.HasPrefix(err.Error(), "metrics: ") {
		t.Errorf("Register over a clashing collector: err = %v, want a metrics: error", err)
	}
}

func TestLabelValuesAreBounded(t *testing.T) {
	reg, c := newRegistered(t, metrics.Options{MaxPairs: 3})
	ops := []string{"GetObject", "PutObject", "HeadObject", "DeleteObject", "ListObjectsV2", "CopyObject"}
	for _, op := range ops {
		c.Observe(event.Event{Kind: event.AttemptFinished, Service: "S3", Operation: op, Outcome: backoff.Throttle, ErrorCode: "SlowDown"})
	}
	weird := []event.Event{
		{Kind: event.AttemptFinished, Service: "EC2", Operation: "DescribeInstances:unfiltered", Outcome: backoff.Throttle, ErrorCode: "Client.RequestLimitExceeded"},
		{Kind: event.AttemptFinished, Service: "EC2", Operation: "DescribeInstances", Outcome: backoff.Throttle, ErrorCode: "my-bucket-name/key"},
	}
	observeAll(c, weird)
	got := samples(t, reg)
	pairs := map[string]bool{}
	for k := range got {
		if i := strings.Index(k, "{"); i >= 0 && strings.HasPrefix(k, "tollgate_attempts_total") {
			pairs[k[i:strings.Index(k, ",outcome")]] = true
		}
	}
	want := map[string]bool{
		`{aws_service="S3",operation="GetObject"`: true, `{aws_service="S3",operation="PutObject"`: true,
		`{aws_service="S3",operation="HeadObject"`: true, `{aws_service="other",operation="other"`: true,
	}
	if fmt.Sprint(pairs) != fmt.Sprint(want) {
		t.Errorf("pairs %v, want %v", pairs, want)
	}
	if got[`tollgate_throttles_total{aws_service="other",operation="other",error_code="RequestLimitExceeded"}`] != 1 ||
		got[`tollgate_throttles_total{aws_service="other",operation="other",error_code="other"}`] != 1 ||
		got[`tollgate_throttles_total{aws_service="other",operation="other",error_code="SlowDown"}`] != 3 {
		t.Errorf("throttles over the cap: %v", keysWithPrefix(got, "tollgate_throttles_total"))
	}

	// Within the cap: the limiter's operation variant folds into the API, codes fold into the list.
	reg2, c2 := newRegistered(t, metrics.Options{})
	observeAll(c2, weird)
	c2.Observe(event.Event{Kind: event.AttemptFinished, Service: "S3\xff", Operation: strings.Repeat("x", 65), Outcome: backoff.Success})
	c2.Observe(event.Event{Kind: event.AttemptFinished, Outcome: backoff.Success})
	got = samples(t, reg2)
	for _, k := range []string{
		`tollgate_throttles_total{aws_service="EC2",operation="DescribeInstances",error_code="RequestLimitExceeded"}`,
		`tollgate_throttles_total{aws_service="EC2",operation="DescribeInstances",error_code="other"}`,
		`tollgate_attempts_total{aws_service="other",operation="other",outcome="success"}`,
		`tollgate_attempts_total{aws_service="unknown",operation="unknown",outcome="success"}`,
	} {
		if got[k] != 1 {
			t.Errorf("%s = %v, want 1; have %v", k, got[k], keysWithPrefix(got, strings.Split(k, "{")[0]))
		}
	}
}

func TestRefillRateFollowsRulesAndAdaptiveChanges(t *testing.T) {
	rules := limiter.Rules{{Name: "ddb-reads", Service: "DynamoDB", Operation: "GetItem|Query", Rate: 250, Burst: 500}}
	reg, c := newRegistered(t, metrics.Options{Rules: rules})
	waited := event.Event{Kind: event.LimiterWaited, Service: "DynamoDB", Operation: "GetItem", Rule: "ddb-reads", Value: 499, Capacity: 500}
	rateOf := func() float64 {
		return samples(t, reg)[`tollgate_limiter_refill_rate{aws_service="DynamoDB",operation="GetItem"}`]
	}
	c.Observe(waited)
	if r := rateOf(); r != 250 {
		t.Fatalf("rate %v after a wait on ddb-reads, want the rule's 250", r)
	}
	c.Observe(event.Event{Kind: event.RateChanged, Service: "DynamoDB", Operation: "GetItem", Rule: "ddb-reads", Reason: "cut", Value: 70, Capacity: 140})
	c.Observe(event.Event{Kind: event.RateChanged, Service: "DynamoDB", Operation: "GetItem", Rule: "ddb-reads", Reason: "growth", Value: 80, Capacity: 160})
	c.Observe(waited)
	if r := rateOf(); r != 80 {
		t.Fatalf("rate %v after RateChanged to 80 and another wait, want 80", r)
	}
	changes := samples(t, reg)
	for reason, want := range map[string]float64{"cut": 1, "growth": 1} {
		k := `tollgate_limiter_rate_changes_total{aws_service="DynamoDB",operation="GetItem",reason="` + reason + `"}`
		if changes[k] != want {
			t.Errorf("%s = %v, want %v", k, changes[k], want)
		}
	}
	// A rule the Collector was not given gets levels but no (guessed) rate.
	c.Observe(event.Event{Kind: event.LimiterWaited, Service: "DynamoDB", Operation: "Query", Rule: "someone-elses", Value: 1, Capacity: 500})
	got := samples(t, reg)
	if _, ok := got[`tollgate_limiter_refill_rate{aws_service="DynamoDB",operation="Query"}`]; ok {
		t.Error("a rate for a rule the Collector does not know")
	}
	if got[`tollgate_limiter_tokens_capacity{aws_service="DynamoDB",operation="Query"}`] != 500 {
		t.Error("no capacity for a rule the Collector does not know")
	}
}

func TestConcurrentObserveCountsEveryEvent(t *testing.T) {
	reg, c := newRegistered(t, metrics.Options{})
	const goroutines, calls = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				es := throttledCall()
				if (g+i)%2 == 0 {
					es = refusedCall()
				}
				observeAll(c, es)
			}
		}()
	}
	wg.Wait()
	got := samples(t, reg)
	ec2 := got[`tollgate_calls_total{aws_service="EC2",operation="DescribeInstances",result="success_with_retry"}`]
	s3 := got[`tollgate_calls_total{aws_service="S3",operation="GetObject",result="failure_without_retry"}`]
	if ec2+s3 != goroutines*calls || ec2 != s3 {
		t.Errorf("calls: EC2 %v + S3 %v, want %d each", ec2, s3, goroutines*calls/2)
	}
	if v := got[`tollgate_inflight_calls{aws_service="EC2",operation="DescribeInstances"}`]; v != 0 {
		t.Errorf("in-flight %v after every call finished, want 0", v)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	_, c := newRegistered(t, metrics.Options{})
	es := append(throttledCall(), refusedCall()...)
	es = append(es, event.Event{Kind: event.RetryRefused, Service: "EC2", Operation: "DescribeInstances", Reason: "budget"},
		event.Event{Kind: event.LimiterWaited, Service: "EC2", Operation: "DescribeInstances:unfiltered", Rule: "ec2-unfiltered-describe", Value: 3, Capacity: 50})
	observeAll(c, es) // create the series
	for _, e := range es {
		if n := testing.AllocsPerRun(100, func() { c.Observe(e) }); n != 0 {
			t.Errorf("Observe(%s) allocates %v times per event, want 0", e.Kind, n)
		}
	}
}

// samples gathers reg and flattens it to "name{labels}" → value, with labels in the order the
// metric declares them and histograms as _bucket, _sum and _count samples.
func samples(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			// aws_service and operation first, then the others (sorted by name), then le.
			var first, rest []string
			for _, lp := range m.GetLabel() {
				l := fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue())
				if lp.GetName() == "aws_service" || lp.GetName() == "operation" {
					first = append(first, l)
				} else {
					rest = append(rest, l)
				}
			}
			lbl := append(first, rest...)
			key := func(suffix string, extra ...string) string {
				return mf.GetName() + suffix + "{" + strings.Join(append(append([]string(nil), lbl...), extra...), ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key("")] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key("")] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				out[key("_sum")] = h.GetSampleSum()
				out[key("_count")] = float64(h.GetSampleCount())
				for _, b := range h.GetBucket() {
					out[key("_bucket", fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

func runtimeVersion() string { return runtime.Version() }

func keysWithPrefix(m map[string]float64, prefix string) []string {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestStoreSeries: the fleet store's events become the store series: the lease share, a
// fallback gauge that is 1 between StoreFallback and StoreRecovered, fallbacks by reason (an
// unknown reason folds into "other"), lost state and unbacked tokens.
func TestStoreSeries(t *testing.T) {
	reg, c := newRegistered(t, metrics.Options{})
	api := event.Event{Service: "EC2", Operation: "DescribeInstances"}
	at := func(k event.Kind, reason string, v float64) event.Event {
		e := api
		e.Kind, e.Reason, e.Value, e.Duration = k, reason, v, 2*time.Millisecond
		return e
	}
	c.Observe(at(event.LeaseRenewed, "", 12.5))
	c.Observe(at(event.StoreFallback, "timeout", 5))
	got := samples(t, reg)
	if v := got[`tollgate_store_lease_share{aws_service="EC2",operation="DescribeInstances"}`]; v != 12.5 {
		t.Errorf("share %v, want 12.5", v)
	}
	if v := got[`tollgate_store_fallback{aws_service="EC2",operation="DescribeInstances"}`]; v != 1 {
		t.Errorf("fallback gauge %v while falling back, want 1", v)
	}
	c.Observe(at(event.StoreRecovered, "", 42))
	c.Observe(at(event.StoreFallback, "something-new", 5))
	c.Observe(at(event.StoreRecovered, "", 8))
	c.Observe(at(event.LeaseRenewed, "state_lost", 10))
	got = samples(t, reg)
	for series, want := range map[string]float64{
		`tollgate_store_fallback{aws_service="EC2",operation="DescribeInstances"}`:                         0,
		`tollgate_store_fallbacks_total{aws_service="EC2",operation="DescribeInstances",reason="timeout"}`: 1,
		`tollgate_store_fallbacks_total{aws_service="EC2",operation="DescribeInstances",reason="other"}`:   1,
		`tollgate_store_unbacked_tokens_total{aws_service="EC2",operation="DescribeInstances"}`:            50,
		`tollgate_store_state_lost_total{aws_service="EC2",operation="DescribeInstances"}`:                 1,
		`tollgate_store_lease_share{aws_service="EC2",operation="DescribeInstances"}`:                      10,
		`tollgate_store_round_trip_seconds_count{aws_service="EC2",operation="DescribeInstances"}`:         2,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}

// TestLimiterRefusalReasons: a refusal for each of the limiter's reasons (a fleet store's
// "shared" among them) counts in its own series, and a reason tollgate does not know in
// "other".
func TestLimiterRefusalReasons(t *testing.T) {
	reg, c := newRegistered(t, metrics.Options{})
	reasons := append(metrics.LimiterRefusalReasons(), "something-new")
	for _, r := range reasons {
		c.Observe(event.Event{Kind: event.LimiterRefused, Service: "EC2", Operation: "DescribeInstances", Rule: "ec2-describe", Reason: r})
	}
	got := samples(t, reg)
	for _, r := range append(metrics.LimiterRefusalReasons(), "other") {
		k := `tollgate_limiter_refusals_total{aws_service="EC2",operation="DescribeInstances",reason="` + r + `"}`
		if got[k] != 1 {
			t.Errorf("%s = %v, want 1; have %v", k, got[k], keysWithPrefix(got, "tollgate_limiter_refusals_total"))
		}
	}
	if !slices.Contains(metrics.LimiterRefusalReasons(), limiter.RefusedShared.String()) {
		t.Errorf("reasons %v lack the fleet store's %q", metrics.LimiterRefusalReasons(), limiter.RefusedShared)
	}
}
