package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// SDK builds "tollgate: AWS SDK client" (uid tollgate-sdk), the dashboard of the SDK's own
// client instruments as package metrics/sdkmetrics exports them (tollgate_sdk_*).
func SDK() (Dashboard, error) {
	const (
		calls    = "tollgate_sdk_client_call_duration_seconds"
		attempts = "tollgate_sdk_client_call_attempts_total"
		errs     = "tollgate_sdk_client_call_errors_total"
		attempt  = "tollgate_sdk_client_call_attempt_duration_seconds"
	)
	sel := selector()
	api := "aws_service, operation"
	apiLegend := "{{aws_service}} {{operation}}"
	phase := func(name, legend string) *prometheus.DataqueryBuilder {
		return query(quantile(0.99, "", "tollgate_sdk_client_call_"+name+"_seconds", sel), legend)
	}
	b := newDashboard("tollgate-sdk", "tollgate: AWS SDK client",
		"The AWS SDK for Go v2's own client metrics (client.call.*, client.http.*), bridged into Prometheus by tollgate's metrics/sdkmetrics.",
		attempts)

	b = b.WithRow(row("Calls")).
		WithPanel(stacked(timeSeries("Calls", "Operation calls finished per second, by API.", "reqps", thirdSize,
			query(sumRate(api, calls+"_count", sel), apiLegend)))).
		WithPanel(stacked(timeSeries("Attempts", "Attempts per second, by API (the SDK counts every attempt it starts).", "reqps", thirdSize,
			query(sumRate(api, attempts, sel), apiLegend)))).
		WithPanel(stacked(timeSeries("Errors by code", "Attempts that failed per second, by error code (throttle and transient codes; \"other\" for the rest).", "reqps", thirdSize,
			query(sumRate("error_code", errs, sel), "{{error_code}}"))))

	b = b.WithRow(row("Latency")).
		WithPanel(heatmapPanel("Call duration", "Whole operation calls, retries included.", calls, sel, thirdSize)).
		WithPanel(timeSeries("Call and attempt duration", "p50 and p99 of whole calls and of single attempts.", "s", thirdSize,
			query(quantile(0.5, "", calls, sel), "call p50"),
			query(quantile(0.99, "", calls, sel), "call p99"),
			query(quantile(0.5, "", attempt, sel), "attempt p50"),
			query(quantile(0.99, "", attempt, sel), "attempt p99"))).
		WithPanel(timeSeries("Attempts per call", "SDK attempts per call, by API.", "none", thirdSize,
			query(fmt.Sprintf("%s / %s", sumRate(api, attempts, sel), sumRate(api, calls+"_count", sel)), apiLegend)))

	b = b.WithRow(row("Phases")).
		WithPanel(timeSeries("Call phases p99", "p99 of the time each phase of a call takes.", "s", halfSize,
			phase("serialization_duration", "serialize"),
			phase("deserialization_duration", "deserialize"),
			phase("resolve_endpoint_duration", "resolve endpoint"),
			phase("auth_resolve_identity_duration", "resolve identity"),
			phase("auth_signing_duration", "sign"))).
		WithPanel(timeSeries("HTTP p99", "p99 of the HTTP round trip, time to first byte and connection acquisition.", "s", halfSize,
			query(quantile(0.99, "", "tollgate_sdk_client_http_do_request_duration_seconds", sel), "round trip"),
			query(quantile(0.99, "", "tollgate_sdk_client_http_time_to_first_byte_seconds", sel), "first byte"),
			query(quantile(0.99, "", "tollgate_sdk_client_http_connections_acquire_duration_seconds", sel), "acquire connection")))

	return build("tollgate-sdk", b)
}
