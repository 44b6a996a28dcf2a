package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Import converts inputs to the native format, sorted by time, and writes it to w. It is
// Importer{Format: format}.Import: see there.
func Import(ctx context.Context, inputs []string, format string, w io.Writer) (Report, error) {
	im := Importer{Format: format}
	return im.Import(ctx, inputs, w)
}

// Importer converts trace inputs to the native format.
type Importer struct {
	// Format is the input format, one of Formats; "" means FormatAuto (detected per file).
	Format string
	// TempDir is where sorting puts its temporary files; "" means os.TempDir().
	TempDir string
	// ChunkSize is how many records are sorted in memory at a time (DefaultChunkSize if 0).
	ChunkSize int
}

// Import reads every input (files; directories are walked in lexical order, skipping names
// that start with "."; "-" is standard input), converts its records and writes them to w in
// the native format, in time order (records with equal times in input order). Memory use is
// bounded by ChunkSize, whatever the size of the inputs.
//
// Input that cannot be used never stops the import and is never dropped silently: each
// skipped line, record or file is counted in the Report by reason, with its first occurrence.
// Import fails only when an input does not exist, the format is unknown, ctx is done, or
// writing (w or the temporary files) fails.
func (im *Importer) Import(ctx context.Context, inputs []string, w io.Writer) (rep Report, err error) {
	format := im.Format
	if format == "" {
		format = FormatAuto
	}
	rep.Files = map[string]int{}
	var t tally
	defer func() { rep.Issues = t.list() }()
	if !validFormat(format) {
		return rep, fmt.Errorf("trace: import: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	if len(inputs) == 0 {
		return rep, errors.New("trace: import: no inputs")
	}
	files, err := expandInputs(inputs)
	if err != nil {
		return rep, err
	}
	sorter := NewSorter(im.TempDir, im.ChunkSize)
	defer sorter.Close()
	var rec Record
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		f, err := Open(name, format)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				ie = &InputError{File: name, Reason: ReasonUnreadableFile, Err: err}
			}
			t.add(ie, false)
			continue
		}
		rep.Files[f.Format()]++
		f.SetWarn(func(e *InputError) { t.add(e, true) })
		err = copyRecords(ctx, f, sorter, &rec, &t)
		f.Close()
		if err != nil {
			return rep, err
		}
	}
	src, err := sorter.SortedContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		return rep, err // "trace: sort: ..."
	}
	out := NewWriter(w)
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
		err := src.Read(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, err // "trace: sort: ..."
		}
		if err := out.Write(&rec); err != nil {
			return rep, fmt.Errorf("trace: import: writing output: %w", err)
		}
		rep.Written++
	}
	if err := out.Flush(); err != nil {
		return rep, fmt.Errorf("trace: import: writing output: %w", err)
	}
	return rep, nil
}

// copyRecords reads f into the sorter, counting what it skips. It returns only errors that end
// the import (ctx, the sorter); a file that fails to read is counted and ends that file.
func copyRecords(ctx context.Context, f *File, sorter *Sorter, rec *Record, t *tally) error {
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := f.Read(rec)
		var ie *InputError
		switch {
		case err == nil:
			// A reader's record that a trace cannot hold (Validate) is bad input at its line,
			// never the end of the import.
			var bad *invalidError
			if verr := rec.Validate(); errors.As(verr, &bad) {
				file, line := f.Position()
				t.add(bad.inputError(file, line), false)
				continue
			}
			if err := sorter.addValid(rec); err != nil {
				return err
			}
		case err == io.EOF:
			return nil
		case errors.As(err, &ie):
			t.add(ie, false)
			// Bad input may come fast and without records (a device, a binary file): look at
			// ctx for each one too.
			if err := ctx.Err(); err != nil {
				return err
			}
		default:
			t.addError(f.Name(), err)
			return nil
		}
	}
}

// expandInputs lists the files named by inputs, walking directories in lexical order. It fails
// if an input does not exist.
func expandInputs(inputs []string) ([]string, error) {
	var files []string
	for _, in := range inputs {
		if in == "-" {
			files = append(files, in)
			continue
		}
		info, err := os.Stat(in)
		if err != nil {
			return nil, fmt.Errorf("trace: import: %w", err)
		}
		if !info.IsDir() {
			files = append(files, in)
			continue
		}
		err = filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != in && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("trace: import: %w", err)
		}
	}
	return files, nil
}
