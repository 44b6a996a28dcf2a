package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics/internal/label"
)

// Options configure a Collector. The zero value is ready to use.
type Options struct {
	// MaxPairs caps the distinct (aws_service, operation) pairs; events of further pairs are
	// counted under aws_service="other", operation="other". 0 means 1,000.
	MaxPairs int

	// ErrorCodes are error codes kept as error_code label values besides the AWS throttle and
	// transient codes (ErrorCodes()); every other code is counted as "other".
	ErrorCodes []string

	// Rules are the limiter rules whose refill rates tollgate_limiter_refill_rate reports, looked
	// up by the rule name each limiter event carries; a rule not among them gets no rate series
	// (RateChanged events set the rate of adaptive rules directly). nil means
	// limiter.DefaultRules(). Pass the rules your limiter was built with.
	Rules limiter.Rules

	// NativeHistograms adds native (exponential) buckets, factor 1.1, to every histogram besides
	// its classic buckets. Leave it off for Prometheus before 2.45 with native histograms enabled,
	// which then drops the classic buckets the dashboards query.
	NativeHistograms bool

	// ConstLabels are added to every series, e.g. {"app": "billing"}.
	ConstLabels prometheus.Labels
}

// Collector turns tollgate's events into Prometheus series. It is an event.Observer (give it to
// middleware.Config.Observer, or to the simulator) and a prometheus.Collector (register it, or
// use Register). One Collector serves any number of clients and Tollgates: all series are keyed
// by AWS service and operation, never by client.
//
// Observe is safe for concurrent use and, once an API's series exist, does not allocate: each
// (service, operation) pair's series are resolved once and cached.
type Collector struct {
	calls          *prometheus.CounterVec
	attempts       *prometheus.CounterVec
	throttles      *prometheus.CounterVec
	retries        *prometheus.CounterVec
	retriesRefused *prometheus.CounterVec
	limiterRefused *prometheus.CounterVec
	rateChanges    *prometheus.CounterVec

	callAttempts    *prometheus.HistogramVec
	callDuration    *prometheus.HistogramVec
	attemptDuration *prometheus.HistogramVec
	backoffDelay    *prometheus.HistogramVec
	limiterWait     *prometheus.HistogramVec

	tokens   *prometheus.GaugeVec
	capacity *prometheus.GaugeVec
	rate     *prometheus.GaugeVec
	inflight *prometheus.GaugeVec

	budgetTokens   *prometheus.GaugeVec
	budgetCapacity *prometheus.GaugeVec

	store storeVectors

	buildInfo prometheus.Gauge

	codes   *label.CodeSet
	pairs   *label.Pairs[series]
	budgets *label.Pairs[budgetSeries]
	rates   map[string]*ruleRate // rule name → refill rate
	rules   limiter.Rules

	all []prometheus.Collector
}

