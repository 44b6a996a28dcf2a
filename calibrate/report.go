package calibrate

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/simulate"
)

// Report is a calibration: per strategy, the simulator's figures beside the real runs', row by
// row (the total, each group, each API), with the relative error and the verdict of each check.
type Report struct {
	Scenario    string  `json:"scenario"`
	Description string  `json:"description,omitempty"`
	DurationS   float64 `json:"duration_s"`
	// Seeds are the scenario seeds run (each side's figures are the median over them).
	Seeds []uint64 `json:"seeds"`
	// Scale is the factor the scenario was scaled by (1: as written), Scaled what it scaled;
	// ProbeCallsPerS what the machine made in its probe and DemandPerS the attempts per
	// second the scenario's open loops ask for (0 when no probe ran).
	Scale          float64 `json:"scale"`
	Scaled         string  `json:"scaled,omitempty"`
	ProbeCallsPerS float64 `json:"probe_calls_per_s,omitempty"`
	DemandPerS     float64 `json:"demand_per_s,omitempty"`
	// RTT is each group's round trip: the scenario's, and the median of the real runs' (the
	// simulator ran with the measured one).
	RTT        []GroupRTT       `json:"rtt"`
	Warnings   []string         `json:"warnings,omitempty"`
	Strategies []StrategyResult `json:"strategies"`
}

// GroupRTT is a group's round trip, in milliseconds: in the scenario, and measured in the real
// runs (the median over seeds of each run's median; -1 when no attempt was answered).
type GroupRTT struct {
	Group      string  `json:"group"`
	ScenarioMs float64 `json:"scenario_ms"`
	MeasuredMs float64 `json:"measured_ms"`
}

// StrategyResult is one strategy's comparison.
type StrategyResult struct {
	Strategy string `json:"strategy"`
	// Retryer is what ran in the real runs: "standard", "adaptive" (the SDK's retryers) or
	// "tollgate" (its one-line install).
	Retryer string `json:"retryer"`
	// Agree of Checked metrics passed their check.
	Agree   int   `json:"agree"`
	Checked int   `json:"checked"`
	Rows    []Row `json:"rows"`
	// Virtual and Real are the answered attempts per second over time, averaged over seeds.
	Virtual SeriesMean `json:"virtual_series"`
	Real    SeriesMean `json:"real_series"`
}

// Row is one scope's metrics: "total", "group NAME", an API ("EC2 DescribeInstances") over
// every group, or "GROUP: API".
type Row struct {
	Scope   string   `json:"scope"`
	Metrics []Metric `json:"metrics"`
}

// SeriesMean is attempts and throttled attempts per second, averaged over seeds.
type SeriesMean struct {
	Attempts  []float64 `json:"attempts_per_s"`
	Throttled []float64 `json:"throttled_per_s"`
}

func addSeries(dst *SeriesMean, width float64, attempts, throttled []uint64) {
	if width <= 0 {
		return
	}
	for i := range attempts {
		for len(dst.Attempts) <= i {
			dst.Attempts, dst.Throttled = append(dst.Attempts, 0), append(dst.Throttled, 0)
		}
		dst.Attempts[i] += float64(attempts[i]) / width
		dst.Throttled[i] += float64(throttled[i]) / width
	}
}

// addSeries sums a seed's series of both sides.
func (r *StrategyResult) addSeries(v *simulate.SeriesReport, real *load.Series) {
	addSeries(&r.Virtual, v.WidthS, v.Attempts, v.Throttled)
	addSeries(&r.Real, real.WidthS, real.Attempts, real.Throttled)
}

// scaleSeries turns the sums over n seeds into means.
func (r *StrategyResult) scaleSeries(n int) {
	for _, s := range []*SeriesMean{&r.Virtual, &r.Real} {
		for i := range s.Attempts {
			s.Attempts[i] /= float64(n)
			s.Throttled[i] /= float64(n)
		}
	}
}

// Formats lists Write's formats.
var Formats = []string{"table", "json", "markdown"}

