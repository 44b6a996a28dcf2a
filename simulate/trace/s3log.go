package trace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Fields of an S3 server access log line, 0-based, in the documented order.
const (
	s3BucketOwner = iota
	s3Bucket
	s3Time
	s3RemoteIP
	s3Requester
	s3RequestID
	s3Operation
	s3Key
	s3RequestURI
	s3Status
	s3ErrorCode
	s3BytesSent
	s3ObjectSize
	s3TotalTime
	s3TurnAroundTime
	s3Referer
	s3UserAgent
	s3VersionID
	s3HostID
	s3SignatureVersion
	s3CipherSuite
	s3AuthType
	s3HostHeader
	s3TLSVersion
	s3AccessPointARN
	s3ACLRequired
	s3Region // newest examples only; unverified name
	s3KnownFields
)

// s3MinFields is the number of fields every S3 access log line has had since the format was
// published (through User-Agent). Shorter lines are malformed.
const s3MinFields = s3UserAgent + 1

// s3FieldNames name the fields in errors.
var s3FieldNames = [s3KnownFields]string{
	"Bucket Owner", "Bucket", "Time", "Remote IP", "Requester", "Request ID", "Operation",
	"Key", "Request-URI", "HTTP status", "Error Code", "Bytes Sent", "Object Size",
	"Total Time", "Turn-Around Time", "Referer", "User-Agent", "Version Id", "Host Id",
	"Signature Version", "Cipher Suite", "Authentication Type", "Host Header", "TLS version",
	"Access Point ARN", "aclRequired", "Region",
}

// S3AccessLogReader reads Amazon S3 server access log records and returns them as trace
// records. Each line is one request: fields in the documented order, separated by spaces,
// "[...]" and "\"...\"" grouping fields that contain spaces, "-" for an empty field. Fields
// after the known ones are ignored (AWS appends new fields at the end).
//
// The record's Service is "S3", Resource the bucket, Key the decoded object key, Operation
// the SDK operation (see s3_operations.csv), Latency the Total Time, and Outcome follows from
// the HTTP status and Error Code. Client is ClientID of the Requester. Region comes from the
// trailing Region field or, failing that, the Host Header.
//
// Lines that are not API calls of their own (the source read of a copy, the per-key rows of a
// multi-object delete, lifecycle actions S3 performs) are skipped with an *InputError, as are
// malformed lines. Records are returned in file order, which is not time order.
type S3AccessLogReader struct {
	// Warn, if set, is called for records that are returned but deserve attention: an
	// operation missing from the table (kept with its log name), a key that is not valid
	// URL encoding (kept as logged).
	Warn func(*InputError)

	lines   lineReader
	tables  *tables
	in      interner
	clients clientIDs
	tok     [s3KnownFields][]byte
	key     []byte
	time    s3TimeParser
}

// NewS3AccessLogReader returns a reader of S3 server access log lines from r (not gzip: see
// Open). name identifies r in errors.
func NewS3AccessLogReader(r io.Reader, name string) *S3AccessLogReader {
	return &S3AccessLogReader{lines: newLineReader(r, name, 64<<10), tables: mustTables()}
}

// Read reads the next record into rec, with the same contract as Reader.Read: io.EOF at the
// end, *InputError for a line it skips (the next Read continues), any other error fatal.
func (r *S3AccessLogReader) Read(rec *Record) error {
	for {
		line, err := r.lines.next()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			continue
		}
		return r.parse(line, rec)
	}
}

// Position returns the input's name and the line of the record last read.
func (r *S3AccessLogReader) Position() (string, int64) { return r.lines.name, r.lines.line }

