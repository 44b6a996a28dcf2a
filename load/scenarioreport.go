package load

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tollgate/tollgate/internal/redact"
)

// ScenarioReport is what a scenario run did: in total, per group and per API (over every group
// and within each), with the simulator's give-up reasons.
type ScenarioReport struct {
	Scenario string `json:"scenario"`
	Endpoint string `json:"endpoint"`
	// Retryer is "standard", "adaptive" (the SDK's modes) or "tollgate".
	Retryer string `json:"retryer"`
	// Seed is the run seed whose draws the run replayed.
	Seed      uint64  `json:"seed"`
	DurationS float64 `json:"duration_s"` // the load window (the scenario's duration)
	Seconds   float64 `json:"seconds"`    // until the last call finished
	// Offered counts the open-loop calls due; Dropped those not started because MaxInFlight
	// calls were in flight (never silently: they are in the figures below too).
	Offered     int64 `json:"offered"`
	Dropped     int64 `json:"dropped"`
	MaxInFlight int   `json:"max_in_flight"`
	// LateP50Ms and LateP99Ms are how late open-loop calls started after their arrival time:
	// a machine that cannot drive the scenario's rate starts them late.
	LateP50Ms float64 `json:"late_p50_ms"`
	LateP99Ms float64 `json:"late_p99_ms"`
	CallStats
	Groups []GroupStats `json:"groups"`
	// Operations are per API over every group.
	Operations []OperationStats `json:"operations"`
	// Series counts answered attempts per second.
	Series Series `json:"series"`
}

// GroupStats are one group's figures.
type GroupStats struct {
	Group string `json:"group"`
	CallStats
	Operations []OperationStats `json:"operations"`
}

// OperationStats are one API's figures.
type OperationStats struct {
	OpKey
	CallStats
}

// Name labels the row as the simulator does: "EC2 DescribeInstances", with the resource, the
// unfiltered variant and a Region other than us-east-1 when set.
func (k OpKey) Name() string {
	s := k.Service + " " + k.Operation
	if k.Unfiltered {
		s += " (unfiltered)"
	}
	if k.Resource != "" {
		s += " " + k.Resource
	}
	if k.Region != "" && k.Region != "us-east-1" {
		s += " @" + k.Region
	}
	return s
}

func (r *scenarioRecorder) report(cfg ScenarioConfig, retryer string, elapsed time.Duration, offered, dropped int64) *ScenarioReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	endpoint := cfg.Endpoint
	if u, err := url.Parse(endpoint); err == nil {
		endpoint = redact.URL(u)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	rep := &ScenarioReport{Scenario: r.sc.Name, Endpoint: endpoint, Retryer: retryer, Seed: cfg.Seed,
		DurationS: r.window.Seconds(), Seconds: elapsed.Seconds(), Offered: offered, Dropped: dropped, MaxInFlight: cfg.MaxInFlight,
		LateP50Ms: ms(r.lates.Quantile(0.5)), LateP99Ms: ms(r.lates.Quantile(0.99)), Series: r.series,
		CallStats: CallStats{BudgetExhaustedS: -1}}
	apis := map[OpKey]int{}
	for gi, g := range r.sc.Groups {
		gs := GroupStats{Group: g.Name, CallStats: CallStats{BudgetExhaustedS: -1}}
		rows := map[OpKey]int{}
		for oi := range r.stats[gi] {
			s := &r.stats[gi][oi]
			k := r.ops[gi][oi].key
			i, ok := rows[k]
			if !ok {
				i = len(gs.Operations)
				rows[k] = i
				gs.Operations = append(gs.Operations, OperationStats{OpKey: k, CallStats: CallStats{BudgetExhaustedS: -1}})
			}
			gs.Operations[i].add(s)
			gs.add(s)
			j, ok := apis[k]
			if !ok {
				j = len(rep.Operations)
				apis[k] = j
				rep.Operations = append(rep.Operations, OperationStats{OpKey: k, CallStats: CallStats{BudgetExhaustedS: -1}})
			}
			rep.Operations[j].add(s)
		}
		for i := range gs.Operations {
			gs.Operations[i].finish(r.window)
		}
		gs.finish(r.window)
		rep.add(&gs.CallStats)
		rep.Groups = append(rep.Groups, gs)
	}
	for i := range rep.Operations {
		rep.Operations[i].finish(r.window)
	}
	rep.finish(r.window)
	return rep
}

// Write writes r in format: "table", "json" or "markdown".
func (r *ScenarioReport) Write(w io.Writer, format string) error {
	return writeAs(w, format, r, r.writeTable, r.writeMarkdown)
}