// Write writes r as "table", "json" or "markdown".
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "table":
		return r.writeTable(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown", "md":
		return r.writeMarkdown(w)
	}
	return fmt.Errorf("calibrate: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

func (r *Report) header() []string {
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = strconv.FormatUint(s, 10)
	}
	h := []string{fmt.Sprintf("calibrate %s: %gs of load, seeds %s (each side the median over them)", r.Scenario, r.DurationS, strings.Join(seeds, ", "))}
	if r.Scaled != "" {
		h = append(h, r.Scaled)
	}
	var rtt []string
	for _, g := range r.RTT {
		m := "none answered"
		if g.MeasuredMs >= 0 {
			m = fmtMs(g.MeasuredMs) + " measured"
		}
		rtt = append(rtt, fmt.Sprintf("%s %s in the scenario, %s", g.Group, fmtMs(g.ScenarioMs), m))
	}
	h = append(h, "round trips (the simulator runs with the measured ones): "+strings.Join(rtt, "; "))
	return h
}

// value prints a metric's value in its unit.
func value(unit string, v float64) string {
	switch unit {
	case "share":
		return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
	case "ratio":
		return strconv.FormatFloat(v, 'f', 3, 64)
	case "count":
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	case "ms":
		return fmtMs(v)
	case "per_s":
		return strconv.FormatFloat(v, 'f', 2, 64) + "/s"
	case "s":
		if v < 0 {
			return "never"
		}
		return strconv.FormatFloat(v, 'f', 2, 64) + "s"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func fmtMs(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
}

func errorText(m *Metric) string {
	if m.Error == nil {
		if m.Virtual == m.Real {
			return "0%"
		}
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100**m.Error)
}

// realClient says what ran in a real run.
func realClient(retryer string) string {
	if retryer == load.RetryerTollgate {
		return "tollgate's one-line install"
	}
	return "the SDK's " + retryer + " retryer"
}

func verdict(m *Metric) string {
	if m.Agrees == nil {
		return ""
	}
	if *m.Agrees {
		return "ok (" + m.Check + ")"
	}
	return "MISS (" + m.Check + ")"
}

func (r *Report) writeTable(w io.Writer) error {
	if r.Description != "" {
		fmt.Fprintln(w, r.Description)
	}
	for _, h := range r.header() {
		fmt.Fprintln(w, h)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	for i := range r.Strategies {
		st := &r.Strategies[i]
		fmt.Fprintf(w, "\n%s (real run: %s): %d of %d checks agree\n", st.Strategy, realClient(st.Retryer), st.Agree, st.Checked)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "scope\tmetric\tvirtual\treal\terror\tcheck")
		for _, row := range st.Rows {
			for j := range row.Metrics {
				m := &row.Metrics[j]
				scope := ""
				if j == 0 {
					scope = row.Scope
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", scope, m.Name, value(m.Unit, m.Virtual), value(m.Unit, m.Real), errorText(m), verdict(m))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "virtual: the simulator; real: real aws-sdk-go-v2 clients against the in-process emulator, in real time;")
	fmt.Fprintln(w, "error: (virtual - real) / real; calls failed by reason: limiter and retry refusals are client-side.")
	return nil
}

func (r *Report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Calibration: `%s`\n\n", r.Scenario)
	if r.Description != "" {
		b.WriteString(r.Description + "\n\n")
	}
	for _, h := range r.header() {
		b.WriteString(h + ".\n")
	}
	for _, warn := range r.Warnings {
		b.WriteString("\n> warning: " + warn + "\n")
	}
	for i := range r.Strategies {
		st := &r.Strategies[i]
		fmt.Fprintf(&b, "\n#### %s: %d of %d checks agree\n\n| scope | metric | virtual | real | error | check |\n|---|---|---:|---:|---:|---|\n",
			st.Strategy, st.Agree, st.Checked)
		for _, row := range st.Rows {
			for j := range row.Metrics {
				m := &row.Metrics[j]
				scope := ""
				if j == 0 {
					scope = row.Scope
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", scope, strings.TrimSpace(m.Name), value(m.Unit, m.Virtual),
					value(m.Unit, m.Real), errorText(m), verdict(m))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
