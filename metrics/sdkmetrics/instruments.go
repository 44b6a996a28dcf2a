package sdkmetrics

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/smithy-go/metrics"
	"github.com/prometheus/client_golang/prometheus"

	tgmetrics "github.com/tollgate/tollgate/metrics"
)

// PrometheusName returns the Prometheus name of the SDK instrument name with unit (the SDK's
// UnitLabel), for a counter or not, and the factor its values are multiplied by (base units:
// milliseconds become seconds).
func PrometheusName(name, unit string, counter bool) (string, float64) {
	var b strings.Builder
	b.WriteString("tollgate_sdk_")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r - 'A' + 'a')
		default:
			b.WriteByte('_')
		}
	}
	out, scale := b.String(), 1.0
	suffix := ""
	switch unit {
	case "s":
		suffix = "_seconds"
	case "ms":
		suffix, scale = "_seconds", 1e-3
	case "us":
		suffix, scale = "_seconds", 1e-6
	case "ns":
		suffix, scale = "_seconds", 1e-9
	case "By":
		suffix = "_bytes"
	}
	if suffix != "" && !strings.HasSuffix(out, suffix) {
		out += suffix
	}
	if counter && !strings.HasSuffix(out, "_total") {
		out += "_total"
	}
	return out, scale
}

func (p *MeterProvider) newInstrument(name string, k kind, o metrics.InstrumentOptions) (any, error) {
	counter := k == kindCounter || k == kindAsyncCounter
	promName, scale := PrometheusName(name, o.UnitLabel, counter)
	help := o.Description
	if help == "" {
		help = "AWS SDK instrument " + name
	}
	help += " (AWS SDK instrument " + name + ")."
	extras := extraLabels[name]
	names := []string{tgmetrics.LabelService, tgmetrics.LabelOperation}
	for _, a := range extras {
		names = append(names, a.label)
	}
	base := instrument{p: p, extras: extras, scale: scale}

	switch k {
	case kindCounter:
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName, Help: help, ConstLabels: p.opts.ConstLabels}, names)
		c, err := p.register(v, name)
		if err != nil {
			return nil, err
		}
		cv, ok := c.(*prometheus.CounterVec)
		if !ok {
			return nil, clash(name, promName)
		}
		return &counterInstrument{instrument: base, vec: cv}, nil
	case kindUpDown, kindGauge:
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: promName, Help: help, ConstLabels: p.opts.ConstLabels}, names)
		c, err := p.register(v, name)
		if err != nil {
			return nil, err
		}
		gv, ok := c.(*prometheus.GaugeVec)
		if !ok {
			return nil, clash(name, promName)
		}
		return &gaugeInstrument{instrument: base, vec: gv}, nil
	case kindHistogram:
		ho := prometheus.HistogramOpts{Name: promName, Help: help, ConstLabels: p.opts.ConstLabels, Buckets: bucketsFor(promName)}
		if p.opts.NativeHistograms {
			ho.NativeHistogramBucketFactor = 1.1
			ho.NativeHistogramMaxBucketNumber = 160
		}
		v := prometheus.NewHistogramVec(ho, names)
		c, err := p.register(v, name)
		if err != nil {
			return nil, err
		}
		hv, ok := c.(*prometheus.HistogramVec)
		if !ok {
			return nil, clash(name, promName)
		}
		return &histogramInstrument{instrument: base, vec: hv}, nil
	default: // asynchronous
		vt := prometheus.GaugeValue
		if k == kindAsyncCounter {
			vt = prometheus.CounterValue
		}
		a := &asyncCollector{
			instrument: base,
			desc:       prometheus.NewDesc(promName, help, names, p.opts.ConstLabels),
			valueType:  vt,
			callbacks:  map[int]func(context.Context, *asyncObserver){},
		}
		c, err := p.register(a, name)
		if err != nil {
			return nil, err
		}
		existing, ok := c.(*asyncCollector)
		if !ok {
			return nil, clash(name, promName)
		}
		return existing, nil
	}
}

