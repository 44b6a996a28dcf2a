package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/simulate/trace"
)

func init() {
	register(&command{
		name:    "import",
		summary: "convert S3 access logs, CloudTrail logs or CSV to a native trace",
		run:     runImport,
	})
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "import [flags] INPUT...\n\n"+
		"Converts INPUTs (files or directories; gzip is fine; - for standard input) to tollgate's native trace\n"+
		"format (JSON Lines, sorted by time) and reports what it skipped and why: counts by reason, with the\n"+
		"first offending file:line.", stdout)
	inFormat := fs.String("input-format", trace.FormatAuto, "input format: "+strings.Join(trace.Formats, ", "))
	format := fs.String("format", "table", "format of the import report: table, json, markdown")
	out := fs.String("out", "", "write trace.jsonl and import.json to this directory")
	output := fs.String("output", "", "write the trace here (default: standard output, unless --out)")
	tmp := fs.String("tmpdir", "", "directory for the sort's temporary files (default: the system's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *format {
	case "table", "json", "markdown":
	default:
		return usagef("--format: want table, json or markdown, not %q", *format)
	}
	if fs.NArg() == 0 {
		return usagef("want at least one INPUT")
	}
	if *out != "" && *output != "" {
		return usagef("give --out or --output, not both")
	}
	var (
		w      io.Writer = stdout
		report           = stderr
		f      *os.File
		err    error
	)
	switch {
	case *output != "":
		f, err = os.Create(*output)
	case *out != "":
		if err = os.MkdirAll(*out, 0o755); err == nil {
			f, err = os.Create(filepath.Join(*out, "trace.jsonl"))
		}
	}
	if err != nil {
		return err
	}
	if f != nil {
		w, report = f, stdout
	}
	im := trace.Importer{Format: *inFormat, TempDir: *tmp}
	rep, err := im.Import(ctx, fs.Args(), w)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeFile(filepath.Join(*out, "import.json"), func(w io.Writer) error { return writeImportJSON(w, rep) }); err != nil {
			return err
		}
	}
	switch *format {
	case "json":
		return writeImportJSON(report, rep)
	case "markdown":
		fmt.Fprintf(report, "%d records written, %d skipped.\n\n| reason | count | kept | first |\n|---|---:|---|---|\n", rep.Written, rep.Skipped())
		for _, is := range rep.Issues {
			fmt.Fprintf(report, "| %s | %d | %t | `%s` |\n", is.Reason, is.Count, is.Kept, is.FirstError)
		}
		return nil
	}
	return rep.WriteText(report)
}

func writeImportJSON(w io.Writer, rep trace.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
