package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxCloudTrailRecord bounds the size of one CloudTrail record; a larger one is skipped.
const maxCloudTrailRecord = 16 << 20

// CloudTrailReader reads CloudTrail log files ({"Records":[...]}, as CloudTrail delivers them)
// and returns each API call as a trace record. It streams: one record is held in memory at a
// time, whatever the size of the file.
//
// Service is the SDK ServiceID of eventSource (see event_sources.csv), Operation the
// eventName (Lambda's API-version suffix removed), Region awsRegion, ErrorCode errorCode
// without EC2's "Client."/"Server." prefix, Outcome follows from it (Status is unknown: 0).
// Resource and Key come from requestParameters: S3 bucketName and key, DynamoDB tableName,
// Lambda functionName. Units is the instance count of EC2 RunInstances (maxCount) and
// Start/Stop/Terminate/RebootInstances. Client is ClientID of userIdentity.arn (or
// principalId, or invokedBy).
//
// Records whose eventType is not AwsApiCall are skipped with an *InputError, as are records
// that are not valid JSON or lack eventTime, eventSource or eventName. Records come in file
// order, which is not time order. A file that is not a JSON object with a Records array (a
// digest file, say) yields one *InputError and then io.EOF.
type CloudTrailReader struct {
	// Warn, if set, is called for records that are returned but deserve attention: an
	// eventSource missing from the table (kept as the host name's first label).
	Warn func(*InputError)

	br      *bufio.Reader
	name    string
	line    int64 // line of the next byte
	state   ctState
	raw     []byte
	in      interner
	clients clientIDs
	tables  *tables
	err     error
	keys    []string // top-level keys seen, to tell a digest file from garbage
	open    []byte   // brackets open while capturing a value
	recLine int64    // line the record last read starts on
	recNum  int64    // 1-based index in Records of the record last read
}

type ctState uint8

const (
	ctStart    ctState = iota // before the top-level object
	ctFirst                   // inside Records, before the first element
	ctNext                    // inside Records, after an element
	ctFinished                // after Records
)

// NewCloudTrailReader returns a reader of one CloudTrail log file from r (not gzip: see
// Open). name identifies r in errors.
func NewCloudTrailReader(r io.Reader, name string) *CloudTrailReader {
	return &CloudTrailReader{br: bufio.NewReaderSize(r, 64<<10), name: name, line: 1, tables: mustTables()}
}

// Read reads the next API call into rec, with the same contract as Reader.Read: io.EOF at the
// end, *InputError for a record it skips (the next Read continues), any other error fatal.
func (r *CloudTrailReader) Read(rec *Record) error {
	for {
		if r.err != nil {
			return r.err
		}
		switch r.state {
		case ctStart:
			if err := r.findRecords(); err != nil {
				return r.stop(err)
			}
			continue
		case ctFinished:
			return r.stop(r.finish())
		}
		c, err := r.nextNonSpace()
		if err != nil {
			return r.stop(err)
		}
		if c == ']' {
			r.state = ctFinished
			continue
		}
		if r.state == ctNext {
			if c != ',' {
				return r.stop(r.syntax("want ',' or ']' after a record, found %q", c))
			}
			if c, err = r.nextNonSpace(); err != nil {
				return r.stop(err)
			}
		}
		r.state = ctNext
		line := r.line
		r.recNum++
		if c != '{' {
			if err := r.skipValue(c); err != nil {
				return r.stop(err)
			}
			return &InputError{File: r.name, Line: line, Record: r.recNum, Reason: ReasonMalformedRecord, Err: fmt.Errorf("record is not a JSON object (starts with %q)", c)}
		}
		r.raw = append(r.raw[:0], c)
		if err := r.capture(&r.raw); err != nil {
			return r.stop(err)
		}
		if len(r.raw) > maxCloudTrailRecord {
			return &InputError{File: r.name, Line: line, Record: r.recNum, Reason: ReasonMalformedRecord, Err: fmt.Errorf("record longer than %d bytes", maxCloudTrailRecord)}
		}
		r.recLine = line
		return r.decode(r.raw, line, rec)
	}
}

