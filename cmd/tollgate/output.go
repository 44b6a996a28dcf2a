package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/plot"
	"github.com/tollgate/tollgate/simulate/report"
)

// reportFlags are --format, --out and --seed, shared by the commands that print a report.
type reportFlags struct {
	format string
	out    string
	seed   uint64
}

func (o *reportFlags) register(cmd *cobra.Command, outWhat, seedUsage string) {
	cli.FormatVar(cmd, &o.format, "the report printed on standard output")
	cmd.Flags().StringVar(&o.out, "out", "", "also write "+outWhat+" to directory `DIR` (created if missing; files are replaced whole, never partly)")
	_ = cmd.MarkFlagDirname("out")
	cli.SeedVar(cmd.Flags(), &o.seed, 0, seedUsage)
}

// Files a comparison's --out directory receives (the -by-api plots when a workload calls
// several APIs). The staged commit checks every file it moves; this list lets a command refuse
// an input among them before any work.
var comparisonFiles = []string{"report.json", "report.md", "report.txt",
	"goodput.svg", "goodput.png", "throttles.svg", "throttles.png", "latency-cdf.svg", "latency-cdf.png",
	"goodput-by-api.svg", "goodput-by-api.png", "throttles-by-api.svg", "throttles-by-api.png",
	"latency-cdf-by-api.svg", "latency-cdf-by-api.png"}

// Files brooker's --out directory receives.
var brookerFiles = []string{"brooker.json", "brooker.md", "brooker.txt",
	"brooker-calls.svg", "brooker-calls.png", "brooker-time.svg", "brooker-time.png"}

// checkOutputs refuses, before any work, an --out directory whose files would overwrite an
// input or that lies inside an input directory.
func checkOutputs(g *outfile.Guard, dir string, names []string) error {
	if dir == "" {
		return nil
	}
	if err := g.Check(dir); err != nil {
		return err
	}
	for _, n := range names {
		if err := g.Check(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// writeComparison prints c in the chosen format and, with --out, writes the report in every
// format and the plots.
func writeComparison(ctx context.Context, stdout io.Writer, o *reportFlags, g *outfile.Guard, c *simulate.Comparison) error {
	if err := report.Write(stdout, o.format, c); err != nil {
		return err
	}
	if o.out == "" {
		return nil
	}
	files, err := outfile.WriteDir(ctx, o.out, g, func(stage string) error {
		for _, f := range []struct{ name, format string }{{"report.json", "json"}, {"report.md", "markdown"}, {"report.txt", "table"}} {
			if err := writeStaged(filepath.Join(stage, f.name), func(w io.Writer) error { return report.Write(w, f.format, c) }); err != nil {
				return err
			}
		}
		_, err := plot.Comparison(c, stage)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s: %s\n", o.out, strings.Join(files, ", "))
	return nil
}

// writeStaged writes one file through outfile: a failed write leaves no partial file.
func writeStaged(path string, write func(io.Writer) error) error {
	f, err := outfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}
