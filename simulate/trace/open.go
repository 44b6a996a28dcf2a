package trace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

// Formats of trace input, as Open and Import name them.
const (
	FormatAuto        = "auto"          // detect from the content
	FormatJSONL       = "jsonl"         // the native JSON Lines format
	FormatCSV         = "csv"           // the native fields as CSV with a header row
	FormatS3AccessLog = "s3-access-log" // Amazon S3 server access logs
	FormatCloudTrail  = "cloudtrail"    // CloudTrail log files ({"Records":[...]})
)

// Formats lists the formats Open accepts, FormatAuto first.
var Formats = []string{FormatAuto, FormatJSONL, FormatCSV, FormatS3AccessLog, FormatCloudTrail}

// detectBytes is how much of a file detection looks at.
const detectBytes = 64 << 10

// File is an opened trace input: a Source over one file, decompressed if it is gzip.
type File struct {
	Source
	name   string
	format string
	closer io.Closer
}

// Open opens the file name ("-" for standard input) as a trace in format (one of Formats).
// Gzip input is recognised by its magic bytes, whatever its name. With FormatAuto the format
// is detected from the content (see DetectFormat); a file that matches none yields an
// *InputError with ReasonUnrecognizedFile.
func Open(name, format string) (*File, error) {
	if !validFormat(format) {
		return nil, fmt.Errorf("trace: unknown format %q (want one of %v)", format, Formats)
	}
	var r io.Reader
	var closer io.Closer
	if name == "-" {
		r = os.Stdin
		name = "<stdin>"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		r, closer = f, f
	}
	f, err := NewFile(r, name, format)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	f.closer = closer
	return f, nil
}

// NewFile is Open for an already opened input r; name identifies it in errors.
func NewFile(r io.Reader, name, format string) (*File, error) {
	if !validFormat(format) {
		return nil, fmt.Errorf("trace: unknown format %q (want one of %v)", format, Formats)
	}
	br := bufio.NewReaderSize(r, detectBytes)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &InputError{File: name, Reason: ReasonUnreadableFile, Err: fmt.Errorf("gzip: %w", err)}
		}
		br = bufio.NewReaderSize(zr, detectBytes)
	}
	if format == FormatAuto {
		// A read error after some bytes is left for the reader to report with its line.
		head, err := br.Peek(detectBytes)
		if len(head) == 0 && err != nil && err != io.EOF {
			return nil, &InputError{File: name, Reason: ReasonUnreadableFile, Err: err}
		}
		format = DetectFormat(head)
		if format == "" {
			return nil, &InputError{File: name, Line: 1, Reason: ReasonUnrecognizedFile,
				Err: fmt.Errorf("not a trace (jsonl or csv), an S3 server access log or a CloudTrail log file")}
		}
	}
	f := &File{name: name, format: format}
	switch format {
	case FormatJSONL:
		f.Source = NewReader(br, name)
	case FormatCSV:
		f.Source = NewCSVReader(br, name)
	case FormatS3AccessLog:
		f.Source = NewS3AccessLogReader(br, name)
	case FormatCloudTrail:
		f.Source = NewCloudTrailReader(br, name)
	}
	return f, nil
}

// Format returns the format of the file (detected, for FormatAuto).
func (f *File) Format() string { return f.format }

// Position returns the file's name and the line of the record last read (0 if its reader
// does not count lines).
func (f *File) Position() (string, int64) {
	if p, ok := f.Source.(Positioner); ok {
		return p.Position()
	}
	return f.name, 0
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// SetWarn sets the function called for records that are kept but flagged (an unknown
// operation or event source); it applies to the importer formats only.
func (f *File) SetWarn(warn func(*InputError)) {
	switch s := f.Source.(type) {
	case *S3AccessLogReader:
		s.Warn = warn
	case *CloudTrailReader:
		s.Warn = warn
	}
}

// Close closes the file (not standard input).
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

func validFormat(format string) bool {
	for _, f := range Formats {
		if f == format {
			return true
		}
	}
	return false
}

// DetectFormat names the format of a file that starts with head (decompressed), or returns ""
// if it recognises none. An empty head is FormatJSONL (an empty trace). The rules, in order:
// a JSON object whose first key is "Records", or a CloudTrail digest file, is FormatCloudTrail;
// any other JSON object is FormatJSONL; a first line that is a CSV header with time, service,
// operation and outcome columns is FormatCSV; a file one of whose first ten lines splits into
// at least 17 access log fields with a valid time in the third is FormatS3AccessLog.
func DetectFormat(head []byte) string {
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return FormatJSONL
	}
	line := trimmed
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = trimLine(line)
	if trimmed[0] == '{' {
		i := skipWS(trimmed, 1)
		if i < len(trimmed) && trimmed[i] == '"' {
			var scratch []byte
			key, _, err := decodeString(trimmed, i, &scratch)
			if err == nil && (string(key) == "Records" || string(key) == "awsAccountId" || bytes.HasPrefix(key, []byte("digest"))) {
				return FormatCloudTrail
			}
		}
		return FormatJSONL
	}
	if isCSVHeader(line) {
		return FormatCSV
	}
	// An access log: any of the first lines (the first may be damaged) parses as one.
	rest := trimmed
	for range 10 {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		var tok [s3KnownFields][]byte
		if n, err := splitS3Fields(trimLine(line), &tok); err == nil && n >= s3MinFields {
			var tp s3TimeParser
			if _, ok := tp.parse(tok[s3Time]); ok {
				return FormatS3AccessLog
			}
		}
		if len(rest) == 0 {
			break
		}
	}
	return ""
}

func isCSVHeader(line []byte) bool {
	var have uint32
	for _, col := range bytes.Split(line, []byte(",")) {
		col = bytes.Trim(col, `" `)
		if f := lookupField(col); f != fUnknown {
			have |= 1 << f
		}
	}
	return have&requiredFields == requiredFields
}