func (r *S3AccessLogReader) parse(line []byte, rec *Record) error {
	n, err := splitS3Fields(line, &r.tok)
	if err != nil {
		return r.lines.errorf("", ReasonMalformedLine, "%v", err)
	}
	if n < s3MinFields {
		return r.lines.errorf("", ReasonMalformedLine, "%d fields, want at least %d", n, s3MinFields)
	}
	tok := &r.tok
	*rec = Record{Service: "S3"}

	t, ok := r.time.parse(tok[s3Time])
	if !ok {
		return r.fieldErr(s3Time, ReasonBadTime, fmt.Errorf("%q is not [dd/Mon/yyyy:HH:MM:SS ±hhmm]", tok[s3Time]))
	}
	if t.IsZero() {
		return r.fieldErr(s3Time, ReasonBadTime, errZeroTime(tok[s3Time]))
	}
	rec.Time = t

	if isDash(tok[s3Operation]) {
		return r.fieldErr(s3Operation, ReasonMissingField, errors.New("required, missing"))
	}
	op, known := r.tables.s3Operation(tok[s3Operation])
	if known && op.skip != "" {
		return r.fieldErr(s3Operation, op.skip, fmt.Errorf("%s is %s", tok[s3Operation], op.skip))
	}
	if isDash(tok[s3Bucket]) {
		return r.fieldErr(s3Bucket, ReasonMissingField, errors.New("required, missing"))
	}
	rec.Resource = r.in.text(tok[s3Bucket])

	if status := tok[s3Status]; !isDash(status) {
		v, ok := atoiBytes(status)
		if !ok || v > maxStatus {
			return r.fieldErr(s3Status, ReasonBadField, fmt.Errorf("%q is not an HTTP status", status))
		}
		rec.Status = v
	}
	if code := tok[s3ErrorCode]; !isDash(code) {
		rec.ErrorCode = r.in.text(code)
	}
	rec.Outcome = classify(rec.ErrorCode, rec.Status)
	if total := tok[s3TotalTime]; n > s3TotalTime && !isDash(total) {
		ms, ok := atoiBytes(total)
		if !ok {
			return r.fieldErr(s3TotalTime, ReasonBadField, fmt.Errorf("%q is not a number of milliseconds", total))
		}
		rec.Latency = time.Duration(ms) * time.Millisecond
	}
	if req := tok[s3Requester]; !isDash(req) {
		rec.Client = r.clients.get(req)
	}
	rec.Region = r.region(n)

	var warn *InputError
	if key := tok[s3Key]; !isDash(key) {
		decoded, ok := unescapePath(r.key[:0], key)
		r.key = decoded[:0]
		if !ok {
			decoded = key
			warn = r.fieldErr(s3Key, ReasonBadKeyEncoding, fmt.Errorf("%q is not valid URL encoding of UTF-8; kept as logged", key))
		}
		rec.Key = r.in.text(decoded)
	}
	switch {
	case !known:
		rec.Operation = r.in.text(tok[s3Operation])
		warn = r.fieldErr(s3Operation, ReasonUnknownOperation, fmt.Errorf("%s is not in the operation table; kept as is", tok[s3Operation]))
	case rec.Key == "" && op.bucketOperation != "":
		rec.Operation = op.bucketOperation
	case op.operation == "ListObjects" && bytes.Contains(tok[s3RequestURI], []byte("list-type=2")):
		rec.Operation = "ListObjectsV2"
	default:
		rec.Operation = op.operation
	}
	if warn != nil && r.Warn != nil {
		r.Warn(warn)
	}
	return nil
}

func (r *S3AccessLogReader) fieldErr(f int, reason string, err error) *InputError {
	return &InputError{File: r.lines.name, Line: r.lines.line, Field: s3FieldNames[f], Reason: reason, Err: err}
}

// region returns the Region of the current line: the trailing Region field when present,
// else the Region in the Host Header ("bucket.s3.us-west-1.amazonaws.com"), else "".
func (r *S3AccessLogReader) region(n int) string {
	if n > s3Region && looksLikeRegion(r.tok[s3Region]) {
		return r.in.text(r.tok[s3Region])
	}
	if n > s3HostHeader {
		if reg := regionFromHost(r.tok[s3HostHeader]); reg != nil {
			return r.in.text(reg)
		}
	}
	return ""
}

// splitS3Fields splits an access log line into the known fields (brackets and quotes
// removed) and returns how many fields the line has, counting at most one past the known
// ones. A "[" or "\"" group ends at the matching "]" or "\"" that is followed by a space or
// the end of the line and not preceded by a backslash, so a quote inside a User-Agent does not
// end the field.
func splitS3Fields(line []byte, tok *[s3KnownFields][]byte) (int, error) {
	n := 0
	i := 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i >= len(line) {
			return n, nil
		}
		if n == s3KnownFields {
			return n + 1, nil // extra trailing fields: ignored
		}
		var end, next int
		switch open := line[i]; open {
		case '[', '"':
			closer := byte(']')
			if open == '"' {
				closer = '"'
			}
			end = -1
			for j := i + 1; j < len(line); j++ {
				if line[j] == closer && (j+1 == len(line) || line[j+1] == ' ') && line[j-1] != '\\' {
					end = j
					break
				}
			}
			if end < 0 {
				return n, fmt.Errorf("field %d (%s): unterminated %c", n+1, s3FieldNames[n], open)
			}
			tok[n] = line[i+1 : end]
			next = end + 1
		default:
			end = bytes.IndexByte(line[i:], ' ')
			if end < 0 {
				end = len(line)
			} else {
				end += i
			}
			tok[n] = line[i:end]
			next = end
		}
		n++
		i = next
	}
}

