package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate/trace"
)

func newImportCommand() *cobra.Command {
	var format, inFormat, out, output, tmp string
	cmd := &cobra.Command{
		Use:   "import INPUT...",
		Short: "convert S3 access logs, CloudTrail logs or CSV to a native trace",
		Long: `Converts INPUTs (files or directories; gzip is fine; - for standard input) to tollgate's native
trace format (JSON Lines, sorted by time) and reports what it skipped and why: counts by reason,
with the first offending file:line:field.

The trace goes to standard output (and the report to standard error), to --output FILE, or to
trace.jsonl in --out DIR (with the report as import.json). Files are written whole through a
temporary file, never over an input; if no record is usable nothing is written and the exit
status is 3.`,
		Example: `  tollgate import access.log --out traces/
  tollgate import logs/2025-06/ --input-format s3-access-log --output june.jsonl
  tollgate import cloudtrail/*.json.gz > trace.jsonl`,
		Args: cli.MinArgs(1, "INPUT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" && output != "" {
				return cli.Usagef("give --out or --output, not both")
			}
			stdout, report := cmd.OutOrStdout(), cmd.ErrOrStderr()
			g := outfile.NewGuard(args...)
			var (
				w     io.Writer = stdout
				trf   *outfile.File
				stage *outfile.Stage
				err   error
			)
			switch {
			case output != "":
				if err := g.Check(output); err != nil {
					return err
				}
				trf, err = outfile.Create(output)
			case out != "":
				if err := checkOutputs(g, out, []string{"trace.jsonl", "import.json"}); err != nil {
					return err
				}
				if stage, err = outfile.NewStage(out); err == nil {
					defer stage.Abort()
					trf, err = outfile.Create(filepath.Join(stage.Path(), "trace.jsonl"))
				}
			}
			if err != nil {
				return err
			}
			if trf != nil {
				defer trf.Abort()
				w, report = trf, stdout
			}
			im := trace.Importer{Format: inFormat, TempDir: tmp}
			rep, err := im.Import(cmd.Context(), args, w)
			if err != nil {
				return err
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			if rep.Written == 0 {
				if err := writeImportReport(report, format, rep); err != nil {
					return err
				}
				return cli.NothingUsablef("no usable record in the input: nothing written")
			}
			if trf != nil {
				if err := trf.Commit(); err != nil {
					return err
				}
			}
			if stage != nil {
				if err := writeStaged(filepath.Join(stage.Path(), "import.json"), func(w io.Writer) error { return writeImportJSON(w, rep) }); err != nil {
					return err
				}
				if _, err := stage.Commit(g); err != nil {
					return err
				}
			}
			return writeImportReport(report, format, rep)
		},
	}
	cli.FormatVar(cmd, &format, "the import report")
	f := cmd.Flags()
	cli.EnumVar(cmd, &inFormat, "input-format", trace.FormatAuto, trace.Formats, "input format")
	f.StringVar(&out, "out", "", "write trace.jsonl and import.json (the report) to directory `DIR`")
	_ = cmd.MarkFlagDirname("out")
	f.StringVar(&output, "output", "", "write the trace to `FILE` (default: standard output, unless --out)")
	f.StringVar(&tmp, "tmpdir", "", "`DIR` for the sort's temporary files (default: the system's)")
	_ = cmd.MarkFlagDirname("tmpdir")
	return cmd
}

func writeImportReport(w io.Writer, format string, rep trace.Report) error {
	switch format {
	case "json":
		return writeImportJSON(w, rep)
	case "markdown":
		fmt.Fprintf(w, "%d records written, %d skipped.\n\n| reason | count | kept | first |\n|---|---:|---|---|\n", rep.Written, rep.Skipped())
		for _, is := range rep.Issues {
			fmt.Fprintf(w, "| %s | %d | %t | `%s` |\n", is.Reason, is.Count, is.Kept, is.FirstError)
		}
		return nil
	}
	return rep.WriteText(w)
}

func writeImportJSON(w io.Writer, rep trace.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
