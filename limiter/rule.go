package limiter

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Partition says which fields of a [Key] besides region and operation identify a rule's bucket.
type Partition uint8

const (
	// PartitionNone: one bucket per region (and per operation, under [ScopeOperation]).
	PartitionNone Partition = iota
	// PartitionResource: one bucket per Key.Resource (DynamoDB table, Lambda function, ...).
	PartitionResource
	// PartitionPrefix: one bucket per Key.Resource and Key.Prefix (S3 bucket and key prefix).
	PartitionPrefix
)

var partitionNames = [...]string{"none", "resource", "prefix"}

func (p Partition) String() string {
	if int(p) < len(partitionNames) {
		return partitionNames[p]
	}
	return fmt.Sprintf("Partition(%d)", p)
}

// Scope says whether each operation a rule matches gets its own bucket or all share one.
type Scope uint8

const (
	// ScopeOperation: a bucket per operation (EC2: "each API is evaluated individually").
	ScopeOperation Scope = iota
	// ScopeShared: one bucket for every operation the rule matches (KMS's shared
	// cryptographic quota, Lambda's 15/s for the rest of the control plane).
	ScopeShared
)

var scopeNames = [...]string{"operation", "shared"}

func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return fmt.Sprintf("Scope(%d)", s)
}

// Charge says what a rule's tokens count.
type Charge uint8

const (
	// ChargeCalls: Cost tokens per call.
	ChargeCalls Charge = iota
	// ChargeUnits: Cost tokens per unit the call affects (the units argument of
	// [Limiter.Reserve], e.g. the number of instances RunInstances launches). A units rule is an
	// additional bucket: a call is admitted only when its calls rule and its units rule both
	// admit it.
	ChargeUnits
)

var chargeNames = [...]string{"calls", "units"}

func (c Charge) String() string {
	if int(c) < len(chargeNames) {
		return chargeNames[c]
	}
	return fmt.Sprintf("Charge(%d)", c)
}

func parseEnum(names []string, s string) (int, bool) {
	for i, n := range names {
		if strings.EqualFold(n, s) {
			return i, true
		}
	}
	return 0, false
}

// Rule is one token-bucket quota: which calls it covers and the shape of its bucket.
type Rule struct {
	// Name identifies the rule in errors, refusals and metrics. Empty means
	// "service/operation" (with "@region" when Region is set).
	Name string
	// Service is the AWS SDK ServiceID the rule covers, matched case-insensitively.
	Service string
	// Operation is a glob over operation names ('*', '?', '|' alternatives; see the package
	// documentation). Empty means "*".
	Operation string
	// Region optionally restricts the rule to regions matching this glob. Empty means any.
	Region string
	// Rate is the refill rate in tokens per second (> 0).
	Rate float64
	// Burst is the bucket's capacity in tokens (> 0): how many tokens a full bucket holds.
	Burst int
	// Cost is the tokens one call (ChargeCalls) or one unit (ChargeUnits) takes. 0 means 1.
	Cost int
	// Partition says which Key fields besides region and operation identify the bucket.
	Partition Partition
	// Scope says whether matched operations get a bucket each or share one.
	Scope Scope
	// Charge says whether the rule counts calls or units.
	Charge Charge
	// Source cites where the numbers come from (an AWS documentation page, a support case).
	Source string
	// NonAdaptive keeps the rule's buckets at its Rate and Burst whatever AWS answers (rules
	// files: "adaptive: false"). By default a calls rule is a ceiling: an adaptive limiter
	// lowers a bucket's rate below it when AWS throttles, and lets it climb back (see the
	// package documentation). Units rules never adapt.
	NonAdaptive bool
}

// DisplayName returns the rule's Name or, if empty, the name derived from its fields.
func (r Rule) DisplayName() string {
	if r.Name != "" {
		return r.Name
	}
	op := r.Operation
	if op == "" {
		op = "*"
	}
	name := strings.ToLower(r.Service) + "/" + op
	if r.Region != "" {
		name += "@" + r.Region
	}
	return name
}

// cost returns the tokens per call or per unit.
func (r Rule) cost() int {
	if r.Cost <= 0 {
		return 1
	}
	return r.Cost
}

// matches reports whether the rule covers service, operation and region.
func (r Rule) matches(service, operation, region string) (matchedName string, ok bool) {
	if !strings.EqualFold(r.Service, service) {
		return "", false
	}
	if r.Region != "" && !matchAny(r.Region, region) {
		return "", false
	}
	pattern := r.Operation
	if pattern == "" {
		pattern = "*"
	}
	return matchOperation(pattern, operation)
}

// Rules is an ordered rule list: for each call the first matching rule charged by calls applies,
// and the first matching rule charged by units applies in addition.
type Rules []Rule

