package load

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tollgate/tollgate/internal/redact"
	"github.com/tollgate/tollgate/simulate"
)

// Report is what a run did, per API of the mix and in total.
type Report struct {
	Endpoint string `json:"endpoint"`
	Tollgate bool   `json:"tollgate"` // tollgate was installed (false: one of the SDK's retry modes)
	// Retryer is what retried the calls: "tollgate", "standard" or "adaptive" (the SDK's modes).
	Retryer  string  `json:"retryer"`
	Arrivals string  `json:"arrivals,omitempty"` // rate mode: "even" or "poisson"
	Mode     string  `json:"mode"`               // "rate 100/s" or "concurrency 16"
	Seconds  float64 `json:"seconds"`            // how long the run took, in-flight calls included
	// Processes is how many independent client processes made the calls (Config.Processes),
	// and Store what they shared their buckets through (Config.Store; "": nothing).
	Processes int    `json:"processes"`
	Store     string `json:"store,omitempty"`
	// Offered is, in rate mode, the calls the rate asked for until the run stopped; Dropped
	// those of them not started because Config.Concurrency (or 1,000) calls were in flight
	// already. Offered = Dropped + Total.Calls.
	Offered  int64      `json:"offered,omitempty"`
	Dropped  int64      `json:"dropped"`
	InFlight int        `json:"in_flight_cap,omitempty"` // rate mode: the cap on calls in flight
	APIs     []APIStats `json:"apis"`
	Total    APIStats   `json:"total"`
}

