package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/internal/boundedfile"
	"github.com/tollgate/tollgate/internal/yamlbound"
)

// FaultMode is what a fault window does to the requests it covers.
type FaultMode uint8

const (
	// NoFault leaves requests to the token buckets.
	NoFault FaultMode = iota
	// FaultThrottle answers every covered request with the service's throttling error.
	FaultThrottle
	// FaultError answers every covered request with the service's HTTP 500 internal error.
	FaultError
)

// String returns the mode as written in a faults file: "none", "throttle" or "error".
func (m FaultMode) String() string {
	switch m {
	case FaultThrottle:
		return "throttle"
	case FaultError:
		return "error"
	default:
		return "none"
	}
}

// FaultWindow is one interval (or a repeating interval) in which requests to an API fail.
//
// The window covers offsets t from the schedule's origin with Start <= t < Start+Duration, and,
// when Every > 0, also Start+k·Every <= t < Start+k·Every+Duration for every k >= 1.
type FaultWindow struct {
	// Service is the lower-case service name ("ec2", "s3", "dynamodb", "kms", "lambda", "sts")
	// or "*" for every service.
	Service string
	// Operation restricts the window to one operation (e.g. "DescribeInstances"); empty means all.
	Operation string
	// Region restricts the window to one Region; empty means all.
	Region string
	// Start is the offset from the schedule's origin at which the window first opens.
	Start time.Duration
	// Duration is how long the window stays open; it must be > 0.
	Duration time.Duration
	// Every, when > 0, repeats the window with this period; it must exceed Duration.
	Every time.Duration
	// Mode is FaultThrottle or FaultError.
	Mode FaultMode
}

// FaultSchedule is a list of fault windows measured from an origin time. The zero value and a nil
// schedule have no windows. It reads no clock: callers pass the time of each request.
type FaultSchedule struct {
	// Origin is the instant offsets are measured from (the emulator sets it when it starts
	// serving; the simulator sets it to the start of virtual time).
	Origin  time.Time
	Windows []FaultWindow
}

// Validate reports the first window that is malformed.
func (s *FaultSchedule) Validate() error {
	if s == nil {
		return nil
	}
	for i, w := range s.Windows {
		if err := w.validate(); err != nil {
			return fmt.Errorf("server: fault window %d: %w", i+1, err)
		}
	}
	return nil
}

func (w FaultWindow) validate() error {
	switch {
	case w.Service == "":
		return errors.New(`field "service": required (a service name such as "ec2", or "*")`)
	case w.Start < 0:
		return fmt.Errorf(`field "start": must be >= 0, got %v`, w.Start)
	case w.Duration <= 0:
		return fmt.Errorf(`field "duration": must be > 0, got %v`, w.Duration)
	case w.Every < 0:
		return fmt.Errorf(`field "every": must be >= 0, got %v`, w.Every)
	case w.Every > 0 && w.Every <= w.Duration:
		return fmt.Errorf(`field "every": must exceed duration %v, got %v`, w.Duration, w.Every)
	case w.Mode != FaultThrottle && w.Mode != FaultError:
		return fmt.Errorf(`field "mode": must be "throttle" or "error"`)
	}
	return nil
}

// At returns the mode of the first window that covers a request to service/operation in region
// at time now, or NoFault. service is matched case-insensitively, operation exactly.
func (s *FaultSchedule) At(now time.Time, service, operation, region string) FaultMode {
	if s == nil || len(s.Windows) == 0 {
		return NoFault
	}
	t := now.Sub(s.Origin)
	for i := range s.Windows {
		w := &s.Windows[i]
		if w.covers(t) && w.matches(service, operation, region) {
			return w.Mode
		}
	}
	return NoFault
}

// Interval is a span of offsets [From, To) from a schedule's origin.
type Interval struct{ From, To time.Duration }