// Match returns the first rule charged by calls that covers the call. It does not allocate.
func (rs Rules) Match(service, operation, region string) (Rule, bool) {
	return rs.match(ChargeCalls, service, operation, region)
}

// MatchUnits returns the first rule charged by units that covers the call.
func (rs Rules) MatchUnits(service, operation, region string) (Rule, bool) {
	return rs.match(ChargeUnits, service, operation, region)
}

func (rs Rules) match(charge Charge, service, operation, region string) (Rule, bool) {
	if i := rs.index(charge, service, operation, region); i >= 0 {
		return rs[i], true
	}
	return Rule{}, false
}

func (rs Rules) index(charge Charge, service, operation, region string) int {
	for i := range rs {
		if rs[i].Charge != charge {
			continue
		}
		if _, ok := rs[i].matches(service, operation, region); ok {
			return i
		}
	}
	return -1
}

// Validate checks every rule and returns all problems found, joined; each is a *[RuleError].
// Rules from [LoadRules], [ParseRules] and [DefaultRules] are already valid.
func (rs Rules) Validate() error {
	var errs []error
	names := make(map[string]int, len(rs))
	for i, r := range rs {
		for _, p := range r.problems() {
			errs = append(errs, &RuleError{Rule: ruleLabel(r, i), Field: p.field, Msg: p.msg})
		}
		name := r.DisplayName()
		if first, dup := names[name]; dup {
			errs = append(errs, &RuleError{Rule: ruleLabel(r, i), Field: "name",
				Msg: fmt.Sprintf("duplicate rule name (also rule #%d)", first+1)})
		} else {
			names[name] = i
		}
	}
	return errors.Join(errs...)
}

// ruleLabel names rule i in an error: its name, or its position when it has none.
func ruleLabel(r Rule, i int) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("#%d", i+1)
}

type problem struct{ field, msg string }

// problems lists what is wrong with one rule, field by field.
func (r Rule) problems() []problem {
	var ps []problem
	if r.Service == "" {
		ps = append(ps, problem{"service", "is required"})
	} else if msg := checkName(r.Service); msg != "" {
		ps = append(ps, problem{"service", msg})
	}
	op := r.Operation
	if op == "" {
		op = "*"
	}
	if msg := checkPattern(op); msg != "" {
		ps = append(ps, problem{"operation", msg})
	} else if r.Service != "" {
		if alt, ok := unknownAlternative(r.Service, op); !ok {
			ps = append(ps, problem{"operation", fmt.Sprintf("%q matches no known %s operation", alt, r.Service)})
		}
	}
	if r.Region != "" {
		if msg := checkPattern(r.Region); msg != "" {
			ps = append(ps, problem{"region", msg})
		}
	}
	switch {
	case math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0):
		ps = append(ps, problem{"rate", "must be a finite number"})
	case r.Rate <= 0:
		ps = append(ps, problem{"rate", "must be > 0"})
	}
	if r.Burst <= 0 {
		ps = append(ps, problem{"burst", "must be > 0"})
	}
	switch {
	case r.Cost < 0:
		ps = append(ps, problem{"cost", "must be > 0"})
	case r.Charge == ChargeCalls && r.Burst > 0 && r.cost() > r.Burst:
		ps = append(ps, problem{"cost", fmt.Sprintf("%d exceeds burst %d: no call could ever be admitted", r.cost(), r.Burst)})
	}
	if int(r.Partition) >= len(partitionNames) {
		ps = append(ps, problem{"partition", fmt.Sprintf("unknown scheme %d", r.Partition)})
	}
	if int(r.Scope) >= len(scopeNames) {
		ps = append(ps, problem{"scope", fmt.Sprintf("unknown scope %d", r.Scope)})
	}
	if int(r.Charge) >= len(chargeNames) {
		ps = append(ps, problem{"charge", fmt.Sprintf("unknown charge %d", r.Charge)})
	}
	return ps
}

// checkName returns what is wrong with a service name, or "".
func checkName(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ' ' || c == '.') {
			return "contains " + quoteByte(c)
		}
	}
	return ""
}

// RuleError is a problem with one rule: where it is (File and Line, when the rule came from a
// file), which rule and field, and what is wrong.
type RuleError struct {
	File  string // file name given to ParseRules or LoadRules; empty for rules built in code
	Line  int    // 1-based line; 0 when unknown
	Rule  string // rule name, or "#N" for the N-th rule when it has no name
	Field string // field name; empty when the problem is not about one field
	Msg   string
}

func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString("limiter: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Rule != "" {
		if strings.HasPrefix(e.Rule, "#") {
			fmt.Fprintf(&b, "rule %s: ", e.Rule)
		} else {
			fmt.Fprintf(&b, "rule %q: ", e.Rule)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}