// Position returns the file's name and the line the record last read starts on.
func (r *CloudTrailReader) Position() (string, int64) { return r.name, r.recLine }

// stop makes err the last thing Read returns before io.EOF (for an *InputError: the rest of
// the file is skipped) or for ever (any other error).
func (r *CloudTrailReader) stop(err error) error {
	var ie *InputError
	if errors.As(err, &ie) || err == io.EOF {
		r.err = io.EOF
	} else {
		r.err = err
	}
	return err
}

// findRecords reads the top-level object up to the '[' of its Records array.
func (r *CloudTrailReader) findRecords() error {
	c, err := r.nextNonSpace()
	if err == io.EOF {
		return &InputError{File: r.name, Line: r.line, Reason: ReasonUnrecognizedFile, Err: errors.New("empty file, want a CloudTrail log file")}
	}
	if err != nil {
		return err
	}
	if c != '{' {
		return r.notCloudTrail(fmt.Sprintf("starts with %q, want a JSON object", c))
	}
	first := true
	for {
		key, end, err := r.nextKey(first)
		if err != nil {
			return err
		}
		if end {
			r.state = ctFinished
			return r.noRecords()
		}
		first = false
		c, err := r.nextNonSpace()
		if err != nil {
			return err
		}
		if key == "Records" && c == '[' {
			r.state = ctFirst
			return nil
		}
		r.keys = append(r.keys, key)
		if err := r.skipValue(c); err != nil {
			return err
		}
	}
}

// finish reads the rest of the top-level object after the Records array.
func (r *CloudTrailReader) finish() error {
	for {
		_, end, err := r.nextKey(false)
		if err != nil {
			return err
		}
		if end {
			break
		}
		c, err := r.nextNonSpace()
		if err != nil {
			return err
		}
		if err := r.skipValue(c); err != nil {
			return err
		}
	}
	if c, err := r.nextNonSpace(); err != io.EOF {
		if err != nil {
			return err
		}
		return r.syntax("data after the top-level object: %q", c)
	}
	return io.EOF
}

// nextKey reads `"key":` (after a ',' unless first) or the closing '}' (end is true).
func (r *CloudTrailReader) nextKey(first bool) (key string, end bool, err error) {
	c, err := r.nextNonSpace()
	if err != nil {
		return "", false, r.unexpectedEOF(err)
	}
	if c == '}' {
		return "", true, nil
	}
	if !first {
		if c != ',' {
			return "", false, r.syntax("want ',' or '}', found %q", c)
		}
		if c, err = r.nextNonSpace(); err != nil {
			return "", false, r.unexpectedEOF(err)
		}
	}
	if c != '"' {
		return "", false, r.syntax("want a field name, found %q", c)
	}
	raw := []byte{'"'}
	if err := r.captureString(&raw); err != nil {
		return "", false, err
	}
	if err := json.Unmarshal(raw, &key); err != nil {
		return "", false, r.syntax("bad field name: %v", err)
	}
	if c, err = r.nextNonSpace(); err != nil {
		return "", false, r.unexpectedEOF(err)
	}
	if c != ':' {
		return "", false, r.syntax("want ':' after a field name, found %q", c)
	}
	return key, false, nil
}

func (r *CloudTrailReader) noRecords() error {
	for _, k := range r.keys {
		if strings.HasPrefix(k, "digest") {
			return &InputError{File: r.name, Line: 1, Reason: ReasonDigestFile, Err: errors.New("a CloudTrail digest file, not a log file")}
		}
	}
	return r.notCloudTrail("no Records array")
}

func (r *CloudTrailReader) notCloudTrail(why string) error {
	return &InputError{File: r.name, Line: 1, Reason: ReasonUnrecognizedFile, Err: fmt.Errorf("not a CloudTrail log file: %s", why)}
}

func (r *CloudTrailReader) syntax(format string, args ...any) error {
	return &InputError{File: r.name, Line: r.line, Reason: ReasonMalformedRecord,
		Err: fmt.Errorf(format+"; rest of the file skipped", args...)}
}

func (r *CloudTrailReader) unexpectedEOF(err error) error {
	if err == io.EOF {
		return r.syntax("unexpected end of file")
	}
	return err
}

