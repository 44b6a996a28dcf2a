package sdkmetrics

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/aws/smithy-go/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// meter is the metrics.Meter of a MeterProvider: every method returns the provider's cached
// instrument of that name and kind.
type meter struct{ p *MeterProvider }

var _ metrics.Meter = meter{}

func instrumentOptions(opts []metrics.InstrumentOption) metrics.InstrumentOptions {
	var o metrics.InstrumentOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

func (m meter) get(name string, k kind, opts []metrics.InstrumentOption) (any, error) {
	// The cache is consulted before the options are applied: the SDK asks for the same
	// instruments on every call.
	m.p.mu.RLock()
	in, ok := m.p.instruments[instrumentKey{name, k}]
	m.p.mu.RUnlock()
	if ok {
		return in, nil
	}
	return m.p.instrument(name, k, instrumentOptions(opts))
}

// Int64Counter implements metrics.Meter.
func (m meter) Int64Counter(name string, opts ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	in, err := m.get(name, kindCounter, opts)
	if err != nil {
		return nil, err
	}
	return int64Counter{in.(*counterInstrument)}, nil
}

// Int64UpDownCounter implements metrics.Meter.
func (m meter) Int64UpDownCounter(name string, opts ...metrics.InstrumentOption) (metrics.Int64UpDownCounter, error) {
	in, err := m.get(name, kindUpDown, opts)
	if err != nil {
		return nil, err
	}
	return int64Gauge{in.(*gaugeInstrument)}, nil
}

// Int64Gauge implements metrics.Meter.
func (m meter) Int64Gauge(name string, opts ...metrics.InstrumentOption) (metrics.Int64Gauge, error) {
	in, err := m.get(name, kindGauge, opts)
	if err != nil {
		return nil, err
	}
	return int64Gauge{in.(*gaugeInstrument)}, nil
}

// Int64Histogram implements metrics.Meter.
func (m meter) Int64Histogram(name string, opts ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	in, err := m.get(name, kindHistogram, opts)
	if err != nil {
		return nil, err
	}
	return int64Histogram{in.(*histogramInstrument)}, nil
}

// Float64Counter implements metrics.Meter.
func (m meter) Float64Counter(name string, opts ...metrics.InstrumentOption) (metrics.Float64Counter, error) {
	in, err := m.get(name, kindCounter, opts)
	if err != nil {
		return nil, err
	}
	return in.(*counterInstrument), nil
}

// Float64UpDownCounter implements metrics.Meter.
func (m meter) Float64UpDownCounter(name string, opts ...metrics.InstrumentOption) (metrics.Float64UpDownCounter, error) {
	in, err := m.get(name, kindUpDown, opts)
	if err != nil {
		return nil, err
	}
	return in.(*gaugeInstrument), nil
}

// Float64Gauge implements metrics.Meter.
func (m meter) Float64Gauge(name string, opts ...metrics.InstrumentOption) (metrics.Float64Gauge, error) {
	in, err := m.get(name, kindGauge, opts)
	if err != nil {
		return nil, err
	}
	return in.(*gaugeInstrument), nil
}

// Float64Histogram implements metrics.Meter.
func (m meter) Float64Histogram(name string, opts ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	in, err := m.get(name, kindHistogram, opts)
	if err != nil {
		return nil, err
	}
	return in.(*histogramInstrument), nil
}

func (m meter) async(name string, k kind, opts []metrics.InstrumentOption, cb func(context.Context, *asyncObserver)) (metrics.AsyncInstrument, error) {
	in, err := m.get(name, k, opts)
	if err != nil {
		return nil, err
	}
	return in.(*asyncCollector).add(cb), nil
}

// Int64AsyncCounter implements metrics.Meter.
func (m meter) Int64AsyncCounter(name string, cb metrics.Int64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return m.async(name, kindAsyncCounter, opts, func(ctx context.Context, o *asyncObserver) { cb(ctx, int64Observer{o}) })
}

// Int64AsyncUpDownCounter implements metrics.Meter.
func (m meter) Int64AsyncUpDownCounter(name string, cb metrics.Int64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return m.async(name, kindAsyncUpDown, opts, func(ctx context.Context, o *asyncObserver) { cb(ctx, int64Observer{o}) })
}

// Int64AsyncGauge implements metrics.Meter.
func (m meter) Int64AsyncGauge(name string, cb metrics.Int64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return m.async(name, kindAsyncGauge, opts, func(ctx context.Context, o *asyncObserver) { cb(ctx, int64Observer{o}) })
}

// Float64AsyncCounter implements metrics.Meter.
func (m meter) Float64AsyncCounter(name string, cb metrics.Float64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return m.async(name, kindAsyncCounter, opts, func(ctx context.Context, o *asyncObserver) { cb(ctx, o) })
}

// Float64AsyncUpDownCounter implements metrics.Meter.
func (m meter) Float64AsyncUpDownCounter(name string, cb metrics.Float64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return m.async(name, kindAsyncUpDown, opts, func(ctx context.Context, o *asyncObserver) { cb(ctx, o) })
}

// Float64AsyncGauge implements metrics.Meter.
func (m meter) Float64AsyncGauge(name string, cb metrics.Float64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return m.async(name, kindAsyncGauge, opts, func(ctx context.Context, o *asyncObserver) { cb(ctx, o) })
}

// asyncCollector is an asynchronous instrument: a collector that runs its callbacks when
// Prometheus scrapes. Values observed for the same labels by several callbacks are summed.
type asyncCollector struct {
	instrument
	desc      *prometheus.Desc
	valueType prometheus.ValueType

	mu        sync.Mutex
	callbacks map[int]func(context.Context, *asyncObserver)
	next      int
}

// add registers cb and returns the handle that unregisters it.
func (a *asyncCollector) add(cb func(context.Context, *asyncObserver)) metrics.AsyncInstrument {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.next
	a.next++
	a.callbacks[id] = cb
	return stopFunc(func() {
		a.mu.Lock()
		delete(a.callbacks, id)
		a.mu.Unlock()
	})
}

type stopFunc func()

// Stop implements metrics.AsyncInstrument.
func (f stopFunc) Stop() { f() }

// Describe implements prometheus.Collector.
func (a *asyncCollector) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

// Collect implements prometheus.Collector.
func (a *asyncCollector) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	cbs := make([]func(context.Context, *asyncObserver), 0, len(a.callbacks))
	for _, cb := range a.callbacks {
		cbs = append(cbs, cb)
	}
	a.mu.Unlock()
	o := &asyncObserver{a: a, values: map[string]float64{}, labels: map[string][]string{}}
	for _, cb := range cbs {
		cb(context.Background(), o)
	}
	keys := make([]string, 0, len(o.values))
	for k := range o.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ch <- prometheus.MustNewConstMetric(a.desc, a.valueType, o.values[k], o.labels[k]...)
	}
}

// asyncObserver collects one scrape's observations.
type asyncObserver struct {
	a      *asyncCollector
	values map[string]float64
	labels map[string][]string
}

// Observe implements metrics.Float64Observer.
func (o *asyncObserver) Observe(ctx context.Context, v float64, opts ...metrics.RecordMetricOption) {
	lvs := o.a.p.labels(ctx, o.a.extras, opts, make([]string, 0, maxLabels))
	k := strings.Join(lvs, "\xff")
	o.values[k] += v * o.a.scale
	o.labels[k] = lvs
}

type int64Observer struct{ o *asyncObserver }

// Observe implements metrics.Int64Observer.
func (o int64Observer) Observe(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	o.o.Observe(ctx, float64(v), opts...)
}
