package trace

import (
	"errors"
	"fmt"
	"strconv"
)

// InputError reports input that a reader could not use: a line (or, for CloudTrail, a record)
// it skipped, or a whole file it could not read. Readers return it from Read and stay usable:
// the next Read continues after the bad input. Any other error from Read is fatal.
type InputError struct {
	// File is the input's name as given to the reader ("" if none).
	File string
	// Line is the 1-based line of the bad input, 0 if it concerns the whole file.
	Line int64
	// Record is the 1-based index of the bad record in a file that holds several records per
	// line (a CloudTrail log file, usually all on line 1), 0 otherwise.
	Record int64
	// Field is the native field name or log field at fault, "" if the whole line is.
	Field string
	// Reason is a short, fixed category (one of the Reason constants) used to count problems.
	Reason string
	// Err says what is wrong.
	Err error
}

func (e *InputError) Error() string {
	b := []byte("trace: ")
	if e.File != "" {
		b = append(b, e.File...)
	} else {
		b = append(b, "input"...)
	}
	if e.Line > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, e.Line, 10)
	}
	b = append(b, ": "...)
	if e.Record > 0 {
		b = append(b, "record "...)
		b = strconv.AppendInt(b, e.Record, 10)
		b = append(b, ": "...)
	}
	if e.Field != "" {
		b = append(b, "field "...)
		b = strconv.AppendQuote(b, e.Field)
		b = append(b, ": "...)
	}
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	} else {
		b = append(b, e.Reason...)
	}
	return string(b)
}

func (e *InputError) Unwrap() error { return e.Err }

// Reasons for skipping or flagging input, as counted in a Report. Reasons ending in "(kept)"
// flag records that were written anyway.
const (
	ReasonMalformedLine    = "malformed line"
	ReasonMalformedRecord  = "malformed record"
	ReasonMissingField     = "missing field"
	ReasonBadField         = "bad field"
	ReasonBadTime          = "bad time"
	ReasonNotAPICall       = "not an API call"
	ReasonPartOfOtherCall  = "part of another call"
	ReasonUnknownOperation = "unknown operation (kept)"
	ReasonUnknownService   = "unknown event source (kept)"
	ReasonBadKeyEncoding   = "bad key encoding (kept)"
	ReasonDigestFile       = "CloudTrail digest file"
	ReasonUnrecognizedFile = "unrecognized file"
	ReasonUnreadableFile   = "unreadable file"
)

// errorf builds an InputError's Err without the package prefix (InputError adds it).
func errorf(format string, args ...any) error {
	if len(args) == 0 {
		return errors.New(format)
	}
	return fmt.Errorf(format, args...)
}

// errZeroTime reports a time that is Go's zero time (0001-01-01T00:00:00Z), which a record
// cannot hold: it means "no time" (Record.Validate). Logs write it for a missing time.
func errZeroTime(text []byte) error {
	return fmt.Errorf("%q is the zero time 0001-01-01T00:00:00Z, which stands for a missing time", text)
}

// ReadError is a fatal failure to read an input (an I/O error, a corrupt gzip stream). Line is
// the last line read completely before the failure.
type ReadError struct {
	File string
	Line int64
	Err  error
}

func (e *ReadError) Error() string {
	name := e.File
	if name == "" {
		name = "input"
	}
	return fmt.Sprintf("trace: %s: after line %d: %v", name, e.Line, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }
