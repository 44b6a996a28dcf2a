// Package sdkmetrics brings the AWS SDK for Go v2's own client metrics into Prometheus, next to
// tollgate's: MeterProvider implements smithy-go's metrics.MeterProvider with client_golang
// collectors, so the instruments every SDK client records — client.call.duration,
// client.call.attempts, client.call.errors, client.call.attempt_duration, the serialization,
// signing and endpoint timings, and smithy-go's client.http.* timings — land in a registry you
// choose, labelled like tollgate's series.
//
// Install it per client (the SDK has no config-wide option):
//
//	mp, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{})
//	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.MeterProvider = mp })
//
// # Names and labels
//
// An SDK instrument named a.b.c becomes tollgate_sdk_a_b_c, with the unit appended the
// Prometheus way (unit "s" → _seconds, "ms" → _seconds with the values converted, "By" →
// _bytes) and _total appended to counters. Up-down counters and gauges become gauges;
// histograms become classic histograms.
//
//	client.call.duration                        histogram  tollgate_sdk_client_call_duration_seconds
//	client.call.attempts                        counter    tollgate_sdk_client_call_attempts_total
//	client.call.errors                          counter    tollgate_sdk_client_call_errors_total{error_code}
//	client.call.attempt_duration                histogram  tollgate_sdk_client_call_attempt_duration_seconds
//	client.call.serialization_duration          histogram  tollgate_sdk_client_call_serialization_duration_seconds
//	client.call.deserialization_duration        histogram  tollgate_sdk_client_call_deserialization_duration_seconds
//	client.call.resolve_endpoint_duration       histogram  tollgate_sdk_client_call_resolve_endpoint_duration_seconds
//	client.call.auth.resolve_identity_duration  histogram  tollgate_sdk_client_call_auth_resolve_identity_duration_seconds
//	client.call.auth.signing_duration           histogram  tollgate_sdk_client_call_auth_signing_duration_seconds
//	client.http.connections.acquire_duration    histogram  tollgate_sdk_client_http_connections_acquire_duration_seconds
//	client.http.connections.dns_lookup_duration histogram  tollgate_sdk_client_http_connections_dns_lookup_duration_seconds
//	client.http.connections.tls_handshake_duration histogram tollgate_sdk_client_http_connections_tls_handshake_duration_seconds
//	client.http.connections.usage               gauge      tollgate_sdk_client_http_connections_usage{state}
//	client.http.do_request_duration             histogram  tollgate_sdk_client_http_do_request_duration_seconds
//	client.http.time_to_first_byte              histogram  tollgate_sdk_client_http_time_to_first_byte_seconds
//
// Every series has aws_service (the SDK's rpc.service attribute, e.g. "S3") and operation
// (rpc.method, e.g. "GetObject"); for the client.http.* instruments, which the SDK records
// without those attributes, they come from the call's context. client.call.errors adds
// error_code, the SDK's exception.type folded like tollgate_throttles_total's: the AWS throttle
// and transient codes as themselves, anything else "other". connections.usage adds state
// (acquired, idle). Other attributes (auth.scheme_id, ...) are dropped; the number of distinct
// (aws_service, operation) pairs is capped like in package metrics.
package sdkmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/smithy-go/metrics"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/metrics/internal/label"
)

// Options configure a MeterProvider. The zero value is ready to use.
type Options struct {
	// MaxPairs caps the distinct (aws_service, operation) pairs; 0 means 1,000. Further pairs
	// are recorded as aws_service="other", operation="other".
	MaxPairs int
	// NativeHistograms adds native buckets (factor 1.1) to every histogram besides the classic
	// ones (see metrics.Options.NativeHistograms).
	NativeHistograms bool
	// ConstLabels are added to every series.
	ConstLabels prometheus.Labels
}

// MeterProvider is a smithy-go metrics.MeterProvider whose instruments are client_golang
// collectors registered with one prometheus.Registerer. Instruments are created on first use
// and cached by name, so the SDK's per-call instrument lookups are cheap; any number of clients
// and MeterProviders may share one registry (a second MeterProvider reuses the collectors the
// first registered).
type MeterProvider struct {
	reg   prometheus.Registerer
	opts  Options
	pairs *label.Pairs[label.Pair]
	codes *label.CodeSet

	mu          sync.RWMutex
	instruments map[instrumentKey]any
}

type instrumentKey struct {
	name string
	kind kind
}

var _ metrics.MeterProvider = (*MeterProvider)(nil)

