package backoff

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
)

// Signal is what an adapter knows about one attempt's failure, in the core's vocabulary: the AWS
// error code (as the SDK reports it, e.g. "SlowDown"), the HTTP status (0 if no response), and
// the transport failure, if any. The zero Signal is a success.
type Signal struct {
	Code      string
	Status    int
	Transport Transport
}

// Classifier computes an attempt's Class from a Signal. It is immutable once built, so one
// Classifier can be shared by any number of goroutines.
//
// Rules, in order:
//  1. a cancelled context is NonRetryable;
//  2. a known error code decides (the 14 AWS throttle codes are Throttle, RequestTimeout and
//     RequestTimeoutException are Transient, plus whatever the user added or reclassified);
//     EC2's CloudTrail spelling "Client.RequestLimitExceeded" is looked up without its prefix;
//  3. HTTP 429 with an unknown code (or none) is Throttle;
//  4. HTTP 500, 502, 503, 504 are Transient;
//  5. connection reset or refused, unexpected EOF and any other failure to send (SendFailed) are
//     Transient; a client-side timeout is Timeout; a host name that does not exist
//     (NameNotFound), a certificate that fails verification (BadCertificate) and errors that
//     TransportOf cannot name are NonRetryable;
//  6. no code, no transport error and a status below 400 is Success; everything else is NonRetryable.
type Classifier struct {
	codes map[string]Class
}

//go:embed data/error_codes.csv
var errorCodesCSV string

// defaultCodes is the embedded table of known codes, parsed once.
var defaultCodes = mustParseCodes(errorCodesCSV)

func mustParseCodes(data string) map[string]Class {
	m, err := parseCodes(data)
	if err != nil {
		panic(err) // embedded data: a test parses it, so this cannot fire in a released build
	}
	return m
}

func parseCodes(data string) (map[string]Class, error) {
	r := csv.NewReader(strings.NewReader(data))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("backoff: data/error_codes.csv: %w", err)
	}
	m := make(map[string]Class, len(rows))
	for i, row := range rows[1:] {
		if len(row) != 3 || row[2] == "" {
			return nil, fmt.Errorf("backoff: data/error_codes.csv:%d: want code,class,source", i+2)
		}
		c, ok := ParseClass(row[1])
		if !ok || c == Success {
			return nil, fmt.Errorf("backoff: data/error_codes.csv:%d: field \"class\": unknown class %q", i+2, row[1])
		}
		m[row[0]] = c
	}
	return m, nil
}

// ThrottleCodes returns the AWS error codes that are throttles by default, in the order of the
// embedded table.
func ThrottleCodes() []string {
	var out []string
	for _, row := range strings.Split(errorCodesCSV, "\n")[1:] {
		if code, class, ok := strings.Cut(row, ","); ok && strings.HasPrefix(class, "throttled,") {
			out = append(out, code)
		}
	}
	return out
}

// ClassifierOption changes a Classifier under construction.
type ClassifierOption func(map[string]Class)

// WithCodes makes each code classify as class, adding it or replacing its default class. For
// example WithCodes(NonRetryable, "LimitExceededException") for a service that uses that code for
// "quota used up", or WithCodes(Throttle, "ClientException") for ECS's throttles.
func WithCodes(class Class, codes ...string) ClassifierOption {
	return func(m map[string]Class) {
		for _, c := range codes {
			m[c] = class
		}
	}
}

// WithoutCodes forgets the given codes: they fall through to the HTTP status rules.
func WithoutCodes(codes ...string) ClassifierOption {
	return func(m map[string]Class) {
		for _, c := range codes {
			delete(m, c)
		}
	}
}

// NewClassifier returns a Classifier with the default AWS codes changed by opts.
func NewClassifier(opts ...ClassifierOption) *Classifier {
	m := make(map[string]Class, len(defaultCodes)+4)
	for k, v := range defaultCodes {
		m[k] = v
	}
	for _, o := range opts {
		o(m)
	}
	return &Classifier{codes: m}
}

var defaultClassifier = NewClassifier()

// DefaultClassifier returns the shared Classifier with AWS's default codes.
func DefaultClassifier() *Classifier { return defaultClassifier }

// Code reports the class a code has in this classifier, and whether the code is known.
func (c *Classifier) Code(code string) (Class, bool) {
	if cl, ok := c.codes[code]; ok {
		return cl, true
	}
	// CloudTrail records EC2 codes as "Client.X" / "Server.X".
	if rest, ok := strings.CutPrefix(code, "Client."); ok {
		cl, ok := c.codes[rest]
		return cl, ok
	}
	if rest, ok := strings.CutPrefix(code, "Server."); ok {
		cl, ok := c.codes[rest]
		return cl, ok
	}
	return 0, false
}

// Classify returns the Class of an attempt that ended with s. It never allocates.
func (c *Classifier) Classify(s Signal) Class {
	if s.Transport == Canceled {
		return NonRetryable
	}
	if s.Code != "" {
		if cl, ok := c.Code(s.Code); ok {
			return cl
		}
	}
	switch s.Status {
	case 429:
		return Throttle
	case 500, 502, 503, 504:
		return Transient
	}
	switch s.Transport {
	case ConnReset, ConnRefused, UnexpectedEOF, SendFailed:
		return Transient
	case TransportTimeout:
		return Timeout
	case OtherTransportError, NameNotFound, BadCertificate:
		return NonRetryable
	}
	if s.Code == "" && s.Status < 400 {
		return Success
	}
	return NonRetryable
}
