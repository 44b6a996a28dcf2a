// Package report writes simulator comparisons as a terminal table, JSON or Markdown.
//
// Every writer is deterministic: the same Comparison always gives the same bytes.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tollgate/tollgate/simulate"
)

// Formats lists the output formats, for flag help.
var Formats = []string{"table", "json", "markdown"}

// Write writes c in format ("table", "json" or "markdown").
func Write(w io.Writer, format string, c *simulate.Comparison) error {
	switch format {
	case "table":
		return WriteTable(w, c)
	case "json":
		return WriteJSON(w, c)
	case "markdown", "md":
		return WriteMarkdown(w, c)
	}
	return fmt.Errorf("report: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteJSON writes c as indented JSON with a trailing newline.
func WriteJSON(w io.Writer, c *simulate.Comparison) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// column is a table column: a header and how to print a summary's value.
type column struct {
	head string
	val  func(s *simulate.Summary) string
}

// columns are the strategy table's columns.
var columns = []column{
	{"requests", func(s *simulate.Summary) string { return u(s.Requests) }},
	{"attempts", func(s *simulate.Summary) string { return u(s.Attempts) }},
	{"successes", func(s *simulate.Summary) string { return u(s.Successes) }},
	{"throttled", func(s *simulate.Summary) string { return u(s.Throttled) }},
	{"give-ups", func(s *simulate.Summary) string { return u(s.GiveUps) }},
	{"goodput/s", func(s *simulate.Summary) string { return f(s.GoodputPerS, 1) }},
	{"capacity", func(s *simulate.Summary) string { return f(s.CapacityShare*100, 1) + "%" }},
	{"ampl.", func(s *simulate.Summary) string { return f(s.Amplification, 3) }},
	{"p50", func(s *simulate.Summary) string { return dur(s.LatencyP50Ms) }},
	{"p90", func(s *simulate.Summary) string { return dur(s.LatencyP90Ms) }},
	{"p99", func(s *simulate.Summary) string { return dur(s.LatencyP99Ms) }},
	{"max", func(s *simulate.Summary) string { return dur(s.LatencyMaxMs) }},
	{"done at", func(s *simulate.Summary) string { return f(s.CompletionS, 1) + "s" }},
}

// apiColumns are the per-API table's columns: the strategy table's, with the capacity of the
// API's buckets per second beside its share.
var apiColumns = func() []column {
	var out []column
	for _, c := range columns {
		if c.head == "capacity" {
			out = append(out, column{"cap./s", func(s *simulate.Summary) string {
				if s.CapacityPerS == 0 {
					return "-"
				}
				return f(s.CapacityPerS, 1)
			}})
		}
		out = append(out, c)
	}
	return out
}()

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func f(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }

// dur prints milliseconds compactly: "20ms", "1.24s".
func dur(ms float64) string {
	if ms < 1000 {
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
}

func header(c *simulate.Comparison) string {
	runs := "1 run"
	if c.Runs != 1 {
		runs = fmt.Sprintf("%d runs", c.Runs)
	}
	h := fmt.Sprintf("scenario %s: %gs, seed %d, %s; server capacity %s/s", c.Scenario, c.DurationS, c.Seed, runs, f(c.CapacityPerS, 1))
	if c.Skipped > 0 {
		h += fmt.Sprintf("; %d trace records skipped", c.Skipped)
	}
	return h
}

// WriteTable writes c as an aligned text table: one row per strategy (all groups) and, when
// there are several groups, an indented row per group.
func WriteTable(w io.Writer, c *simulate.Comparison) error {
	if c.Description != "" {
		fmt.Fprintln(w, c.Description)
	}
	fmt.Fprintln(w, header(c))
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, s *simulate.Summary) {
		fmt.Fprint(tw, name, "\t")
		for _, col := range columns {
			fmt.Fprint(tw, col.val(s), "\t")
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "strategy\t")
	for _, col := range columns {
		fmt.Fprint(tw, col.head, "\t")
	}
	fmt.Fprintln(tw)
	multi := len(c.Strategies) > 0 && len(c.Strategies[0].Groups) > 1
	for i := range c.Strategies {
		st := &c.Strategies[i]
		row(st.Strategy, &st.Summary)
		if multi {
			for j := range st.Groups {
				row("  "+st.Groups[j].Group, &st.Groups[j].Summary)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "per API (every group):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "strategy\tAPI\t")
	for _, col := range apiColumns {
		fmt.Fprint(tw, col.head, "\t")
	}
	fmt.Fprintln(tw)
	apiRow := func(strategy, api string, s *simulate.Summary) {
		fmt.Fprint(tw, strategy, "\t", api, "\t")
		for _, col := range apiColumns {
			fmt.Fprint(tw, col.val(s), "\t")
		}
		fmt.Fprintln(tw)
	}
	for i := range c.Strategies {
		st := &c.Strategies[i]
		for j := range st.Operations {
			op := &st.Operations[j]
			name := ""
			if j == 0 {
				name = st.Strategy
			}
			apiRow(name, op.Name, &op.Summary)
			if op.Alone != nil {
				apiRow("", op.Name+" (alone)", op.Alone)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "throttled: attempts the server refused; give-ups: calls that never succeeded; ampl.: attempts per call;")
	fmt.Fprintln(w, "capacity: goodput as a share of what the server's buckets could serve (cap./s: what they could serve per second,")
	fmt.Fprintln(w, "S3 partition splits and capacity changes included; APIs without a server limit are left out);")
	fmt.Fprintln(w, "p50..max: latency of successful calls; (alone): the API run on its own, nothing else calling.")
	return nil
}

// WriteMarkdown writes c as a Markdown section with one table (strategies, and groups when
// there are several).
func WriteMarkdown(w io.Writer, c *simulate.Comparison) error {
	fmt.Fprintf(w, "### Scenario `%s`\n\n", c.Scenario)
	if c.Description != "" {
		fmt.Fprintf(w, "%s\n\n", c.Description)
	}
	fmt.Fprintf(w, "%s.\n\n", strings.TrimPrefix(header(c), "scenario "+c.Scenario+": "))
	var b strings.Builder
	b.WriteString("| strategy |")
	sep := "|---|"
	for _, col := range columns {
		b.WriteString(" " + col.head + " |")
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	row := func(name string, s *simulate.Summary) {
		b.WriteString("| " + name + " |")
		for _, col := range columns {
			b.WriteString(" " + col.val(s) + " |")
		}
		b.WriteString("\n")
	}
	multi := len(c.Strategies) > 0 && len(c.Strategies[0].Groups) > 1
	for i := range c.Strategies {
		st := &c.Strategies[i]
		row("**"+st.Strategy+"**", &st.Summary)
		if multi {
			for j := range st.Groups {
				row("↳ "+st.Groups[j].Group, &st.Groups[j].Summary)
			}
		}
	}
	b.WriteString("\nPer API (every group):\n\n| strategy | API |")
	sep = "|---|---|"
	for _, col := range apiColumns {
		b.WriteString(" " + col.head + " |")
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	apiRow := func(strategy, api string, s *simulate.Summary) {
		b.WriteString("| " + strategy + " | " + api + " |")
		for _, col := range apiColumns {
			b.WriteString(" " + col.val(s) + " |")
		}
		b.WriteString("\n")
	}
	for i := range c.Strategies {
		st := &c.Strategies[i]
		for j := range st.Operations {
			op := &st.Operations[j]
			name := ""
			if j == 0 {
				name = "**" + st.Strategy + "**"
			}
			apiRow(name, op.Name, &op.Summary)
			if op.Alone != nil {
				apiRow("", op.Name+" (alone)", op.Alone)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