func (r *ScenarioReport) header() string {
	h := fmt.Sprintf("scenario %s against %s with the %s retryer, run seed %d: %.1fs of load, done at %.1fs", r.Scenario, r.Endpoint,
		r.Retryer, r.Seed, r.DurationS, r.Seconds)
	if r.Offered > 0 {
		h += fmt.Sprintf("; open-loop calls started late by %s (p50), %s (p99)", ms(r.LateP50Ms), ms(r.LateP99Ms))
	}
	if r.Dropped > 0 {
		h += fmt.Sprintf("; %d of %d open-loop calls not started (%d already in flight)", r.Dropped, r.Offered, r.MaxInFlight)
	}
	return h
}

var scenarioColumns = []struct {
	head string
	val  func(s *CallStats) string
}{
	{"calls", func(s *CallStats) string { return fmt.Sprint(s.Calls) }},
	{"dropped", func(s *CallStats) string { return fmt.Sprint(s.Dropped) }},
	{"attempts", func(s *CallStats) string { return fmt.Sprint(s.Attempts) }},
	{"throttled", func(s *CallStats) string { return fmt.Sprint(s.Throttled) }},
	{"succeeded", func(s *CallStats) string { return fmt.Sprint(s.Succeeded) }},
	{"failed", func(s *CallStats) string { return fmt.Sprint(s.Failed()) }},
	{"client-side", func(s *CallStats) string { return fmt.Sprint(s.ClientSide()) }},
	{"goodput/s", func(s *CallStats) string { return fmt.Sprintf("%.1f", s.GoodputPerS) }},
	{"p50 ok", func(s *CallStats) string { return okMs(s, s.SucceededP50Ms) }},
	{"p99 ok", func(s *CallStats) string { return okMs(s, s.SucceededP99Ms) }},
	{"p50 all", func(s *CallStats) string { return ms(s.AllP50Ms) }},
	{"rtt p50", func(s *CallStats) string { return ms(s.RTTP50Ms) }},
	{"quota out", func(s *CallStats) string {
		if s.BudgetExhaustedS < 0 {
			return "-"
		}
		return fmt.Sprintf("%.1fs", s.BudgetExhaustedS)
	}},
}

func ms(v float64) string { return seconds(v / 1e3) }

func okMs(s *CallStats, v float64) string {
	if s.Succeeded == 0 {
		return "-"
	}
	return ms(v)
}

// failures returns the failed calls by reason, "deadline 3, retry_refused 2".
func failures(s *CallStats) string {
	var parts []string
	for _, f := range []struct {
		n    int
		name string
	}{{s.LimiterRefused, EndLimiterRefused}, {s.RetryRefused, EndRetryRefused}, {s.Deadline, EndDeadline},
		{s.DeadlineInFlight, EndDeadlineInFlight}, {s.Exhausted, EndExhausted}, {s.NonRetryable, EndNonRetryable}} {
		if f.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f.name, f.n))
		}
	}
	return strings.Join(parts, ", ")
}

// rows returns the report's rows: the total, each group (when there are several) and each API.
func (r *ScenarioReport) rows() (names []string, stats []*CallStats) {
	names, stats = append(names, "total"), append(stats, &r.CallStats)
	if len(r.Groups) > 1 {
		for i := range r.Groups {
			names, stats = append(names, "group "+r.Groups[i].Group), append(stats, &r.Groups[i].CallStats)
		}
	}
	for i := range r.Groups {
		for j := range r.Groups[i].Operations {
			op := &r.Groups[i].Operations[j]
			name := op.Name()
			if len(r.Groups) > 1 {
				name = r.Groups[i].Group + ": " + name
			}
			names, stats = append(names, name), append(stats, &op.CallStats)
		}
	}
	return names, stats
}

func (r *ScenarioReport) writeTable(w io.Writer) error {
	fmt.Fprintln(w, r.header())
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, c := range scenarioColumns {
		fmt.Fprint(tw, c.head, "\t")
	}
	fmt.Fprintln(tw)
	names, stats := r.rows()
	for i, s := range stats {
		fmt.Fprint(tw, names[i], "\t")
		for _, c := range scenarioColumns {
			fmt.Fprint(tw, c.val(s), "\t")
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if f := failures(&r.CallStats); f != "" {
		fmt.Fprintln(w, "failed calls by reason:", f)
	}
	fmt.Fprintln(w, "client-side: failed calls the client refused (limiter, retry quota or budget); p50/p99 ok: latency of the")
	fmt.Fprintln(w, "calls that succeeded; p50 all: of every call; rtt: of answered attempts; quota out: the first retry a quota refused.")
	return nil
}

func (r *ScenarioReport) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	h := r.header()
	fmt.Fprintf(&b, "%s.\n\n| |", strings.ToUpper(h[:1])+h[1:])
	sep := "|---|"
	for _, c := range scenarioColumns {
		b.WriteString(" " + c.head + " |")
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	names, stats := r.rows()
	for i, s := range stats {
		b.WriteString("| " + names[i] + " |")
		for _, c := range scenarioColumns {
			b.WriteString(" " + c.val(s) + " |")
		}
		b.WriteString("\n")
	}
	if f := failures(&r.CallStats); f != "" {
		b.WriteString("\nFailed calls by reason: " + f + ".\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
