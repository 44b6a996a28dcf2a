package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/metrics"
)

// The baselines bracket Observe: a pre-resolved counter's Inc is the floor; looking the child up
// by label values on every event (what a naive observer does) is what the per-pair cache avoids.
// Compare with: go test -bench . -benchmem ./metrics

func BenchmarkBaselineCounterInc(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"aws_service", "operation", "outcome"})
	c := v.WithLabelValues("EC2", "DescribeInstances", "success")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkBaselineWithLabelValuesInc(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"aws_service", "operation", "outcome"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v.WithLabelValues("EC2", "DescribeInstances", "success").Inc()
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	for _, e := range throttledCall() {
		b.Run(e.Kind.String(), func(b *testing.B) {
			c := metrics.New(metrics.Options{})
			c.Observe(e)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Observe(e)
				}
			})
		})
	}
}

// BenchmarkObserveCall is the cost of one throttled-then-successful call's eight events.
func BenchmarkObserveCall(b *testing.B) {
	c := metrics.New(metrics.Options{})
	es := throttledCall()
	observeAll(c, es)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			observeAll(c, es)
		}
	})
}

var _ event.Observer = (*metrics.Collector)(nil)
