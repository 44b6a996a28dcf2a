package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

// Config configures a Model.
type Config struct {
	// Rules are the server-side quotas; nil means limiter.DefaultRules(). Merge a rules file
	// over the defaults with MergeRules.
	Rules limiter.Rules
	// Faults are fault windows; nil means none. The model keeps a copy, whose origin is
	// Faults.Origin until SetOrigin changes it.
	Faults *FaultSchedule
	// SplitAfter and SplitDelay configure the S3 partition model (see Partitions); <= 0 means
	// DefaultSplitAfter and DefaultSplitDelay.
	SplitAfter, SplitDelay time.Duration
}

// Model is the server side of AWS as tollgate models it: fault windows first, then AWS's token
// buckets (the limiter in server semantics: a request takes its tokens now or is throttled,
// it never queues), with S3 requests going through the partition model. The emulator and the
// virtual-time simulator both decide every request with a Model, so they cannot diverge.
//
// Model reads no clock and starts no goroutine; every decision takes the time it is made at.
// It is not safe for concurrent use: callers serialise Decide (the emulator does, reading its
// clock under the same lock so times never go backwards).
type Model struct {
	lim    *limiter.Limiter
	faults *FaultSchedule
	parts  *Partitions
}

// NewModel validates cfg and returns a model with full buckets.
func NewModel(cfg Config) (*Model, error) {
	rules := cfg.Rules
	if rules == nil {
		rules = limiter.DefaultRules()
	}
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("server: rules: %w", err)
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	var faults *FaultSchedule
	if cfg.Faults != nil {
		f := *cfg.Faults
		faults = &f
	}
	// The server's buckets are AWS's: static, whatever their callers see.
	lim := limiter.New(rules, limiter.WithAdaptive(false), limiter.WithMaxKeys(-1))
	return &Model{lim: lim, faults: faults, parts: NewPartitions(lim, cfg.SplitAfter, cfg.SplitDelay)}, nil
}

// SetOrigin sets the instant the fault windows' offsets count from.
func (m *Model) SetOrigin(t time.Time) {
	if m.faults != nil {
		m.faults.Origin = t
	}
}

// Partitions returns the S3 partition model (to inspect splits).
func (m *Model) Partitions() *Partitions { return m.parts }

// Decide returns the server's answer to r at now.
//
// A fault window covering the request decides first (Throttled or Failed, Rule "fault").
// Otherwise the request takes one token from the bucket of the first "calls" rule matching
// its service, operation and Region (EC2 Describe calls made without filter or pagination use
// the operation's ":unfiltered" variant) and r.Units tokens from the first matching "units"
// rule; S3 requests are charged to their partition. A request no rule matches is accepted.
func (m *Model) Decide(now time.Time, r Request) Verdict {
	if m.faults != nil {
		switch m.faults.At(now, r.Service, r.Operation, r.Region) {
		case FaultThrottle:
			return Verdict{Outcome: Throttled, Rule: "fault"}
		case FaultError:
			return Verdict{Outcome: Failed, Rule: "fault"}
		}
	}
	var ok bool
	var rule string
	if isS3(r.Service) {
		ok, rule = m.parts.Admit(now, r)
	} else {
		op := r.Operation
		if r.Unfiltered {
			if v, has := limiter.UnfilteredOperation(op); has {
				op = v
			}
		}
		ok, rule = m.lim.Allow(now, limiter.Key{
			Region: r.Region, Service: r.Service, Operation: op, Resource: r.Resource, Prefix: r.Prefix,
		}, units(r))
	}
	if ok {
		return Verdict{Outcome: Accepted}
	}
	return Verdict{Outcome: Throttled, Rule: rule}
}

// isS3 is strings.EqualFold(service, "S3"), answering at once for most other services: the
// strings that fold to "S3" are two or three bytes long ('ſ' folds to 's') and start with
// 'S', 's' or the first byte of 'ſ'.
func isS3(service string) bool {
	if n := len(service); n < 2 || n > 3 || (service[0]|0x20 != 's' && service[0] != 0xC5) {
		return false
	}
	return strings.EqualFold(service, "S3")
}
