package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// DefaultChunkSize is the number of records a Sorter sorts in memory before it writes them
// to a temporary file.
const DefaultChunkSize = 1 << 16

// maxFanIn bounds how many temporary files a Sorter merges at once (and keeps open), each
// read through a buffer of runBufferSize bytes.
const (
	maxFanIn      = 64
	runBufferSize = 16 << 10
)

// Sorter sorts records by time in bounded memory: it sorts chunks of ChunkSize records in
// memory, writes each sorted chunk (a run) to a temporary file in the native format, and
// merges the runs. Records with equal times keep the order in which they were added.
//
// Use: Add every record, then Sorted once, read the result, then Close.
type Sorter struct {
	dir       string // temporary directory, made on the first spill
	tempDir   string
	chunkSize int
	buf       []Record
	runs      []string
	sorted    bool
	open      *runSource // the merged runs returned by Sorted
}

// NewSorter returns a Sorter that keeps at most chunkSize records in memory (DefaultChunkSize
// if chunkSize <= 0) and puts its temporary files in a new directory under tempDir
// (os.TempDir() if "").
func NewSorter(tempDir string, chunkSize int) *Sorter {
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	return &Sorter{tempDir: tempDir, chunkSize: chunkSize}
}

// Add adds a record. It refuses a record that Validate rejects.
func (s *Sorter) Add(rec *Record) error {
	if s.sorted {
		return errors.New("trace: Sorter.Add after Sorted")
	}
	if err := rec.Validate(); err != nil {
		return err
	}
	return s.addValid(rec)
}

// addValid adds a record Validate accepts.
func (s *Sorter) addValid(rec *Record) error {
	if s.sorted {
		return errors.New("trace: Sorter.Add after Sorted")
	}
	s.buf = append(s.buf, *rec)
	if len(s.buf) >= s.chunkSize {
		return s.spill()
	}
	return nil
}

func sortByTime(recs []Record) {
	slices.SortStableFunc(recs, func(a, b Record) int { return a.Time.Compare(b.Time) })
}

// spill sorts the buffered records and writes them to a new run file.
func (s *Sorter) spill() error {
	sortByTime(s.buf)
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.tempDir, "tollgate-trace-sort-")
		if err != nil {
			return fmt.Errorf("trace: sort: %w", err)
		}
		s.dir = dir
	}
	path := filepath.Join(s.dir, fmt.Sprintf("run-%06d.jsonl", len(s.runs)))
	err := writeRun(path, func(w *Writer) error {
		for i := range s.buf {
			if err := w.Write(&s.buf[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.runs = append(s.runs, path)
	clear(s.buf) // drop string references
	s.buf = s.buf[:0]
	return nil
}

func writeRun(path string, fill func(*Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace: sort: %w", err)
	}
	w := NewWriter(f)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("trace: sort: writing %s: %w", path, err)
	}
	return nil
}

// Sorted returns the added records in time order. The Source is valid until Close.
func (s *Sorter) Sorted() (Source, error) {
	return s.SortedContext(context.Background())
}

// SortedContext is Sorted, stopping with ctx's error when ctx is done: with more than 64
// temporary files it merges them in passes first, which takes as long as copying the records.
func (s *Sorter) SortedContext(ctx context.Context) (Source, error) {
	if s.sorted {
		return nil, errors.New("trace: Sorter.Sorted called twice")
	}
	s.sorted = true
	if len(s.runs) == 0 {
		sortByTime(s.buf)
		return &sliceSource{recs: s.buf}, nil
	}
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return nil, err
		}
	}
	// Merge in passes until few enough runs remain to open at once. Runs are merged in
	// consecutive groups, so equal times keep their order.
	for len(s.runs) > maxFanIn {
		var next []string
		for i := 0; i < len(s.runs); i += maxFanIn {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			group := s.runs[i:min(i+maxFanIn, len(s.runs))]
			path := filepath.Join(s.dir, fmt.Sprintf("merge-%06d-%06d.jsonl", len(s.runs), i))
			if err := s.mergeRuns(ctx, group, path); err != nil {
				return nil, err
			}
			next = append(next, path)
		}
		s.runs = next
	}
	src, err := s.openRuns(s.runs)
	if err != nil {
		return nil, err
	}
	s.open = src
	return src, nil
}

func (s *Sorter) mergeRuns(ctx context.Context, paths []string, out string) error {
	src, err := s.openRuns(paths)
	if err != nil {
		return err
	}
	defer src.Close()
	err = writeRun(out, func(w *Writer) error {
		var rec Record
		for n := 1; ; n++ {
			if n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := src.Read(&rec); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := w.Write(&rec); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return err
	}
	for _, p := range paths {
		os.Remove(p)
	}
	return nil
}

func (s *Sorter) openRuns(paths []string) (*runSource, error) {
	rs := &runSource{}
	srcs := make([]Source, 0, len(paths))
	var shared interner // one string table for all runs: they hold the same strings
	shared.ensure()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			rs.Close()
			return nil, fmt.Errorf("trace: sort: %w", err)
		}
		rs.files = append(rs.files, f)
		r := &Reader{lines: newLineReader(f, p, runBufferSize)}
		r.dec.in = shared
		srcs = append(srcs, runReader{r})
	}
	rs.Source = Merge(srcs...)
	return rs, nil
}

// Close removes the temporary files.
func (s *Sorter) Close() error {
	s.buf = nil
	if s.open != nil {
		s.open.Close()
		s.open = nil
	}
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.dir = ""
	return err
}

// runReader reads a run file; any bad line in it is a defect, so it is fatal.
type runReader struct{ r *Reader }

func (rr runReader) Read(rec *Record) error {
	err := rr.r.Read(rec)
	var ie *InputError
	if errors.As(err, &ie) {
		return fmt.Errorf("trace: sort: temporary file corrupted: %w", err)
	}
	return err
}

type runSource struct {
	Source
	files []*os.File
}

func (rs *runSource) Close() error {
	for _, f := range rs.files {
		f.Close()
	}
	rs.files = nil
	return nil
}

type sliceSource struct {
	recs []Record
	i    int
}

func (s *sliceSource) Read(rec *Record) error {
	if s.i >= len(s.recs) {
		return io.EOF
	}
	*rec = s.recs[s.i]
	s.i++
	return nil
}
