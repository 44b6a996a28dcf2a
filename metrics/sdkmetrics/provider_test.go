package sdkmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithymetrics "github.com/aws/smithy-go/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics/sdkmetrics"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// startEmulator serves a throttling AWS emulator on a loopback port for the test's lifetime.
func startEmulator(t *testing.T, rules limiter.Rules) *emulator.Emulator {
	t.Helper()
	e, err := emulator.New(emulator.Options{Rules: rules, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); e.Close() })
	return e
}

func awsConfig(url string) aws.Config {
	return aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

// TestRealSDKClientsRecordIntoTheRegistry drives real EC2 and STS clients against the emulator,
// with EC2's DescribeInstances bucket cut to 5 tokens so that some attempts are throttled, and
// checks the SDK's own instruments arrive under their documented names and labels.
func TestRealSDKClientsRecordIntoTheRegistry(t *testing.T) {
	rules := append(limiter.Rules{{Name: "tight", Service: "EC2", Operation: "DescribeInstances", Rate: 0.01, Burst: 5}}, limiter.DefaultRules()...)
	e := startEmulator(t, rules)
	reg := prometheus.NewPedanticRegistry()
	mp, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := awsConfig(e.URL())
	ec2c := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.MeterProvider = mp
		o.RetryMaxAttempts = 1
	})
	// A second client with its own MeterProvider on the same registry shares the collectors.
	mp2, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{})
	if err != nil {
		t.Fatalf("second MeterProvider on the same registry: %v", err)
	}
	stsc := sts.NewFromConfig(cfg, func(o *sts.Options) { o.MeterProvider = mp2 })

	ctx := context.Background()
	const calls = 8
	throttled := 0
	for range calls {
		_, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "RequestLimitExceeded" {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
		if _, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if throttled != calls-5 {
		t.Fatalf("%d DescribeInstances throttled, want %d (burst 5, no refill to speak of)", throttled, calls-5)
	}

	got := gather(t, reg)
	ec2Labels := `aws_service="EC2",operation="DescribeInstances"`
	stsLabels := `aws_service="STS",operation="GetCallerIdentity"`
	want := map[string]float64{
		`tollgate_sdk_client_call_duration_seconds_count{` + ec2Labels + `}`:                         calls,
		`tollgate_sdk_client_call_duration_seconds_count{` + stsLabels + `}`:                         calls,
		`tollgate_sdk_client_call_attempts_total{` + ec2Labels + `}`:                                 calls,
		`tollgate_sdk_client_call_errors_total{` + ec2Labels + `,error_code="RequestLimitExceeded"}`: float64(calls - 5),
		`tollgate_sdk_client_call_attempt_duration_seconds_count{` + stsLabels + `}`:                 calls,
		`tollgate_sdk_client_http_do_request_duration_seconds_count{` + ec2Labels + `}`:              calls,
		`tollgate_sdk_client_call_auth_signing_duration_seconds_count{` + stsLabels + `}`:            calls,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got[`tollgate_sdk_client_http_connections_usage{`+ec2Labels+`,state="acquired"}`]; !ok {
		t.Errorf("no connections usage gauge; have %v", keys(got, "tollgate_sdk_client_http"))
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestPrometheusNames(t *testing.T) {
	for _, c := range []struct {
		name, unit string
		counter    bool
		want       string
		scale      float64
	}{
		{"client.call.duration", "s", false, "tollgate_sdk_client_call_duration_seconds", 1},
		{"client.call.attempts", "{attempt}", true, "tollgate_sdk_client_call_attempts_total", 1},
		{"client.http.connections.usage", "{connection}", false, "tollgate_sdk_client_http_connections_usage", 1},
		{"client.rpc.latency", "ms", false, "tollgate_sdk_client_rpc_latency_seconds", 1e-3},
		{"client.body.size", "By", false, "tollgate_sdk_client_body_size_bytes", 1},
		{"Weird-Name.x", "", true, "tollgate_sdk_weird_name_x_total", 1},
	} {
		got, scale := sdkmetrics.PrometheusName(c.name, c.unit, c.counter)
		if got != c.want || scale != c.scale {
			t.Errorf("PrometheusName(%q, %q, %v) = %q, %v; want %q, %v", c.name, c.unit, c.counter, got, scale, c.want, c.scale)
		}
	}
}

// TestMeterInstruments exercises the instrument kinds the SDK does not use today (asynchronous
// instruments, gauges, int64 histograms, millisecond units) through the smithy-go interfaces.
func TestMeterInstruments(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	mp, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := mp.Meter("test")
	attrs := func(service, method string) smithymetrics.RecordMetricOption {
		return func(o *smithymetrics.RecordMetricOptions) {
			o.Properties.Set("rpc.service", service)
			o.Properties.Set("rpc.method", method)
			o.Properties.Set("auth.scheme_id", "aws.auth#sigv4") // dropped
		}
	}
	ctx := context.Background()
	ms := func(o *smithymetrics.InstrumentOptions) { o.UnitLabel = "ms"; o.Description = "latency" }
	h, err := m.Int64Histogram("test.latency", ms)
	if err != nil {
		t.Fatal(err)
	}
	h.Record(ctx, 250, attrs("S3", "GetObject"))
	g, _ := m.Float64Gauge("test.level")
	g.Sample(ctx, 3, attrs("S3", "GetObject"))
	g.Sample(ctx, 7, attrs("S3", "GetObject"))
	c, _ := m.Float64Counter("test.things")
	c.Add(ctx, 2, attrs("S3", "GetObject"))
	c.Add(ctx, -5, attrs("S3", "GetObject")) // ignored: counters never decrease

	stop1, err := m.Int64AsyncGauge("test.pool", func(ctx context.Context, o smithymetrics.Int64Observer) {
		o.Observe(ctx, 4, attrs("KMS", "Encrypt"))
	})
	if err != nil {
		t.Fatal(err)
	}
	stop2, _ := m.Int64AsyncGauge("test.pool", func(ctx context.Context, o smithymetrics.Int64Observer) {
		o.Observe(ctx, 6, attrs("KMS", "Encrypt"))
	})
	got := gather(t, reg)
	for k, v := range map[string]float64{
		`tollgate_sdk_test_latency_seconds_sum{aws_service="S3",operation="GetObject"}`: 0.25,
		`tollgate_sdk_test_level{aws_service="S3",operation="GetObject"}`:               7,
		`tollgate_sdk_test_things_total{aws_service="S3",operation="GetObject"}`:        2,
		`tollgate_sdk_test_pool{aws_service="KMS",operation="Encrypt"}`:                 10,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v; have %v", k, got[k], v, keys(got, "tollgate_sdk_test"))
		}
	}
	stop1.Stop()
	if v := gather(t, reg)[`tollgate_sdk_test_pool{aws_service="KMS",operation="Encrypt"}`]; v != 6 {
		t.Errorf("after stopping one callback the pool reads %v, want 6", v)
	}
	stop2.Stop()
	if _, ok := gather(t, reg)[`tollgate_sdk_test_pool{aws_service="KMS",operation="Encrypt"}`]; ok {
		t.Error("a stopped asynchronous instrument still reports")
	}

	// A name clash with a foreign collector is reported when the provider is built.
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "tollgate_sdk_client_call_duration_seconds", Help: "x"}))
	if _, err := sdkmetrics.NewMeterProvider(clash, sdkmetrics.Options{}); err == nil || !strings.HasPrefix(err.Error(), "sdkmetrics: ") {
		t.Errorf("NewMeterProvider over a clashing collector: %v, want an sdkmetrics: error", err)
	}
}

func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var first, rest []string
			for _, lp := range m.GetLabel() {
				l := fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue())
				if lp.GetName() == "aws_service" || lp.GetName() == "operation" {
					first = append(first, l)
				} else {
					rest = append(rest, l)
				}
			}
			lbl := strings.Join(append(first, rest...), ",")
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[mf.GetName()+"{"+lbl+"}"] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[mf.GetName()+"{"+lbl+"}"] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[mf.GetName()+"_count{"+lbl+"}"] = float64(m.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum{"+lbl+"}"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func keys(m map[string]float64, prefix string) []string {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	return ks
}