// New returns a Collector configured by opts. It registers nothing: see Register.
func New(opts Options) *Collector {
	c := &Collector{codes: label.NewCodeSet(label.ErrorCodes(opts.ErrorCodes...)), rules: opts.Rules}
	if c.rules == nil {
		c.rules = limiter.DefaultRules()
	}
	c.rates = make(map[string]*ruleRate, len(c.rules))
	for _, r := range c.rules {
		if name := r.DisplayName(); c.rates[name] == nil {
			c.rates[name] = &ruleRate{name: name, rate: r.Rate}
		}
	}

	api := []string{LabelService, LabelOperation}
	counter := func(name, help string, extra ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: opts.ConstLabels},
			append(api[:len(api):len(api)], extra...))
		c.all = append(c.all, v)
		return v
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: opts.ConstLabels}, labels)
		c.all = append(c.all, v)
		return v
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		ho := prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets, ConstLabels: opts.ConstLabels}
		if opts.NativeHistograms {
			ho.NativeHistogramBucketFactor = 1.1
			ho.NativeHistogramMaxBucketNumber = 160
		}
		v := prometheus.NewHistogramVec(ho, api)
		c.all = append(c.all, v)
		return v
	}

	c.calls = counter(NameCalls,
		"AWS API calls that finished, by result: success or failure, with or without a retry.", LabelResult)
	c.attempts = counter(NameAttempts,
		"Attempts (first tries and retries) that got an answer or a transport failure, by outcome.", LabelOutcome)
	c.throttles = counter(NameThrottles,
		"Attempts AWS throttled (server-side), by error code; codes outside the known AWS list count as \"other\".", LabelErrorCode)
	c.retries = counter(NameRetries,
		"Retries scheduled, by reason: the class of the failure retried (throttled, transient, timeout).", LabelReason)
	c.retriesRefused = counter(NameRetriesRefused,
		"Retries the retry policy refused, by reason (budget, deadline, max_total_delay are client-side, by tollgate).", LabelReason)
	c.limiterRefused = counter(NameLimiterRefusals,
		"Attempts tollgate's client-side limiter refused without sending them to AWS, by reason.", LabelReason)
	c.rateChanges = counter(NameRateChanges,
		"Changes of the client-side limiter's adaptive rate, by reason: cut (AWS throttled the API) or growth (a step up while calls waited).", LabelReason)

	c.callAttempts = histogram(NameCallAttempts, "Attempts per finished call.", AttemptsBuckets)
	c.callDuration = histogram(NameCallDuration,
		"Duration of finished calls in seconds, from the call's start to its end: attempts, backoff and limiter waits included.", DurationBuckets)
	c.attemptDuration = histogram(NameAttemptDuration, "Duration of one attempt in seconds, from sending it to its answer.", DurationBuckets)
	c.backoffDelay = histogram(NameBackoffDelay, "Delay before a retry in seconds, as scheduled (jitter and server hints applied).", BackoffBuckets)
	c.limiterWait = histogram(NameLimiterWait, "Time an attempt waited for its client-side limiter token in seconds (0 when admitted at once).", WaitBuckets)

	c.tokens = gauge(NameLimiterTokens,
		"Tokens left in the client-side limiter bucket the API last drew from, after that admission.", LabelService, LabelOperation)
	c.capacity = gauge(NameLimiterCapacity,
		"Capacity (burst) of the client-side limiter bucket the API last drew from, in tokens.", LabelService, LabelOperation)
	c.rate = gauge(NameLimiterRate,
		"Refill rate of the client-side limiter bucket the API last drew from, in tokens per second (current rate for adaptive rules).", LabelService, LabelOperation)
	c.inflight = gauge(NameInflight, "Calls in progress.", LabelService, LabelOperation)
	c.budgetTokens = gauge(NameBudgetTokens, "Tokens left in the retry budget after its latest decision.", LabelBudget)
	c.budgetCapacity = gauge(NameBudgetCapacity, "Capacity of the retry budget in tokens.", LabelBudget)
	c.store = newStoreVectors(counter, gauge, histogram)

	version, goVersion := buildVersion()
	c.buildInfo = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: NameBuildInfo, Help: "tollgate's version and the Go version it was built with; the value is always 1.",
		ConstLabels: mergeLabels(opts.ConstLabels, prometheus.Labels{"version": version, "goversion": goVersion}),
	})
	c.buildInfo.Set(1)
	c.all = append(c.all, c.buildInfo)

	c.pairs = label.NewPairs(opts.MaxPairs, c.newSeries)
	c.budgets = label.NewPairs(maxBudgets, c.newBudgetSeries)
	return c
}

// maxBudgets caps distinct budget names (a process has one or two).
const maxBudgets = 16

func mergeLabels(a, b prometheus.Labels) prometheus.Labels {
	out := prometheus.Labels{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.all {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.all {
		m.Collect(ch)
	}
}

// Register registers a Collector built from opts with reg (nil means
// prometheus.DefaultRegisterer) and returns it. If reg already holds a tollgate Collector with
// the same metrics, Register returns that one instead and opts are ignored: every client and
// Tollgate of a process can call Register with the same registry and share one Collector. Any
// other registration conflict is an error.
func Register(reg prometheus.Registerer, opts Options) (*Collector, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	c := New(opts)
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*Collector); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("metrics: register tollgate's collector: %w", err)
	}
	return c, nil
}