// APIStats are one API's counts. A call is one operation invocation (its retries included);
// an attempt is one request sent to the endpoint.
type APIStats struct {
	API       string `json:"api"` // "service:Operation", or "total"
	Calls     int    `json:"calls"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	// Refused counts the failed calls refused on the client side (tollgate's limiter or retry
	// budget, a deadline tollgate saw coming, the SDK's retry quota).
	Refused   int `json:"refused"`
	Attempts  int `json:"attempts"`
	Throttled int `json:"throttled"` // attempts the endpoint throttled
	// CallsPerSecond is Calls over the run's duration.
	CallsPerSecond float64 `json:"calls_per_second"`
	// P50, P99 and Max are the latencies of every call, failed ones included (retries and
	// waits included), in seconds; SucceededP50 and SucceededP99 those of the calls that
	// succeeded (what the simulator reports).
	P50          float64 `json:"p50_seconds"`
	P99          float64 `json:"p99_seconds"`
	Max          float64 `json:"max_seconds"`
	SucceededP50 float64 `json:"succeeded_p50_seconds"`
	SucceededP99 float64 `json:"succeeded_p99_seconds"`
	// Errors counts failed calls by AWS error code ("client-side refusal", "transport" for
	// failures without one).
	Errors map[string]int `json:"errors,omitempty"`
}

func (r *recorder) report(cfg Config, elapsed time.Duration, offered, dropped int64) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	endpoint := cfg.Endpoint
	if u, err := url.Parse(endpoint); err == nil {
		endpoint = redact.URL(u)
	}
	retryer := cfg.retryer()
	rep := &Report{Endpoint: endpoint, Tollgate: retryer == RetryerTollgate, Retryer: retryer, Seconds: elapsed.Seconds(),
		Offered: offered, Dropped: dropped, Processes: max(cfg.Processes, 1), Store: cfg.Store}
	if cfg.Rate > 0 {
		rep.Arrivals = cmp.Or(cfg.Arrivals, ArrivalsEven)
		rep.Mode = fmt.Sprintf("rate %g/s (%s)", cfg.Rate, rep.Arrivals)
		rep.InFlight = cfg.Concurrency
		if rep.InFlight == 0 {
			rep.InFlight = defaultInflightCap
		}
	} else {
		rep.Mode = fmt.Sprintf("concurrency %d", cfg.Concurrency)
	}
	var all, ok simulate.Histogram
	rep.Total.API = "total"
	for i, m := range r.mix {
		a := &r.apis[i]
		s := stats(m.API(), a, &a.latency, &a.okLatency, elapsed)
		rep.APIs = append(rep.APIs, s)
		all.Merge(&a.latency)
		ok.Merge(&a.okLatency)
		rep.Total.Calls += s.Calls
		rep.Total.Succeeded += s.Succeeded
		rep.Total.Failed += s.Failed
		rep.Total.Refused += s.Refused
		rep.Total.Attempts += s.Attempts
		rep.Total.Throttled += s.Throttled
		for k, v := range s.Errors {
			if rep.Total.Errors == nil {
				rep.Total.Errors = map[string]int{}
			}
			rep.Total.Errors[k] += v
		}
	}
	sort.Slice(rep.APIs, func(i, j int) bool { return rep.APIs[i].API < rep.APIs[j].API })
	t := stats("total", &apiStats{}, &all, &ok, elapsed)
	rep.Total.CallsPerSecond, rep.Total.P50, rep.Total.P99, rep.Total.Max = float64(rep.Total.Calls)/max(elapsed.Seconds(), 1e-9), t.P50, t.P99, t.Max
	rep.Total.SucceededP50, rep.Total.SucceededP99 = t.SucceededP50, t.SucceededP99
	return rep
}

func stats(api string, a *apiStats, h, ok *simulate.Histogram, elapsed time.Duration) APIStats {
	s := APIStats{API: api, Calls: a.calls, Succeeded: a.calls - a.failed, Failed: a.failed, Refused: a.refused,
		Attempts: a.attempts, Throttled: a.throttled, CallsPerSecond: float64(a.calls) / max(elapsed.Seconds(), 1e-9),
		P50: h.Quantile(0.5).Seconds(), P99: h.Quantile(0.99).Seconds(), Max: h.Max().Seconds(),
		SucceededP50: ok.Quantile(0.5).Seconds(), SucceededP99: ok.Quantile(0.99).Seconds()}
	if len(a.codes) > 0 {
		s.Errors = map[string]int{}
		for k, v := range a.codes {
			s.Errors[k] = v
		}
	}
	return s
}

// Formats are the formats Write accepts.
var Formats = []string{"table", "json", "markdown"}

// Write writes r in format: "table" (aligned text), "json" or "markdown".
func (r *Report) Write(w io.Writer, format string) error {
	return writeAs(w, format, r, r.writeTable, r.writeMarkdown)
}

// writeAs writes report v in format: "table" and "markdown" by the functions given, "json" as
// indented JSON.
func writeAs(w io.Writer, format string, v any, table, markdown func(io.Writer) error) error {
	switch format {
	case "table":
		return table(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "markdown":
		return markdown(w)
	}
	return fmt.Errorf("load: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

func (r *Report) header() string {
	who := "tollgate"
	switch r.Retryer {
	case RetryerStandard:
		who = "SDK standard retryer, no tollgate"
	case RetryerAdaptive:
		who = "SDK adaptive retryer, no tollgate"
	}
	if r.Processes > 1 {
		who = fmt.Sprintf("%d processes, each with %s", r.Processes, who)
	}
	if r.Store != "" {
		who += ", sharing their buckets through " + r.Store
	}
	h := fmt.Sprintf("load against %s: %s, %.1fs, %s", r.Endpoint, r.Mode, r.Seconds, who)
	if r.Dropped > 0 {
		h += fmt.Sprintf("; %d of %d calls the rate asked for not started (%d already in flight)", r.Dropped, r.Offered, r.InFlight)
	}
	return h
}

var columns = []struct {
	head string
	val  func(*APIStats) string
}{
	{"calls", func(s *APIStats) string { return fmt.Sprint(s.Calls) }},
	{"calls/s", func(s *APIStats) string { return fmt.Sprintf("%.1f", s.CallsPerSecond) }},
	{"failed", func(s *APIStats) string { return fmt.Sprint(s.Failed) }},
	{"refused", func(s *APIStats) string { return fmt.Sprint(s.Refused) }},
	{"attempts", func(s *APIStats) string { return fmt.Sprint(s.Attempts) }},
	{"throttled", func(s *APIStats) string { return fmt.Sprint(s.Throttled) }},
	{"att/call", func(s *APIStats) string {
		if s.Calls == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(s.Attempts)/float64(s.Calls))
	}},
	{"p50 ok", func(s *APIStats) string { return okSeconds(s, s.SucceededP50) }},
	{"p99 ok", func(s *APIStats) string { return okSeconds(s, s.SucceededP99) }},
	{"p50 all", func(s *APIStats) string { return seconds(s.P50) }},
	{"p99 all", func(s *APIStats) string { return seconds(s.P99) }},
}

// okSeconds prints a latency of successful calls, "-" when none succeeded.
func okSeconds(s *APIStats, v float64) string {
	if s.Succeeded == 0 {
		return "-"
	}
	return seconds(v)
}

// seconds prints a latency with three significant digits or so.
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func (r *Report) rows() []*APIStats {
	out := make([]*APIStats, 0, len(r.APIs)+1)
	for i := range r.APIs {
		out = append(out, &r.APIs[i])
	}
	return append(out, &r.Total)
}

func (r *Report) writeTable(w io.Writer) error {
	fmt.Fprintln(w, r.header())
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "api\t")
	for _, c := range columns {
		fmt.Fprint(tw, c.head, "\t")
	}
	fmt.Fprintln(tw)
	for _, s := range r.rows() {
		fmt.Fprint(tw, s.API, "\t")
		for _, c := range columns {
			fmt.Fprint(tw, c.val(s), "\t")
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "calls: operation invocations; attempts: requests sent; throttled: attempts the endpoint throttled;")
	fmt.Fprintln(w, "refused: failed calls tollgate (or the SDK's retry quota) refused on the client side;")
	fmt.Fprintln(w, "p50/p99 ok: latency of the calls that succeeded; p50/p99 all: of every call, failed ones included.")
	if errs := errorSummary(r.Total.Errors); errs != "" {
		fmt.Fprintln(w, "failures by error:", errs)
	}
	return nil
}

func (r *Report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n\n| api |", strings.ToUpper(r.header()[:1])+r.header()[1:])
	sep := "|---|"
	for _, c := range columns {
		b.WriteString(" " + c.head + " |")
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, s := range r.rows() {
		name := "`" + s.API + "`"
		if s == &r.Total {
			name = "**total**"
		}
		b.WriteString("| " + name + " |")
		for _, c := range columns {
			b.WriteString(" " + c.val(s) + " |")
		}
		b.WriteString("\n")
	}
	if errs := errorSummary(r.Total.Errors); errs != "" {
		b.WriteString("\nFailures by error: " + errs + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func errorSummary(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
