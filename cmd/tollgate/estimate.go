package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tollgate/tollgate/simulate"
)

// estimateReport is what `simulate --estimate` prints: the estimate and the limits it is
// checked against (-1: none).
type estimateReport struct {
	Scenario string `json:"scenario"`
	Runs     int    `json:"runs"`     // strategies × seeds
	Parallel int    `json:"parallel"` // runs executing at once
	// Per run: calls started, the most attempts they may make, the most calls in flight,
	// client processes, closed-loop workers, bytes of state.
	Calls     float64 `json:"calls_per_run"`
	Attempts  float64 `json:"max_attempts_per_run"`
	InFlight  float64 `json:"max_in_flight_per_run"`
	Processes int     `json:"processes_per_run"`
	Workers   int     `json:"workers_per_run"`
	RunMemory float64 `json:"memory_per_run_bytes"`
	// Work is (calls + attempts) × runs, checked against MaxWork; Memory the bytes of the runs
	// executing at once, checked against MaxMemory.
	Work      float64 `json:"work"`
	Memory    float64 `json:"memory_bytes"`
	MaxWork   int64   `json:"max_work"`
	MaxMemory int64   `json:"max_memory_bytes"`
	Refused   string  `json:"refused,omitempty"` // "work" or "memory": what a run would be refused for
}

// effectiveLimit is a limit with its default filled in; -1 means none.
func effectiveLimit(v, def int64) int64 {
	switch {
	case v < 0:
		return -1
	case v == 0:
		return def
	}
	return v
}

// writeEstimate prints the estimated work and memory of simulating sc with opts and returns
// the *simulate.LimitError a run would be refused with, if any.
func writeEstimate(w io.Writer, format string, sc *simulate.Scenario, opts simulate.Options) error {
	est, err := simulate.Estimate(sc, opts)
	if err != nil {
		return err
	}
	r := estimateReport{Scenario: sc.Name, Runs: est.Runs, Parallel: est.Parallel, Calls: est.Calls, Attempts: est.Attempts,
		InFlight: est.InFlight, Processes: est.Processes, Workers: est.Workers, RunMemory: est.RunMemory, Work: est.Work, Memory: est.Memory,
		MaxWork:   effectiveLimit(opts.Limits.MaxWork, simulate.DefaultMaxWork),
		MaxMemory: effectiveLimit(opts.Limits.MaxMemory, simulate.DefaultMaxMemory)}
	var refusal *simulate.LimitError
	switch {
	case r.MaxWork >= 0 && est.Work > float64(r.MaxWork):
		r.Refused = "work"
		refusal = &simulate.LimitError{What: fmt.Sprintf("scenario %q", sc.Name), Resource: "work", Need: est.Work, Limit: r.MaxWork,
			Detail: fmt.Sprintf("%.3g calls and up to %.3g attempts per run × %d runs", est.Calls, est.Attempts, est.Runs)}
	case r.MaxMemory >= 0 && est.Memory > float64(r.MaxMemory):
		r.Refused = "memory"
		refusal = &simulate.LimitError{What: fmt.Sprintf("scenario %q", sc.Name), Resource: "memory", Need: est.Memory, Limit: r.MaxMemory,
			Detail: fmt.Sprintf("%d processes, %d workers and %.3g calls in flight per run × %d at once", est.Processes, est.Workers, est.InFlight, est.Parallel)}
	}
	if format == "json" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
			return err
		}
	} else if err := writeEstimateTable(w, format == "markdown", r); err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	return nil
}

func writeEstimateTable(w io.Writer, markdown bool, r estimateReport) error {
	limit := func(v int64, unit func(float64) string) string {
		if v < 0 {
			return "no limit"
		}
		return "limit " + unit(float64(v))
	}
	count := func(v float64) string { return fmt.Sprintf("%.3g", v) }
	rows := [][3]string{
		{"runs", fmt.Sprintf("%d (%d at once)", r.Runs, r.Parallel), ""},
		{"calls per run", count(r.Calls), ""},
		{"attempts per run", "up to " + count(r.Attempts), ""},
		{"work (calls + attempts)", count(r.Work), limit(r.MaxWork, count) + " (--max-work)"},
		{"calls in flight per run", "up to " + count(r.InFlight), ""},
		{"client processes, workers per run", fmt.Sprintf("%d, %d", r.Processes, r.Workers), ""},
		{"memory per run", bytesString(r.RunMemory), ""},
		{"memory of the runs at once", bytesString(r.Memory), limit(r.MaxMemory, bytesString) + " (--max-memory)"},
	}
	verdict := "within the limits: the run would start"
	if r.Refused != "" {
		verdict = "over the " + r.Refused + " limit: the run would be refused"
	}
	if markdown {
		fmt.Fprintf(w, "Estimate of scenario %q: %s.\n\n| | estimate | limit |\n|---|---:|---|\n", r.Scenario, verdict)
		for _, row := range rows {
			fmt.Fprintf(w, "| %s | %s | %s |\n", row[0], row[1], row[2])
		}
		return nil
	}
	fmt.Fprintf(w, "estimate of scenario %q\n", r.Scenario)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		if row[2] == "" {
			fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
		} else {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", row[0], row[1], row[2])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, verdict)
	return err
}

// bytesString writes a size in KiB, MiB or GiB with three significant digits.
func bytesString(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.3g GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.3g MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.3g KiB", b/(1<<10))
}
