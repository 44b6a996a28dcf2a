package dashboards

import (
	"fmt"

	"github.com/tollgate/tollgate/metrics"
)

// Overview builds "tollgate: AWS API throttling" (uid tollgate-overview), the dashboard of
// tollgate's own series: per API, how often AWS throttles, what retrying and waiting cost, and
// how close each API is to its limit.
func Overview() (Dashboard, error) {
	sel := selector()
	api := "aws_service, operation"
	apiLegend := "{{aws_service}} {{operation}}"

	callRate := sumRate("", metrics.NameCalls, sel)
	attemptRate := sumRate("", metrics.NameAttempts, sel)
	throttleRate := sumRate("", metrics.NameThrottles, sel)

	b := newDashboard("tollgate-overview", "tollgate: AWS API throttling",
		"AWS API calls made through tollgate: throttling, retries, backoff, the client-side limiter and latency, per AWS service and operation.",
		metrics.NameCalls)

	// Overview: one number each, for the selected APIs.
	b = b.WithRow(row("Overview")).
		WithPanel(statPanel("Call rate", "Calls finished per second.", "reqps", query(callRate, "calls/s"))).
		WithPanel(statPanel("Throttle ratio", "Share of attempts AWS throttled.", "percentunit",
			query(fmt.Sprintf("(%s or vector(0)) / %s", throttleRate, attemptRate), "throttled"),
			threshold{0.05, "yellow"}, threshold{0.2, "red"})).
		WithPanel(statPanel("Attempts per call", "Attempts (first tries and retries) per finished call: 1 means no retries.", "none",
			query(fmt.Sprintf("%s / %s", sumRate("", metrics.NameCallAttempts+"_sum", sel), sumRate("", metrics.NameCallAttempts+"_count", sel)), "attempts/call"),
			threshold{1.2, "yellow"}, threshold{2, "red"}).Decimals(2)).
		WithPanel(statPanel("Retry budget left", "Tokens left in the retry budget, as a share of its capacity. At 0 tollgate refuses retries.", "percentunit",
			query(fmt.Sprintf("min(%s%s / %s%s)", metrics.NameBudgetTokens, jobSelector, metrics.NameBudgetCapacity, jobSelector), "budget"),
			threshold{0, "red"}, threshold{0.2, "yellow"}, threshold{0.5, "green"})).
		WithPanel(statPanel("Failed calls", "Share of calls that failed, after any retries.", "percentunit",
			query(fmt.Sprintf("(%s or vector(0)) / %s", sumRate("", metrics.NameCalls, selector(`result=~"failure.*"`)), callRate), "failed"),
			threshold{0.01, "yellow"}, threshold{0.05, "red"})).
		WithPanel(statPanel("In-flight calls", "Calls in progress now.", "none",
			query(fmt.Sprintf("sum(%s%s)", metrics.NameInflight, sel), "in flight"))).
		WithPanel(stacked(timeSeries("Calls by result", "Calls finished per second: success or failure, with or without a retry.", "reqps", halfSize,
			query(sumRate("result", metrics.NameCalls, sel), "{{result}}")))).
		WithPanel(stacked(timeSeries("Attempts by outcome", "Attempts per second by outcome.", "reqps", halfSize,
			query(sumRate("outcome", metrics.NameAttempts, sel), "{{outcome}}"))))

	// Throttling.
	b = b.WithRow(row("Throttling")).
		WithPanel(stacked(timeSeries("Throttles by operation", "Attempts AWS throttled per second, by API.", "reqps", thirdSize,
			query(sumRate(api, metrics.NameThrottles, sel), apiLegend)))).
		WithPanel(stacked(timeSeries("Throttles by error code", "Attempts AWS throttled per second, by the error code AWS sent.", "reqps", thirdSize,
			query(sumRate("error_code", metrics.NameThrottles, sel), "{{error_code}}")))).
		WithPanel(timeSeries("Throttle ratio by operation", "Share of each API's attempts AWS throttled.", "percentunit", thirdSize,
			query(fmt.Sprintf("%s / %s", sumRate(api, metrics.NameThrottles, sel), sumRate(api, metrics.NameAttempts, sel)), apiLegend)).Max(1))

	// Retries.
	b = b.WithRow(row("Retries")).
		WithPanel(stacked(timeSeries("Retries by reason", "Retries scheduled per second, by the class of failure retried.", "reqps", thirdSize,
			query(sumRate("reason", metrics.NameRetries, sel), "{{reason}}")))).
		WithPanel(stacked(timeSeries("Retries refused", "Retries the policy refused per second: budget, deadline and max_total_delay are tollgate's (client-side) decisions.", "reqps", thirdSize,
			query(sumRate("reason", metrics.NameRetriesRefused, sel), "{{reason}}")))).
		WithPanel(timeSeries("Attempts per call by operation", "Average attempts per call by API, and the p99 over all.", "none", thirdSize,
			query(fmt.Sprintf("%s / %s", sumRate(api, metrics.NameCallAttempts+"_sum", sel), sumRate(api, metrics.NameCallAttempts+"_count", sel)), "avg "+apiLegend),
			query(quantile(0.99, "", metrics.NameCallAttempts, sel), "p99"))).
		WithPanel(timeSeries("Retry budget", "Tokens left in each retry budget, and its capacity.", "none", halfSize,
			query(metrics.NameBudgetTokens+jobSelector, "{{budget}} available"),
			query(metrics.NameBudgetCapacity+jobSelector, "{{budget}} capacity"))).
		WithPanel(timeSeries("Requests sent per call", "Attempts that reached AWS per finished call, by API: retries raise it above 1 (the extra load they put on AWS), client-side refusals lower it.", "none", halfSize,
			query(fmt.Sprintf("%s / %s", sumRate(api, metrics.NameAttempts, sel), sumRate(api, metrics.NameCalls, sel)), apiLegend)))

	// Backoff.
	b = b.WithRow(row("Backoff")).
		WithPanel(heatmapPanel("Backoff delay", "Delays scheduled before retries (classic histogram buckets).", metrics.NameBackoffDelay, sel, thirdSize)).
		WithPanel(timeSeries("Backoff delay quantiles", "p50, p90 and p99 of the delays scheduled before retries.", "s", thirdSize,
			query(quantile(0.5, "", metrics.NameBackoffDelay, sel), "p50"),
			query(quantile(0.9, "", metrics.NameBackoffDelay, sel), "p90"),
			query(quantile(0.99, "", metrics.NameBackoffDelay, sel), "p99"))).
		WithPanel(stacked(timeSeries("Time spent backing off", "Seconds of backoff scheduled per second, by API: what retrying costs in waiting.", "s", thirdSize,
			query(sumRate(api, metrics.NameBackoffDelay+"_sum", sel), apiLegend))))

	// Limiter.
	b = b.WithRow(row("Limiter")).
		WithPanel(heatmapPanel("Limiter wait", "Time attempts waited for a client-side limiter token.", metrics.NameLimiterWait, sel, thirdSize)).
		WithPanel(timeSeries("Limiter wait quantiles", "p50 and p99 of the limiter wait, by API.", "s", thirdSize,
			query(quantile(0.5, api, metrics.NameLimiterWait, sel), "p50 "+apiLegend),
			query(quantile(0.99, api, metrics.NameLimiterWait, sel), "p99 "+apiLegend))).
		WithPanel(stacked(timeSeries("Limiter refusals", "Attempts the limiter refused per second (never sent to AWS), by reason.", "reqps", thirdSize,
			query(sumRate("reason", metrics.NameLimiterRefusals, sel), "{{reason}}")))).
		WithPanel(timeSeries("Tokens against capacity", "Tokens left in each API's limiter bucket after its latest admission, and the bucket's capacity.", "none", thirdSize,
			query(fmt.Sprintf("max by (%s) (%s%s)", api, metrics.NameLimiterTokens, sel), "available "+apiLegend),
			query(fmt.Sprintf("max by (%s) (%s%s)", api, metrics.NameLimiterCapacity, sel), "capacity "+apiLegend))).
		WithPanel(timeSeries("Headroom", "Share of each API's bucket left: near 0, calls wait or get refused.", "percentunit", thirdSize,
			query(fmt.Sprintf("min by (%s) (%s%s / %s%s)", api, metrics.NameLimiterTokens, sel, metrics.NameLimiterCapacity, sel), apiLegend)).Max(1)).
		WithPanel(timeSeries("Refill rate", "Tokens per second each API's bucket refills: the rule's rate, or the current adaptive rate.", "none", thirdSize,
			query(fmt.Sprintf("max by (%s) (%s%s)", api, metrics.NameLimiterRate, sel), apiLegend))).
		WithPanel(timeSeries("Adaptive rate changes", "Cuts (AWS throttled the API: the learned rate fell) and growth steps (the rate climbed while calls waited) per minute, by API.", "none", halfSize,
			query(fmt.Sprintf("sum by (%s, reason) (rate(%s%s[$__rate_interval])) * 60", api, metrics.NameRateChanges, sel), "{{reason}} "+apiLegend))).
		WithPanel(stacked(timeSeries("Time spent waiting for tokens", "Seconds of limiter wait per second, by API: what rate limiting costs in waiting.", "s", halfSize,
			query(sumRate(api, metrics.NameLimiterWait+"_sum", sel), apiLegend)))).
		WithPanel(timeSeries("Limiter admissions", "Attempts admitted per second, at once or after a wait, by API.", "reqps", halfSize,
			query(sumRate(api, metrics.NameLimiterWait+"_count", sel), apiLegend)))

	// Latency.
	b = b.WithRow(row("Latency")).
		WithPanel(timeSeries("Call duration", "p50 and p99 of whole calls (retries, backoff and limiter waits included) against single attempts.", "s", thirdSize,
			query(quantile(0.5, "", metrics.NameCallDuration, sel), "call p50"),
			query(quantile(0.99, "", metrics.NameCallDuration, sel), "call p99"),
			query(quantile(0.5, "", metrics.NameAttemptDuration, sel), "attempt p50"),
			query(quantile(0.99, "", metrics.NameAttemptDuration, sel), "attempt p99"))).
		WithPanel(timeSeries("Call duration p99 by operation", "p99 of whole calls, by API.", "s", thirdSize,
			query(quantile(0.99, api, metrics.NameCallDuration, sel), apiLegend))).
		WithPanel(timeSeries("In-flight calls by operation", "Calls in progress, by API.", "none", thirdSize,
			query(fmt.Sprintf("sum by (%s) (%s%s)", api, metrics.NameInflight, sel), apiLegend)))

	return build("tollgate-overview", b)
}
