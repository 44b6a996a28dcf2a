// Package label turns the strings tollgate's events and the AWS SDK carry into bounded Prometheus
// label values: service and operation pairs capped in number, error codes folded onto a fixed
// list, and anything that is not a plausible name folded into "other". It is shared by package
// metrics and its SDK bridge so both fold the same way.
package label

import (
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/backoff"
)

// Other is the value every unknown, invalid or over-the-cap label value is folded into.
const Other = "other"

// Unknown is the value of an empty service or operation.
const Unknown = "unknown"

// MaxLen is the longest label value kept; longer ones are folded into Other. AWS service IDs and
// operation names are far shorter.
const MaxLen = 64

// Name returns s as a service or operation label value: Unknown for "", Other for a value that
// is too long or not a plain name (letters, digits, ' ', '-', '_', '.'), s itself otherwise. It
// does not allocate.
func Name(s string) string {
	if s == "" {
		return Unknown
	}
	if len(s) > MaxLen {
		return Other
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '-' || c == '_' || c == '.') {
			return Other
		}
	}
	return s
}

// Operation returns the operation label value for op: Name of op without a limiter variant (the
// part from the first colon, as in "DescribeInstances:unfiltered"), so that every series of
// one API carries the API's name.
func Operation(op string) string {
	if i := strings.IndexByte(op, ':'); i >= 0 {
		op = op[:i]
	}
	return Name(op)
}

// ErrorCodes returns the error codes that are label values as themselves: every code in
// backoff's default table (the AWS throttle codes and the transient codes) plus extra.
func ErrorCodes(extra ...string) []string {
	codes := backoff.ThrottleCodes()
	for _, c := range []string{"RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
		"ServiceUnavailable", "IDPCommunicationError"} {
		if cl, ok := backoff.DefaultClassifier().Code(c); ok && cl != backoff.Success {
			codes = append(codes, c)
		}
	}
	for _, c := range extra {
		if c != "" && utf8.ValidString(c) && len(c) <= MaxLen && !contains(codes, c) {
			codes = append(codes, c)
		}
	}
	return codes
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CodeSet maps known error codes to their index. It is immutable once built.
type CodeSet struct {
	codes []string
	index map[string]int
}

// NewCodeSet returns the set of codes; Index gives len(codes) for anything else ("other").
func NewCodeSet(codes []string) *CodeSet {
	s := &CodeSet{codes: codes, index: make(map[string]int, len(codes))}
	for i, c := range codes {
		s.index[c] = i
	}
	return s
}

// Len is the number of distinct indexes Index returns: the codes plus one for Other.
func (s *CodeSet) Len() int { return len(s.codes) + 1 }

// Index returns the index of code, looking it up without EC2's CloudTrail "Client."/"Server."
// prefix too; unknown codes (and "") get len(codes). It does not allocate.
func (s *CodeSet) Index(code string) int {
	if i, ok := s.index[code]; ok {
		return i
	}
	if rest, ok := strings.CutPrefix(code, "Client."); ok {
		code = rest
	} else if rest, ok := strings.CutPrefix(code, "Server."); ok {
		code = rest
	}
	if i, ok := s.index[code]; ok {
		return i
	}
	return len(s.codes)
}

// Value returns the label value of index i: the code, or Other.
func (s *CodeSet) Value(i int) string {
	if i >= 0 && i < len(s.codes) {
		return s.codes[i]
	}
	return Other
}

// Label returns the label value of code: the code itself when known, Other otherwise.
func (s *CodeSet) Label(code string) string { return s.Value(s.Index(code)) }

// Enum folds values onto a fixed list of label values, anything else into Other.
type Enum []string

// Index returns the index of v in e, or len(e) for Other.
func (e Enum) Index(v string) int {
	for i, s := range e {
		if s == v {
			return i
		}
	}
	return len(e)
}

// Value returns the label value of index i.
func (e Enum) Value(i int) string {
	if i >= 0 && i < len(e) {
		return e[i]
	}
	return Other
}
