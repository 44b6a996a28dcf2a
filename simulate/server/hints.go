package server

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry hints. Some AWS services say, on a throttling error, how long to wait before retrying:
// Lambda's and API Gateway's TooManyRequestsException (HTTP 429) carry a Retry-After header in
// seconds. The SDKs' "retry behaviour 2.1" also honours x-amz-retry-after (milliseconds), but
// no AWS service documents sending it, so no default hint uses it; a scenario can. DefaultHints
// lists what AWS sends (data/hints.csv, with the source of each row); the emulator sends exactly
// these headers with its throttling errors and the simulator hands the same values to its
// clients, so that both see the same hints.

// Hint headers.
const (
	HeaderRetryAfter    = "Retry-After"       // RFC 9110 §10.2.3: delay-seconds or an HTTP-date
	HeaderAmzRetryAfter = "x-amz-retry-after" // integer milliseconds
)

// HintForm is how a hint writes its delay.
type HintForm uint8

const (
	// HintSeconds is Retry-After as delay-seconds ("1").
	HintSeconds HintForm = iota + 1
	// HintHTTPDate is Retry-After as an HTTP-date, the time of the answer plus the delay,
	// which the format truncates to the second ("Wed, 21 Oct 2026 07:28:01 GMT").
	HintHTTPDate
	// HintMilliseconds is x-amz-retry-after in integer milliseconds ("1500").
	HintMilliseconds
)

var hintFormNames = [...]string{"", "seconds", "http-date", "milliseconds"}

// String returns the form as written in data files and scenarios: "seconds", "http-date" or
// "milliseconds".
func (f HintForm) String() string {
	if int(f) < len(hintFormNames) && f > 0 {
		return hintFormNames[f]
	}
	return "unknown"
}

// ParseHintForm parses a form name (see HintForm.String).
func ParseHintForm(s string) (HintForm, bool) {
	for i, n := range hintFormNames {
		if i > 0 && n == s {
			return HintForm(i), true
		}
	}
	return 0, false
}

// Hint is the retry hint a service sends with its throttling errors.
type Hint struct {
	// Service is the AWS SDK ServiceID ("Lambda"), matched case-insensitively; Operation
	// restricts the hint to one API ("" for every API of the service).
	Service, Operation string
	// Header is HeaderRetryAfter or HeaderAmzRetryAfter; empty means no hint for the requests
	// the entry matches (to turn a default off).
	Header string
	// Form is how the header writes After: HintSeconds or HintHTTPDate for Retry-After,
	// HintMilliseconds for x-amz-retry-after.
	Form HintForm
	// After is the delay the hint asks for: whole seconds for HintSeconds, whole
	// milliseconds for HintMilliseconds.
	After time.Duration
	// Code and Status are the throttling error that carries the hint, where known (the rows of
	// DefaultHints): informational.
	Code   string
	Status int
	// Source says where the fact comes from.
	Source string

	value string // the header's value for the forms that do not depend on the time
}

// maxHintAfter bounds a hint's delay: clients ignore longer ones anyway (backoff.MaxHint).
const maxHintAfter = 24 * time.Hour

// Validate reports what is wrong with h, if anything.
func (h *Hint) Validate() error {
	switch {
	case h.Service == "":
		return fmt.Errorf(`field "service": required`)
	case h.Header == "":
		return nil
	case strings.EqualFold(h.Header, HeaderRetryAfter):
		if h.Form != HintSeconds && h.Form != HintHTTPDate {
			return fmt.Errorf(`field "form": Retry-After is written in seconds or as an http-date, not %s`, h.Form)
		}
	case strings.EqualFold(h.Header, HeaderAmzRetryAfter):
		if h.Form != HintMilliseconds {
			return fmt.Errorf(`field "form": x-amz-retry-after is written in milliseconds, not %s`, h.Form)
		}
	default:
		return fmt.Errorf(`field "header": want %s or %s (or none), not %q`, HeaderRetryAfter, HeaderAmzRetryAfter, h.Header)
	}
	switch {
	case h.After <= 0 || h.After > maxHintAfter:
		return fmt.Errorf(`field "after": want a delay > 0 and <= %v, not %v`, maxHintAfter, h.After)
	case h.Form == HintSeconds && h.After%time.Second != 0:
		return fmt.Errorf(`field "after": Retry-After in seconds says whole seconds, not %v`, h.After)
	case h.Form == HintMilliseconds && h.After%time.Millisecond != 0:
		return fmt.Errorf(`field "after": x-amz-retry-after says whole milliseconds, not %v`, h.After)
	}
	return nil
}