// Covered returns the spans of [from, to) in which a window covers requests to
// service/operation in region, in order and without overlaps.
func (s *FaultSchedule) Covered(service, operation, region string, from, to time.Duration) []Interval {
	if s == nil {
		return nil
	}
	var out []Interval
	for i := range s.Windows {
		w := &s.Windows[i]
		if !w.matches(service, operation, region) {
			continue
		}
		for start := w.Start; start < to; start += w.Every {
			if a, b := max(start, from), min(start+w.Duration, to); a < b {
				out = append(out, Interval{a, b})
			}
			if w.Every <= 0 {
				break
			}
		}
	}
	slices.SortFunc(out, func(x, y Interval) int { return cmp.Compare(x.From, y.From) })
	merged := out[:0]
	for _, iv := range out {
		if n := len(merged); n > 0 && iv.From <= merged[n-1].To {
			merged[n-1].To = max(merged[n-1].To, iv.To)
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

func (w *FaultWindow) covers(t time.Duration) bool {
	if t < w.Start {
		return false
	}
	t -= w.Start
	if w.Every > 0 {
		t %= w.Every
	}
	return t < w.Duration
}

func (w *FaultWindow) matches(service, operation, region string) bool {
	if w.Service != "*" && !strings.EqualFold(w.Service, service) {
		return false
	}
	if w.Operation != "" && w.Operation != operation {
		return false
	}
	return w.Region == "" || w.Region == region
}

// MaxFaultsFileBytes bounds a faults file; MaxFaultsNodes bounds the YAML nodes it stands for
// once its aliases are expanded. A schedule of a thousand windows takes well under both.
const (
	MaxFaultsFileBytes = 1 << 20
	MaxFaultsNodes     = 100_000
)

// LoadFaults reads a fault schedule from a YAML file (format: ParseFaults). A file larger than
// MaxFaultsFileBytes is refused without being read whole, as is anything but a regular file
// (a device or a pipe could block the reader or never end).
func LoadFaults(path string) (*FaultSchedule, error) {
	data, err := boundedfile.Read(path, MaxFaultsFileBytes, "faults")
	if err != nil {
		return nil, fmt.Errorf("server: read faults file: %w", err)
	}
	return ParseFaults(path, data)
}

// ParseFaults parses a fault schedule. name is used in error messages (usually the file path).
// The format is YAML:
//
//	windows:
//	  - service: ec2                 # required: ec2, s3, dynamodb, kms, lambda, sts, or "*"
//	    operation: DescribeInstances # optional: one operation; default all
//	    region: us-east-1            # optional: one Region; default all
//	    start: 30s                   # offset from the start of serving (Go duration)
//	    duration: 10s                # how long the window lasts (> 0)
//	    every: 2m                    # optional: repeat period (> duration)
//	    mode: throttle               # throttle (the service's throttling error) or error (HTTP 500)
//
// Unknown fields are errors. Every error names the file, the line and the field. Until the
// document is known to be a faults file (a mapping with a "windows" key), errors quote nothing
// from it: a file named by mistake does not see its content printed. Data larger than
// MaxFaultsFileBytes, or whose aliases expand it past MaxFaultsNodes nodes, is refused.
// The returned schedule's Origin is zero; the caller sets it.
func ParseFaults(name string, data []byte) (*FaultSchedule, error) {
	if len(data) > MaxFaultsFileBytes {
		return nil, fmt.Errorf("server: %s: larger than %d bytes: not a faults file", name, MaxFaultsFileBytes)
	}
	root, line, err := yamlbound.Decode(data)
	if err == io.EOF {
		return &FaultSchedule{}, nil // an empty file has no windows
	}
	if err != nil {
		if line > 0 {
			return nil, fmt.Errorf("server: %s:%d: %v", name, line, err)
		}
		return nil, fmt.Errorf("server: %s: %v", name, err)
	}
	if root.Kind != yaml.MappingNode || !hasKey(root, "windows") {
		return nil, fmt.Errorf("server: %s:%d: not a faults file: expected a mapping with a \"windows\" list", name, root.Line)
	}
	if _, line, ok := yamlbound.Expanded(root, MaxFaultsNodes); !ok {
		return nil, fmt.Errorf("server: %s:%d: YAML aliases expand the file to more than %d nodes; write the windows out", name, line, MaxFaultsNodes)
	}
	s := &FaultSchedule{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "windows" {
			return nil, fmt.Errorf("server: %s:%d: unknown field %q (want \"windows\")", name, k.Line, k.Value)
		}
		v = resolveAlias(v)
		if v.Kind != yaml.SequenceNode {
			if v.Tag == "!!null" {
				continue
			}
			return nil, fmt.Errorf("server: %s:%d: field \"windows\": expected a list", name, v.Line)
		}
		for n, item := range v.Content {
			w, err := parseWindow(resolveAlias(item))
			if err != nil {
				return nil, fmt.Errorf("server: %s:%d: window %d: %w", name, err.line, n+1, err.err)
			}
			s.Windows = append(s.Windows, w)
		}
	}
	return s, nil
}

// hasKey reports whether mapping n has key k.
func hasKey(n *yaml.Node, k string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == k {
			return true
		}
	}
	return false
}

type lineError struct {
	line int
	err  error
}

func parseWindow(item *yaml.Node) (FaultWindow, *lineError) {
	var w FaultWindow
	if item.Kind != yaml.MappingNode {
		return w, &lineError{item.Line, errors.New("expected a mapping")}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		if seen[k.Value] {
			return w, &lineError{k.Line, fmt.Errorf("field %q: given twice", k.Value)}
		}
		seen[k.Value] = true
		v = resolveAlias(v)
		if v.Kind != yaml.ScalarNode {
			return w, &lineError{v.Line, fmt.Errorf("field %q: expected a scalar value", k.Value)}
		}
		var err error
		switch k.Value {
		case "service":
			w.Service = strings.ToLower(v.Value)
		case "operation":
			w.Operation = v.Value
		case "region":
			w.Region = v.Value
		case "start":
			w.Start, err = parseDuration(v.Value)
		case "duration":
			w.Duration, err = parseDuration(v.Value)
		case "every":
			w.Every, err = parseDuration(v.Value)
		case "mode":
			switch v.Value {
			case "throttle":
				w.Mode = FaultThrottle
			case "error":
				w.Mode = FaultError
			default:
				err = fmt.Errorf("must be \"throttle\" or \"error\", got %q", v.Value)
			}
		default:
			return w, &lineError{k.Line, fmt.Errorf("unknown field %q", k.Value)}
		}
		if err != nil {
			return w, &lineError{v.Line, fmt.Errorf("field %q: %w", k.Value, err)}
		}
	}
	if !seen["mode"] {
		return w, &lineError{item.Line, errors.New(`field "mode": required ("throttle" or "error")`)}
	}
	if err := w.validate(); err != nil {
		return w, &lineError{item.Line, err}
	}
	return w, nil
}

// resolveAlias follows a YAML alias (*name) to the node it names.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func parseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 30s or 2m, got %q", s)
	}
	return d, nil
}