func isDash(b []byte) bool { return len(b) == 0 || (len(b) == 1 && b[0] == '-') }

// atoiBytes parses a non-negative decimal integer of at most 18 digits.
func atoiBytes(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// unescapePath appends the URL-decoded b to dst (%XX escapes only; '+' stays '+', as in
// object keys). ok is false for a malformed escape or a result that is not UTF-8.
func unescapePath(dst, b []byte) ([]byte, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '%' {
			dst = append(dst, b[i])
			continue
		}
		if i+2 >= len(b) {
			return dst, false
		}
		hi, ok1 := unhex(b[i+1])
		lo, ok2 := unhex(b[i+2])
		if !ok1 || !ok2 {
			return dst, false
		}
		dst = append(dst, hi<<4|lo)
		i += 2
	}
	return dst, utf8.Valid(dst)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// looksLikeRegion reports whether b has the shape of a Region code: lower-case letters and
// digits in at least three dash-separated parts, ending in a number ("us-east-1",
// "ap-southeast-2", "us-gov-west-1").
func looksLikeRegion(b []byte) bool {
	if len(b) < 6 || len(b) > 25 || b[len(b)-1] < '0' || b[len(b)-1] > '9' {
		return false
	}
	dashes := 0
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && b[i-1] != '-':
			dashes++
		default:
			return false
		}
	}
	return dashes >= 2
}

// regionFromHost finds the Region in an S3 endpoint host name: the label after "s3" (skipping
// "dualstack") or the rest of an "s3-" label. It returns nil if there is none.
func regionFromHost(host []byte) []byte {
	for len(host) > 0 {
		label := host
		rest := []byte(nil)
		if dot := bytes.IndexByte(host, '.'); dot >= 0 {
			label, rest = host[:dot], host[dot+1:]
		}
		switch {
		case string(label) == "s3" || string(label) == "s3-fips":
			next := rest
			if dot := bytes.IndexByte(next, '.'); dot >= 0 {
				next = next[:dot]
			}
			if string(next) == "dualstack" {
				rest = rest[len(next):]
				if len(rest) > 0 {
					rest = rest[1:]
				}
				next = rest
				if dot := bytes.IndexByte(next, '.'); dot >= 0 {
					next = next[:dot]
				}
			}
			if looksLikeRegion(next) {
				return next
			}
		case bytes.HasPrefix(label, []byte("s3-")) && looksLikeRegion(label[3:]):
			return label[3:]
		}
		host = rest
	}
	return nil
}

// s3TimeParser parses the access log time "06/Feb/2019:00:00:38 +0000" (brackets removed),
// remembering the last minute it saw.
type s3TimeParser struct {
	prefix [17]byte
	minute time.Time
}

var monthAbbrevs = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func (tp *s3TimeParser) parse(b []byte) (time.Time, bool) {
	// 0         1         2
	// 012345678901234567890123456
	// 06/Feb/2019:00:00:38 +0000
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return time.Time{}, false
	}
	minute := tp.minute
	if minute.IsZero() || [17]byte(b[:17]) != tp.prefix {
		day, ok1 := digits(b[0:2])
		year, ok2 := digits(b[7:11])
		hour, ok3 := digits(b[12:14])
		min, ok4 := digits(b[15:17])
		month := 0
		for i, m := range monthAbbrevs {
			if string(b[3:6]) == m {
				month = i + 1
			}
		}
		if !(ok1 && ok2 && ok3 && ok4) || month == 0 || day < 1 || day > daysIn(month, year) || hour > 23 || min > 59 {
			return time.Time{}, false
		}
		minute = time.Date(year, time.Month(month), day, hour, min, 0, 0, time.UTC)
		tp.prefix, tp.minute = [17]byte(b[:17]), minute
	}
	sec, ok := digits(b[18:20])
	oh, okh := digits(b[22:24])
	om, okm := digits(b[24:26])
	if !ok || !okh || !okm || sec > 59 || oh > 23 || om > 59 || (b[21] != '+' && b[21] != '-') {
		return time.Time{}, false
	}
	offset := (oh*60 + om) * 60
	if b[21] == '-' {
		offset = -offset
	}
	return minute.Add(time.Duration(sec-offset) * time.Second), true
}