// readByte reads one byte, counting lines.
func (r *CloudTrailReader) readByte() (byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		if err != io.EOF {
			err = &ReadError{File: r.name, Line: r.line - 1, Err: err}
		}
		return 0, err
	}
	if c == '\n' {
		r.line++
	}
	return c, nil
}

func (r *CloudTrailReader) nextNonSpace() (byte, error) {
	for {
		c, err := r.readByte()
		if err != nil || !isSpace(c) {
			return c, err
		}
	}
}

// capture appends to *buf the rest of the JSON value whose first byte (already in *buf) was
// read, checking only its bracket structure (json.Unmarshal checks the rest). Bytes past
// maxCloudTrailRecord are read but not kept.
func (r *CloudTrailReader) capture(buf *[]byte) error {
	first := (*buf)[0]
	if first == '"' {
		return r.captureString(buf)
	}
	if first != '{' && first != '[' {
		return r.captureScalar(buf)
	}
	open := append(r.open[:0], first)
	defer func() { r.open = open[:0] }()
	for len(open) > 0 {
		c, err := r.readByte()
		if err != nil {
			return r.unexpectedEOF(err)
		}
		if len(*buf) <= maxCloudTrailRecord {
			*buf = append(*buf, c)
		}
		switch c {
		case '"':
			if err := r.captureString(buf); err != nil {
				return err
			}
		case '{', '[':
			if len(open) >= maxNesting {
				return r.syntax("nested too deeply")
			}
			open = append(open, c)
		case '}', ']':
			if want := open[len(open)-1] + 2; c != want { // '{'+2 == '}', '['+2 == ']'
				return r.syntax("found %q, want %q", c, want)
			}
			open = open[:len(open)-1]
		}
	}
	return nil
}

// captureString appends the rest of a JSON string whose opening quote was read.
func (r *CloudTrailReader) captureString(buf *[]byte) error {
	escaped := false
	for {
		c, err := r.readByte()
		if err != nil {
			return r.unexpectedEOF(err)
		}
		if c == '\n' {
			return r.syntax("newline inside a string")
		}
		if len(*buf) <= maxCloudTrailRecord {
			*buf = append(*buf, c)
		}
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			return nil
		}
	}
}

// captureScalar appends the rest of a number or literal.
func (r *CloudTrailReader) captureScalar(buf *[]byte) error {
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &ReadError{File: r.name, Line: r.line, Err: err}
		}
		if isSpace(c) || c == ',' || c == ']' || c == '}' {
			return r.br.UnreadByte()
		}
		*buf = append(*buf, c)
		if len(*buf) > 64 {
			return r.syntax("bad value %.20q", *buf)
		}
	}
}

// skipValue reads past a JSON value whose first byte c was read.
func (r *CloudTrailReader) skipValue(c byte) error {
	r.raw = append(r.raw[:0], c)
	return r.capture(&r.raw)
}

// ctRecord holds the CloudTrail record fields the importer uses.
type ctRecord struct {
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	AWSRegion    string `json:"awsRegion"`
	ErrorCode    string `json:"errorCode"`
	EventType    string `json:"eventType"`
	UserIdentity struct {
		ARN         string `json:"arn"`
		PrincipalID string `json:"principalId"`
		InvokedBy   string `json:"invokedBy"`
	} `json:"userIdentity"`
	RequestParameters json.RawMessage `json:"requestParameters"`
}

// ctInstances is the instancesSet of EC2 requestParameters.
type ctInstances struct {
	Items []struct {
		MinCount int `json:"minCount"`
		MaxCount int `json:"maxCount"`
	} `json:"items"`
}

