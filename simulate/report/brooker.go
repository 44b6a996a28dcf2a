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

// WriteBrooker writes a Brooker experiment's result in format ("table", "json", "markdown"):
// one row per client count, the mean calls and completion time of each jitter kind.
func WriteBrooker(w io.Writer, format string, r *simulate.BrookerResult) error {
	if format == "json" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	var jitters []string
	var clients []int
	cell := map[[2]string]simulate.BrookerPoint{}
	for _, p := range r.Points {
		if !containsString(jitters, p.Jitter) {
			jitters = append(jitters, p.Jitter)
		}
		if len(clients) == 0 || clients[len(clients)-1] != p.Clients {
			clients = append(clients, p.Clients)
		}
		cell[[2]string{strconv.Itoa(p.Clients), p.Jitter}] = p
	}
	head := []string{"clients"}
	for _, j := range jitters {
		head = append(head, "calls "+j)
	}
	for _, j := range jitters {
		head = append(head, "time "+j)
	}
	rows := [][]string{}
	for _, n := range clients {
		row := []string{strconv.Itoa(n)}
		for _, j := range jitters {
			row = append(row, strconv.FormatFloat(cell[[2]string{strconv.Itoa(n), j}].Calls, 'f', 1, 64))
		}
		for _, j := range jitters {
			row = append(row, dur(cell[[2]string{strconv.Itoa(n), j}].CompletionMs))
		}
		rows = append(rows, row)
	}
	title := fmt.Sprintf("Brooker, \"Exponential Backoff And Jitter\" (2015): OCC on one row, mean of %d runs per point, seed %d", r.Runs, r.Seed)
	switch format {
	case "table":
		fmt.Fprintln(w, title)
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "calls: writes (successful or not) until every client got its one write in; time: until the last did.")
		return nil
	case "markdown", "md":
		fmt.Fprintf(w, "### %s\n\n", title)
		fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---:|", len(head)))
		for _, row := range rows {
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
		return nil
	}
	return fmt.Errorf("report: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