func clash(name, promName string) error {
	return fmt.Errorf("sdkmetrics: SDK instrument %s: %s is already registered as another kind of metric", name, promName)
}

// Buckets for the SDK's histograms: durations from 100 µs (serialization, signing) to 80 s
// (whole calls with retries); bytes from 64 B to 1 GiB.
var (
	SecondsBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80}
	BytesBuckets   = prometheus.ExponentialBuckets(64, 4, 13)
)

func bucketsFor(promName string) []float64 {
	switch {
	case strings.HasSuffix(promName, "_seconds"):
		return SecondsBuckets
	case strings.HasSuffix(promName, "_bytes"):
		return BytesBuckets
	}
	return prometheus.DefBuckets
}

// instrument is what every kind shares: the provider (for labels), the extra attributes kept,
// and the unit conversion factor.
type instrument struct {
	p      *MeterProvider
	extras []attribute
	scale  float64
}

// maxLabels bounds the label values of one recording (service, operation, extras).
const maxLabels = 4

type counterInstrument struct {
	instrument
	vec *prometheus.CounterVec
}

func (c *counterInstrument) add(ctx context.Context, v float64, opts []metrics.RecordMetricOption) {
	if v < 0 {
		return // a counter never decreases; the SDK only adds 1
	}
	var buf [maxLabels]string
	c.vec.WithLabelValues(c.p.labels(ctx, c.extras, opts, buf[:0])...).Add(v * c.scale)
}

// Add implements metrics.Float64Counter.
func (c *counterInstrument) Add(ctx context.Context, v float64, opts ...metrics.RecordMetricOption) {
	c.add(ctx, v, opts)
}

type int64Counter struct{ *counterInstrument }

// Add implements metrics.Int64Counter.
func (c int64Counter) Add(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	c.add(ctx, float64(v), opts)
}

type gaugeInstrument struct {
	instrument
	vec *prometheus.GaugeVec
}

func (g *gaugeInstrument) child(ctx context.Context, opts []metrics.RecordMetricOption) prometheus.Gauge {
	var buf [maxLabels]string
	return g.vec.WithLabelValues(g.p.labels(ctx, g.extras, opts, buf[:0])...)
}

// Add implements metrics.Float64UpDownCounter.
func (g *gaugeInstrument) Add(ctx context.Context, v float64, opts ...metrics.RecordMetricOption) {
	g.child(ctx, opts).Add(v * g.scale)
}

// Sample implements metrics.Float64Gauge.
func (g *gaugeInstrument) Sample(ctx context.Context, v float64, opts ...metrics.RecordMetricOption) {
	g.child(ctx, opts).Set(v * g.scale)
}

type int64Gauge struct{ *gaugeInstrument }

// Add implements metrics.Int64UpDownCounter.
func (g int64Gauge) Add(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	g.child(ctx, opts).Add(float64(v) * g.scale)
}

// Sample implements metrics.Int64Gauge.
func (g int64Gauge) Sample(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	g.child(ctx, opts).Set(float64(v) * g.scale)
}

type histogramInstrument struct {
	instrument
	vec *prometheus.HistogramVec
}

func (h *histogramInstrument) record(ctx context.Context, v float64, opts []metrics.RecordMetricOption) {
	var buf [maxLabels]string
	h.vec.WithLabelValues(h.p.labels(ctx, h.extras, opts, buf[:0])...).Observe(v * h.scale)
}

// Record implements metrics.Float64Histogram.
func (h *histogramInstrument) Record(ctx context.Context, v float64, opts ...metrics.RecordMetricOption) {
	h.record(ctx, v, opts)
}

type int64Histogram struct{ *histogramInstrument }

// Record implements metrics.Int64Histogram.
func (h int64Histogram) Record(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	h.record(ctx, float64(v), opts)
}