func (r *CloudTrailReader) decode(raw []byte, line int64, rec *Record) error {
	fail := func(field, reason string, err error) *InputError {
		return &InputError{File: r.name, Line: line, Record: r.recNum, Field: field, Reason: reason, Err: err}
	}
	var ct ctRecord
	if err := json.Unmarshal(raw, &ct); err != nil {
		return fail("", ReasonMalformedRecord, err)
	}
	if ct.EventType != "" && ct.EventType != "AwsApiCall" {
		return fail("eventType", ReasonNotAPICall, fmt.Errorf("%q is not AwsApiCall", ct.EventType))
	}
	for _, f := range [...]struct{ name, v string }{{"eventTime", ct.EventTime}, {"eventSource", ct.EventSource}, {"eventName", ct.EventName}} {
		if f.v == "" {
			return fail(f.name, ReasonMissingField, errors.New("required, missing"))
		}
	}
	t, ok := parseRFC3339([]byte(ct.EventTime))
	if !ok {
		return fail("eventTime", ReasonBadTime, fmt.Errorf("%q is not an RFC 3339 time", ct.EventTime))
	}
	if t.IsZero() {
		return fail("eventTime", ReasonBadTime, errZeroTime([]byte(ct.EventTime)))
	}
	*rec = Record{Time: t, Region: r.in.string(ct.AWSRegion)}
	service, known := r.tables.eventSources[ct.EventSource]
	if !known {
		if service, _, _ = strings.Cut(ct.EventSource, "."); service == "" {
			service = ct.EventSource
		}
	}
	rec.Service = r.in.string(service)
	rec.Operation = r.in.string(operationName(service, ct.EventName))
	code := ct.ErrorCode
	if rest, ok := strings.CutPrefix(code, "Client."); ok {
		code = rest
	} else if rest, ok := strings.CutPrefix(code, "Server."); ok {
		code = rest
	}
	rec.ErrorCode = r.in.string(code)
	rec.Outcome = classify(code, 0)
	switch {
	case ct.UserIdentity.ARN != "":
		rec.Client = r.clients.get([]byte(ct.UserIdentity.ARN))
	case ct.UserIdentity.PrincipalID != "":
		rec.Client = r.clients.get([]byte(ct.UserIdentity.PrincipalID))
	case ct.UserIdentity.InvokedBy != "":
		rec.Client = r.clients.get([]byte(ct.UserIdentity.InvokedBy))
	}
	r.params(ct.RequestParameters, rec)
	if !known && r.Warn != nil {
		r.Warn(fail("eventSource", ReasonUnknownService, fmt.Errorf("%q is not in the event source table; kept as %q", ct.EventSource, service)))
	}
	return nil
}

// params fills Resource, Key and Units from requestParameters. Each parameter is decoded on
// its own; one of another shape than documented is ignored: parameters refine a record, they
// are not needed to keep it.
func (r *CloudTrailReader) params(raw json.RawMessage, rec *Record) {
	if len(raw) == 0 || raw[0] != '{' {
		return
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(raw, &p) != nil {
		return
	}
	str := func(name string) string {
		var s string
		if v, ok := p[name]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	switch rec.Service {
	case "S3":
		rec.Resource = r.in.string(str("bucketName"))
		rec.Key = str("key")
	case "DynamoDB":
		rec.Resource = r.in.string(str("tableName"))
	case "Lambda":
		rec.Resource = r.in.string(str("functionName"))
	case "EC2":
		var set ctInstances
		if v, ok := p["instancesSet"]; !ok || json.Unmarshal(v, &set) != nil {
			return
		}
		switch rec.Operation {
		case "RunInstances":
			for _, it := range set.Items {
				n := max(it.MaxCount, it.MinCount, 1)
				if n > maxUnits-rec.Units {
					n = maxUnits - rec.Units
				}
				rec.Units += n
			}
		case "StartInstances", "StopInstances", "TerminateInstances", "RebootInstances":
			rec.Units = min(len(set.Items), maxUnits)
		}
	}
}

// operationName returns the SDK operation for a CloudTrail eventName. Lambda's eventNames
// carry the API version ("UpdateFunctionCode20150331v2", "ListFunctions20150331"), which is
// removed.
func operationName(service, eventName string) string {
	if service != "Lambda" {
		return eventName
	}
	s := eventName
	if i := strings.LastIndexByte(s, 'v'); i > 0 && i < len(s)-1 && allDigits(s[i+1:]) {
		s = s[:i]
	}
	if len(s) > 8 && allDigits(s[len(s)-8:]) {
		return s[:len(s)-8]
	}
	return eventName
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
