package trace

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// CSVReader reads a trace in CSV form: a header row naming native fields, then one record
// per row. Columns may come in any order; time, service, operation and outcome are required;
// columns whose header is not a native field name are ignored (IgnoredColumns lists them).
// Values are written as in the native format without JSON quoting: status and units as
// integers, latency_ms as a decimal number, an empty cell for an absent value.
type CSVReader struct {
	cr      *csv.Reader
	name    string
	cols    []field // field of each column, fUnknown for ignored ones
	ignored []string
	dec     fieldDecoder
	err     error // sticky fatal error
	line    int64
	scratch []byte
	lim     *lineLimiter
}

// NewCSVReader returns a CSVReader that reads from r. name identifies r in errors.
func NewCSVReader(r io.Reader, name string) *CSVReader {
	lim := &lineLimiter{r: r, max: MaxLineBytes}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked here, to name the line and keep going
	return &CSVReader{cr: cr, name: name, lim: lim}
}

// lineLimiter passes a reader's bytes on until a line is longer than max, then fails with
// errLineTooLong: encoding/csv holds a whole line in memory, however long (/dev/zero is one
// endless line).
type lineLimiter struct {
	r    io.Reader
	max  int64
	run  int64 // bytes since the last newline
	line int64 // lines passed on
}

var errLineTooLong = errors.New("line too long")

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for b := p[:n]; len(b) > 0; {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.run += int64(len(b))
			break
		}
		l.run, l.line, b = 0, l.line+1, b[i+1:]
	}
	if l.run > l.max {
		return n, errLineTooLong
	}
	return n, err
}

// Position returns the input's name and the line of the record last read.
func (r *CSVReader) Position() (string, int64) { return r.name, r.line }

// IgnoredColumns returns the header names that are not native fields, after the first Read.
func (r *CSVReader) IgnoredColumns() []string { return r.ignored }

// Read reads the next record into rec, with the same contract as Reader.Read: io.EOF at the
// end, *InputError for a row it skips (the next Read continues), any other error fatal. A
// header it cannot use yields one *InputError, then io.EOF.
func (r *CSVReader) Read(rec *Record) error {
	if r.err != nil {
		return r.err
	}
	if r.cols == nil {
		if err := r.readHeader(); err != nil {
			if isInputErr(err) {
				r.err = io.EOF // without a usable header, the rest of the file is skipped
			}
			return err
		}
	}
	for {
		row, err := r.cr.Read()
		if err != nil {
			return r.rowError(err)
		}
		line, _ := r.cr.FieldPos(0)
		r.line = int64(line)
		if len(row) == 1 && row[0] == "" {
			continue
		}
		return r.decode(row, rec)
	}
}

func (r *CSVReader) readHeader() error {
	row, err := r.cr.Read()
	if err == io.EOF {
		return &InputError{File: r.name, Line: 1, Reason: ReasonMalformedLine, Err: errors.New("empty file: want a header row")}
	}
	if err != nil {
		return r.rowError(err)
	}
	cols := make([]field, len(row))
	var have uint32
	for i, name := range row {
		f := lookupField([]byte(name))
		if f != fUnknown {
			if have&(1<<f) != 0 {
				return &InputError{File: r.name, Line: 1, Field: name, Reason: ReasonMalformedLine, Err: errors.New("duplicate column")}
			}
			have |= 1 << f
		} else {
			r.ignored = append(r.ignored, name)
		}
		cols[i] = f
	}
	for _, f := range [...]field{fTime, fService, fOperation, fOutcome} {
		if have&(1<<f) == 0 {
			return &InputError{File: r.name, Line: 1, Field: f.String(), Reason: ReasonMissingField, Err: errors.New("header has no such column; rest of the file skipped")}
		}
	}
	r.cols = cols
	return nil
}

// rowError turns an encoding/csv error into an InputError (the reader goes on with the next
// row) or a fatal error.
func (r *CSVReader) rowError(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: r.name, Line: int64(pe.Line), Reason: ReasonMalformedLine, Err: pe.Err}
	}
	if errors.Is(err, errLineTooLong) {
		r.err = io.EOF
		return &InputError{File: r.name, Line: r.lim.line + 1, Reason: ReasonMalformedLine,
			Err: fmt.Errorf("line longer than %d bytes: rest of the file skipped", MaxLineBytes)}
	}
	r.err = &ReadError{File: r.name, Line: r.line, Err: err}
	return r.err
}

func (r *CSVReader) decode(row []string, rec *Record) error {
	if len(row) != len(r.cols) {
		return &InputError{File: r.name, Line: r.line, Reason: ReasonMalformedLine,
			Err: fmt.Errorf("%d columns, header has %d", len(row), len(r.cols))}
	}
	*rec = Record{}
	d := &r.dec
	d.seen = 0
	for i, f := range r.cols {
		if f == fUnknown || row[i] == "" {
			continue
		}
		var reason string
		var err error
		if f.numeric() {
			v := []byte(row[i])
			if end, jerr := scanNumber(v, 0); jerr != nil || end != len(v) {
				reason, err = ReasonBadField, fmt.Errorf("%q is not a number", row[i])
			} else {
				reason, err = d.setNumber(rec, f, v)
			}
		} else {
			v := []byte(row[i])
			if !utf8.Valid(v) {
				r.scratch = appendValidUTF8(r.scratch[:0], v)
				v = r.scratch
			}
			reason, err = d.setString(rec, f, v)
		}
		if err != nil {
			return &InputError{File: r.name, Line: r.line, Field: f.String(), Reason: reason, Err: err}
		}
	}
	if f := d.missing(); f != fUnknown {
		return &InputError{File: r.name, Line: r.line, Field: f.String(), Reason: ReasonMissingField, Err: errors.New("required, missing")}
	}
	return nil
}

// CSVWriter writes records as CSV with a header row of all native field names.
type CSVWriter struct {
	cw     *csv.Writer
	header bool
	row    [nFields]string
	buf    []byte
}

// NewCSVWriter returns a CSVWriter that writes to w. Call Flush when done.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{cw: csv.NewWriter(w)} }

// Write writes one record (after the header, on the first call). It refuses a record that
// Validate rejects.
func (w *CSVWriter) Write(rec *Record) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	if !w.header {
		w.header = true
		if err := w.cw.Write(fieldNames[:]); err != nil {
			return err
		}
	}
	w.buf = appendRFC3339(w.buf[:0], rec.Time)
	w.row[fTime] = string(w.buf)
	w.row[fService] = rec.Service
	w.row[fOperation] = rec.Operation
	w.row[fRegion] = rec.Region
	w.row[fResource] = rec.Resource
	w.row[fKey] = rec.Key
	w.row[fOutcome] = string(rec.Outcome)
	w.row[fErrorCode] = rec.ErrorCode
	w.row[fStatus] = intCell(rec.Status)
	w.row[fLatency] = ""
	if rec.Latency != 0 {
		w.row[fLatency] = string(appendMillis(w.buf[:0], rec.Latency))
	}
	w.row[fUnits] = intCell(rec.Units)
	w.row[fClient] = rec.Client
	return w.cw.Write(w.row[:])
}

func intCell(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// Flush writes buffered data to the underlying writer and reports any write error.
func (w *CSVWriter) Flush() error {
	if !w.header {
		w.header = true
		if err := w.cw.Write(fieldNames[:]); err != nil {
			return err
		}
	}
	w.cw.Flush()
	return w.cw.Error()
}

// appendValidUTF8 appends b with each byte that is not part of valid UTF-8 replaced by
// U+FFFD, as encoding/json and the native Writer do.
func appendValidUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}

func isInputErr(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