// NewMeterProvider returns a MeterProvider registering its collectors with reg (nil means
// prometheus.DefaultRegisterer). It registers the SDK's documented instruments at once, so a
// name clash with another collector is reported here rather than on a call.
func NewMeterProvider(reg prometheus.Registerer, opts Options) (*MeterProvider, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	p := &MeterProvider{
		reg: reg, opts: opts,
		pairs:       label.NewPairs(opts.MaxPairs, func(p label.Pair) *label.Pair { return &p }),
		codes:       label.NewCodeSet(label.ErrorCodes()),
		instruments: map[instrumentKey]any{},
	}
	for _, in := range knownInstruments {
		if _, err := p.instrument(in.name, in.kind, metrics.InstrumentOptions{UnitLabel: in.unit, Description: in.help}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Meter returns a Meter; every scope shares the provider's instruments (the scope names the SDK
// module, which aws_service already tells).
func (p *MeterProvider) Meter(string, ...metrics.MeterOption) metrics.Meter { return meter{p} }

// kind is an instrument's Prometheus shape.
type kind uint8

const (
	kindCounter kind = iota
	kindUpDown
	kindGauge
	kindHistogram
	kindAsyncCounter
	kindAsyncUpDown
	kindAsyncGauge
)

// knownInstruments are the instruments aws-sdk-go-v2 v1.48 and smithy-go v1.28 record.
var knownInstruments = []struct {
	name, unit, help string
	kind             kind
}{
	{"client.call.duration", "s", "Overall call duration (including retries and time to send or receive request and response body)", kindHistogram},
	{"client.call.attempts", "{attempt}", "The number of attempts for an individual operation", kindCounter},
	{"client.call.errors", "{error}", "The number of errors for an operation", kindCounter},
	{"client.call.attempt_duration", "s", "The time it takes to connect to the service, send the request, and get back HTTP status code and headers (including time queued waiting to be sent)", kindHistogram},
	{"client.call.serialization_duration", "s", "The time it takes to serialize a message body", kindHistogram},
	{"client.call.deserialization_duration", "s", "The time it takes to deserialize a message body", kindHistogram},
	{"client.call.resolve_endpoint_duration", "s", "The time it takes to resolve an endpoint (endpoint resolver, not DNS) for the request", kindHistogram},
	{"client.call.auth.resolve_identity_duration", "s", "The time taken to acquire an identity (AWS credentials, bearer token, etc) from an Identity Provider", kindHistogram},
	{"client.call.auth.signing_duration", "s", "The time it takes to sign a request", kindHistogram},
	{"client.http.connections.acquire_duration", "s", "The time it takes a request to acquire a connection", kindHistogram},
	{"client.http.connections.dns_lookup_duration", "s", "The time it takes a request to perform a DNS lookup", kindHistogram},
	{"client.http.connections.tls_handshake_duration", "s", "The time it takes an HTTP request to perform the TLS handshake", kindHistogram},
	{"client.http.connections.usage", "{connection}", "Current state of connections pool", kindUpDown},
	{"client.http.do_request_duration", "s", "Time spent performing an entire HTTP transaction", kindHistogram},
	{"client.http.time_to_first_byte", "s", "Time from start of transaction to when the first response byte is available", kindHistogram},
}

// extraLabels are the attributes kept as labels, per instrument, besides rpc.service and
// rpc.method: attribute key → label name and how its values are folded.
var extraLabels = map[string][]attribute{
	"client.call.errors":            {{key: "exception.type", label: "error_code", fold: foldCode}},
	"client.http.connections.usage": {{key: "state", label: "state", fold: foldState}},
}

type attribute struct {
	key, label string
	fold       func(p *MeterProvider, v any) string
}

func foldCode(p *MeterProvider, v any) string {
	s, _ := v.(string)
	return p.codes.Label(s)
}

var states = label.Enum{"acquired", "idle"}

func foldState(_ *MeterProvider, v any) string {
	s, _ := v.(string)
	return states.Value(states.Index(s))
}

// instrument returns the cached instrument (name, k), creating and registering it the first time.
func (p *MeterProvider) instrument(name string, k kind, o metrics.InstrumentOptions) (any, error) {
	key := instrumentKey{name, k}
	p.mu.RLock()
	in, ok := p.instruments[key]
	p.mu.RUnlock()
	if ok {
		return in, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if in, ok := p.instruments[key]; ok {
		return in, nil
	}
	in, err := p.newInstrument(name, k, o)
	if err != nil {
		return nil, err
	}
	p.instruments[key] = in
	return in, nil
}

// register registers c, or returns the equal collector already registered.
func (p *MeterProvider) register(c prometheus.Collector, name string) (prometheus.Collector, error) {
	if err := p.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector, nil
		}
		return nil, fmt.Errorf("sdkmetrics: register SDK instrument %s: %w", name, err)
	}
	return c, nil
}

// labels returns the label values of one recording: aws_service and operation from the
// rpc.service and rpc.method attributes (or the call's context), then the instrument's extras.
// dst must have room for them all.
func (p *MeterProvider) labels(ctx context.Context, extras []attribute, opts []metrics.RecordMetricOption, dst []string) []string {
	var ro metrics.RecordMetricOptions
	for _, f := range opts {
		f(&ro)
	}
	service, _ := ro.Properties.Get("rpc.service").(string)
	operation, _ := ro.Properties.Get("rpc.method").(string)
	if service == "" && ctx != nil {
		service = smithymiddleware.GetServiceID(ctx)
	}
	if operation == "" && ctx != nil {
		operation = smithymiddleware.GetOperationName(ctx)
	}
	pair := p.pairs.Get(service, operation)
	dst = append(dst[:0], pair.Service, pair.Operation)
	for _, a := range extras {
		dst = append(dst, a.fold(p, ro.Properties.Get(a.key)))
	}
	return dst
}