// Observe implements event.Observer.
func (c *Collector) Observe(e event.Event) {
	switch e.Kind {
	case event.CallStarted:
		c.pairs.Get(e.Service, e.Operation).inflight.Inc()
	case event.CallFinished:
		s := c.pairs.Get(e.Service, e.Operation)
		s.inflight.Dec()
		s.calls[resultIndex(e.Outcome == backoff.Success, e.Attempts > 1)].Inc()
		s.callAttempts.Observe(float64(e.Attempts))
		s.callDuration.Observe(e.Duration.Seconds())
	case event.AttemptFinished:
		s := c.pairs.Get(e.Service, e.Operation)
		c.attempt(s, e.Outcome).Inc()
		s.attemptDuration.Observe(e.Duration.Seconds())
		if e.Outcome == backoff.Throttle {
			i := c.codes.Index(e.ErrorCode)
			s.throttles[i].get(c.throttles, s.pair, c.codes.Value(i)).Inc()
		}
	case event.BackoffScheduled:
		s := c.pairs.Get(e.Service, e.Operation)
		i := retryReasons.Index(e.Outcome.String())
		s.retries[i].get(c.retries, s.pair, retryReasons.Value(i)).Inc()
		s.backoffDelay.get(c.backoffDelay, s.pair).Observe(e.Duration.Seconds())
	case event.RetryRefused:
		s := c.pairs.Get(e.Service, e.Operation)
		i := retryRefusalReasons.Index(e.Reason)
		s.retriesRefused[i].get(c.retriesRefused, s.pair, retryRefusalReasons.Value(i)).Inc()
	case event.LimiterWaited:
		s := c.pairs.Get(e.Service, e.Operation)
		s.limiterWait.get(c.limiterWait, s.pair).Observe(e.Duration.Seconds())
		c.setLevel(s, e)
	case event.LimiterRefused:
		s := c.pairs.Get(e.Service, e.Operation)
		i := limiterRefusalReasons.Index(e.Reason)
		s.limiterRefused[i].get(c.limiterRefused, s.pair, limiterRefusalReasons.Value(i)).Inc()
	case event.LimiterTokens:
		c.setLevel(c.pairs.Get(e.Service, e.Operation), e)
	case event.RateChanged:
		s := c.pairs.Get(e.Service, e.Operation)
		if e.Reason != "" {
			i := rateChangeReasons.Index(e.Reason)
			s.rateChanges[i].get(c.rateChanges, s.pair, rateChangeReasons.Value(i)).Inc()
		}
		s.rate.get(c.rate, s.pair).Set(e.Value)
		s.rule.Store(adaptiveRate)
		if e.Capacity > 0 {
			s.capacity.get(c.capacity, s.pair).Set(e.Capacity)
		}
	case event.LeaseRenewed, event.StoreFallback, event.StoreRecovered:
		c.observeStore(e)
	case event.BudgetLevel:
		b := c.budgets.Get(e.Budget, "")
		b.tokens.Set(e.Value)
		if e.Capacity > 0 {
			b.capacity.Set(e.Capacity)
		}
	}
}

// adaptiveRate marks a pair whose rate a RateChanged event set: static rule lookups no longer
// overwrite it.
var adaptiveRate = &ruleRate{name: "\x00adaptive"}

// setLevel records a bucket's level from a LimiterWaited or LimiterTokens event, and the
// refill rate of its rule the first time the pair draws from that rule.
func (c *Collector) setLevel(s *series, e event.Event) {
	if e.Capacity > 0 {
		s.tokens.get(c.tokens, s.pair).Set(max(e.Value, 0)) // a reservation can leave float dust below 0
		s.capacity.get(c.capacity, s.pair).Set(e.Capacity)
	}
	if e.Rule == "" {
		return
	}
	if cur := s.rule.Load(); cur != nil && (cur.name == e.Rule || cur == adaptiveRate) {
		return
	}
	rr := c.rates[e.Rule]
	if rr == nil {
		// A rule the Collector was not given (Options.Rules): better no rate than a guess.
		return
	}
	s.rate.get(c.rate, s.pair).Set(rr.rate)
	s.rule.Store(rr)
}

var (
	retryReasons          = label.Enum(RetryReasons())
	retryRefusalReasons   = label.Enum(RetryRefusalReasons())
	limiterRefusalReasons = label.Enum(LimiterRefusalReasons())
	rateChangeReasons     = label.Enum(RateChangeReasons())
)
