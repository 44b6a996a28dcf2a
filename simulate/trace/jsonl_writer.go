package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Writer writes records in the native JSON Lines format, one object per line, fields in the
// documented order, empty fields omitted. Call Flush when done.
type Writer struct {
	w   *bufio.Writer
	buf []byte
	ts  timeFormatter
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 512)}
}

// Write writes one record. It refuses a record that Validate rejects.
func (w *Writer) Write(rec *Record) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	w.buf = append(w.buf[:0], `{"time":"`...)
	w.buf = w.ts.append(w.buf, rec.Time)
	w.buf = appendFields(w.buf, rec)
	_, err := w.w.Write(w.buf)
	return err
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

// Validate reports whether rec can be written to a trace: Time (years 0 to 9999), Service,
// Operation and a valid Outcome are required; Status must be within [0, 999]; Units and
// Latency must not be negative.
func (rec *Record) Validate() error {
	switch {
	case rec.Time.IsZero():
		return invalid(fTime, "required")
	case rec.Time.Before(minTime) || !rec.Time.Before(maxTime):
		return invalid(fTime, "year outside 0..9999")
	case rec.Service == "":
		return invalid(fService, "required")
	case rec.Operation == "":
		return invalid(fOperation, "required")
	case !rec.Outcome.Valid():
		return invalid(fOutcome, fmt.Sprintf("%q is not an outcome", rec.Outcome))
	case rec.Status < 0 || rec.Status > maxStatus:
		return invalid(fStatus, fmt.Sprintf("%d outside [0, %d]", rec.Status, maxStatus))
	case rec.Latency < 0:
		return invalid(fLatency, "negative")
	case rec.Units < 0 || rec.Units > maxUnits:
		return invalid(fUnits, fmt.Sprintf("%d outside [0, %d]", rec.Units, maxUnits))
	}
	return nil
}

// The times a trace can hold: years 0 to 9999, as RFC 3339 allows.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func invalid(f field, msg string) error {
	return &invalidError{field: f, msg: msg}
}

// invalidError is what Validate returns: the field at fault and what is wrong with it.
type invalidError struct {
	field field
	msg   string
}

func (e *invalidError) Error() string {
	return fmt.Sprintf("trace: invalid record: field %q: %s", e.field.String(), e.msg)
}

// inputError turns a record that Validate refuses into an *InputError at file:line, so that a
// reader's record a trace cannot hold is skipped and counted like any other bad input.
func (e *invalidError) inputError(file string, line int64) *InputError {
	reason := ReasonBadField
	switch {
	case e.field == fTime:
		reason = ReasonBadTime
	case e.msg == "required":
		reason = ReasonMissingField
	}
	return &InputError{File: file, Line: line, Field: e.field.String(), Reason: reason, Err: errors.New(e.msg)}
}

// appendJSON appends rec as one JSON object and a newline.
func appendJSON(b []byte, rec *Record) []byte {
	b = append(b, `{"time":"`...)
	b = appendRFC3339(b, rec.Time)
	return appendFields(b, rec)
}

// appendFields appends the rest of rec's JSON object after the time value.
func appendFields(b []byte, rec *Record) []byte {
	b = append(b, '"')
	b = appendStringField(b, `,"service":`, rec.Service)
	b = appendStringField(b, `,"operation":`, rec.Operation)
	b = appendStringField(b, `,"region":`, rec.Region)
	b = appendStringField(b, `,"resource":`, rec.Resource)
	b = appendStringField(b, `,"key":`, rec.Key)
	b = appendStringField(b, `,"outcome":`, string(rec.Outcome))
	b = appendStringField(b, `,"error_code":`, rec.ErrorCode)
	if rec.Status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(rec.Status), 10)
	}
	if rec.Latency != 0 {
		b = append(b, `,"latency_ms":`...)
		b = appendMillis(b, rec.Latency)
	}
	if rec.Units != 0 {
		b = append(b, `,"units":`...)
		b = strconv.AppendInt(b, int64(rec.Units), 10)
	}
	b = appendStringField(b, `,"client":`, rec.Client)
	return append(b, '}', '\n')
}

func appendStringField(b []byte, prefix, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, prefix...)
	return appendJSONString(b, s)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as in
// encoding/json, so that what is written reads back unchanged.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time.
		if i+8 <= len(s) && specialMask(le64(s[i:])) == 0 {
			i += 8
			continue
		}
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// le64 loads eight bytes of s as a little-endian word.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
