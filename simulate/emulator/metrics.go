package emulator

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the emulator's server-side series, in a registry of its own so that several
// emulators (and the process's client-side tollgate metrics) never collide:
//
//	tollgate_emulator_requests_total{aws_service, operation, result}
//
// aws_service is the SDK service ID ("EC2", "S3", "DynamoDB", "KMS", "Lambda", "STS"),
// operation an implemented operation or "unknown", result one of accepted (answered 2xx/3xx),
// throttled (the service's throttling error) or failed (any other error, including HTTP 500
// from fault windows). No label carries a bucket, table, key, function or account.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	handler  http.Handler
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tollgate",
			Subsystem: "emulator",
			Name:      "requests_total",
			Help:      "Requests the tollgate emulator answered, by AWS service, operation and result (accepted, throttled, failed).",
		}, []string{"aws_service", "operation", "result"}),
	}
	reg.MustRegister(m.requests)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// Gatherer returns the emulator's metrics registry (the series served on /metrics).
func (e *Emulator) Gatherer() prometheus.Gatherer { return e.metrics.registry }