// Value returns the header's value for an answer given at now.
func (h *Hint) Value(now time.Time) string {
	if h.Form == HintHTTPDate {
		return now.Add(h.After).UTC().Format(http.TimeFormat)
	}
	if h.value != "" {
		return h.value
	}
	return h.fixedValue()
}

func (h *Hint) fixedValue() string {
	switch h.Form {
	case HintSeconds:
		return strconv.FormatInt(int64(h.After/time.Second), 10)
	case HintMilliseconds:
		return strconv.FormatInt(int64(h.After/time.Millisecond), 10)
	}
	return ""
}

// Hints is an ordered list of hints: the first entry matching a request's service and
// operation decides. A nil *Hints has none.
type Hints struct {
	list []Hint
}

// NewHints validates list and returns it as Hints.
func NewHints(list []Hint) (*Hints, error) {
	h := &Hints{list: make([]Hint, len(list))}
	for i, x := range list {
		if err := x.Validate(); err != nil {
			return nil, fmt.Errorf("server: hint %d: %w", i+1, err)
		}
		if x.Header != "" {
			x.Header = canonicalHeader(x.Header)
			x.value = x.fixedValue()
		}
		h.list[i] = x
	}
	return h, nil
}

func canonicalHeader(h string) string {
	if strings.EqualFold(h, HeaderAmzRetryAfter) {
		return HeaderAmzRetryAfter
	}
	return HeaderRetryAfter
}

// With returns the hints of over, consulted before h's.
func (h *Hints) With(over []Hint) (*Hints, error) {
	o, err := NewHints(over)
	if err != nil {
		return nil, err
	}
	if h != nil {
		o.list = append(o.list, h.list...)
	}
	return o, nil
}

// List returns the hints in the order they are consulted.
func (h *Hints) List() []Hint {
	if h == nil {
		return nil
	}
	return append([]Hint(nil), h.list...)
}

// Lookup returns the hint service's throttling errors for operation carry, or nil for none.
func (h *Hints) Lookup(service, operation string) *Hint {
	if h == nil {
		return nil
	}
	for i := range h.list {
		x := &h.list[i]
		if !strings.EqualFold(x.Service, service) || (x.Operation != "" && x.Operation != operation) {
			continue
		}
		if x.Header == "" {
			return nil
		}
		return x
	}
	return nil
}

//go:embed data/hints.csv
var hintsCSV []byte

// DefaultHints returns the hints AWS sends with throttling errors (data/hints.csv): Lambda's and
// API Gateway's Retry-After, in seconds. The error code and status of each row are those of
// the service's throttling error.
func DefaultHints() *Hints {
	h, err := parseHintsCSV(hintsCSV)
	if err != nil {
		panic("server: embedded data/hints.csv: " + err.Error()) // checked by the package tests
	}
	return h
}

func parseHintsCSV(data []byte) (*Hints, error) {
	r := csv.NewReader(bytes.NewReader(data))
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	want := []string{"service", "operation", "error_code", "status", "header", "form", "after", "source"}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("want the header %s", strings.Join(want, ","))
	}
	var list []Hint
	for i, rec := range recs[1:] {
		form, ok := ParseHintForm(rec[5])
		after, err := time.ParseDuration(rec[6])
		status, serr := strconv.Atoi(rec[3])
		if !ok || err != nil || serr != nil {
			return nil, fmt.Errorf("line %d: bad form, after or status", i+2)
		}
		list = append(list, Hint{Service: rec[0], Operation: rec[1], Header: rec[4], Form: form, After: after,
			Code: rec[2], Status: status, Source: rec[7]})
	}
	return NewHints(list)
}
