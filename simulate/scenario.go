package simulate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// Scenario is what to simulate: a server side, client groups that call it, and the strategies
// to compare. Scenarios are usually read from YAML (ParseScenario; the fields are documented in
// the package documentation).
type Scenario struct {
	Name        string
	Description string
	// Duration is how long the groups keep starting calls; calls in flight then finish.
	Duration time.Duration
	// Seed seeds every random source of every run (run i uses a seed derived from Seed and i).
	Seed uint64
	// Runs is how many seeds to run for each strategy (default 1); results are summed.
	Runs int
	// Server is the server side.
	Server ServerSpec
	// Groups are the client groups.
	Groups []Group
	// Strategies are the strategies to compare, by name (default: all built-ins).
	Strategies []string
	// TollgateRules, if not nil, are the tollgate strategy's limiter rules, as a user's rules
	// file; nil: limiter.DefaultRules(), the one-line install. tollgate-oracle gets the
	// server's rules whatever this says.
	TollgateRules limiter.Rules
	// Store is the fleet store the tollgate-fleet strategy's processes share (every process of
	// a run: one account, one Redis).
	Store StoreSpec
	// MaxAttempts overrides every strategy's maximum attempts per call (0: their default, 3).
	MaxAttempts int
	// MaxCallDuration is the longest a call may last in virtual time (0:
	// DefaultMaxCallDuration): a call still waiting then times out, as if its deadline had
	// passed. Every rule must refill a token within it.
	MaxCallDuration time.Duration

	// where ParseScenario read the server's and the tollgate strategy's rules, for errors
	// that name the file and line of a rule (nil: not from a file)
	serverRulesFile, tollgateRulesFile *rulesFile
}

// ServerSpec describes the server side of a scenario.
type ServerSpec struct {
	// Rules are the server's token buckets; nil means limiter.DefaultRules() (AWS's published
	// quotas).
	Rules limiter.Rules
	// Faults are fault windows (throttle or fail every request of an API for a while).
	Faults *server.FaultSchedule
	// SplitAfter and SplitDelay tune the S3 partition model (0: its defaults).
	SplitAfter, SplitDelay time.Duration
	// Capacity, if not empty, gives some APIs a capacity that changes with time (and outage
	// windows), overriding their rules.
	Capacity *server.CapacitySchedule
	// Hints are retry hints the server sends with throttling errors, consulted before the
	// hints AWS sends (server.DefaultHints: Lambda's Retry-After); an entry without a header
	// turns the hints of the requests it matches off.
	Hints []server.Hint
}

// Loop says how a group's calls arrive.
type Loop uint8

const (
	// OpenLoop: calls arrive as a Poisson process at Rate per second, whatever happens to
	// earlier calls.
	OpenLoop Loop = iota + 1
	// ClosedLoop: Workers per process each make one call at a time, waiting Think between
	// calls.
	ClosedLoop
)

func (l Loop) String() string {
	switch l {
	case OpenLoop:
		return "open"
	case ClosedLoop:
		return "closed"
	}
	return "unknown"
}

// Group is a set of client processes with the same workload.
type Group struct {
	Name string
	Loop Loop
	// Processes is the number of client processes (SDK client instances); default 1. Each has
	// its own strategy state (retry quota, adaptive rate, tollgate limiter).
	Processes int
	// Rate is the open-loop arrival rate of the whole group, in calls per second, from Start.
	Rate float64
	// Phases, if given instead of Rate, change the open-loop rate over time.
	Phases []Phase
	// Workers is the closed-loop number of concurrent workers per process.
	Workers int
	// Think is the closed-loop pause between a worker's calls.
	Think time.Duration
	// Start and Stop bound when the group starts calls (offsets from the run's start); Stop 0
	// means the scenario's Duration.
	Start, Stop time.Duration
	// Timeout is each call's deadline after it starts; 0 means none.
	Timeout time.Duration
	// RTT is the network round trip of one attempt (default 20 ms); Jitter the standard
	// deviation of each one-way hop, which is |N(RTT/2, Jitter)|.
	RTT, Jitter time.Duration
	// Operations is the operation mix.
	Operations []Operation
}

// Phase sets an open-loop group's arrival rate from At (an offset from the run's start) until
// the next phase.
type Phase struct {
	At   time.Duration
	Rate float64 // calls per second; 0 pauses the group
}

// Operation is one kind of call in a group's mix.
type Operation struct {
	Service   string // AWS SDK ServiceID: "EC2", "S3", ...
	Operation string // "DescribeInstances"
	Region    string // default "us-east-1"
	Resource  string // S3 bucket, DynamoDB table, ... ("" for none)
	// Prefixes are S3 key prefixes; each call picks one uniformly. Empty means none.
	Prefixes []string
	// Unfiltered marks an EC2 Describe call made with neither filter nor pagination (the
	// smaller bucket).
	Unfiltered bool
	// Units is the resources the call affects (EC2 RunInstances' instances); 0 means 1.
	Units int
	// Weight is the operation's share of the group's calls (relative; default 1).
	Weight float64
	// Alone asks for a companion run per strategy in which this operation runs on its own: its
	// group keeps its processes and this operation's calls (an open loop its share of the
	// rate; a closed loop its workers), every other operation of every group is left out. The
	// report shows the operation's figures alone beside its figures in the mix, which is how
	// a noisy neighbour is measured.
	Alone bool
}

// variant is one operation with one prefix, precomputed for the engine.
type variant struct {
	cum  float64 // cumulative weight, normalised to 1 for the last variant
	op   int32   // index of the variant's operation in its group's ops
	key  limiter.Key
	req  server.Request
	thr  backoff.Signal // the server's throttling answer
	fail backoff.Signal // the server's internal-error answer
	hint *server.Hint   // the retry hint of the throttling answer, nil for none
}

// compiledGroup is a Group ready to run.
type compiledGroup struct {
	Group
	variants       []variant
	startNS        int64
	stopNS         int64
	timeoutNS      int64
	hopNS, hopSDNS float64
	firstProc      int // index of the group's first process
	ops            []opInfo
}

// compiled is a validated scenario: immutable, shared by every run.
type compiled struct {
	sc    *Scenario
	rules limiter.Rules
	// oracle is what tollgate-oracle is handed: the server's rules, with the capacity steps
	// in force at the start of the run as rules of their own
	oracle limiter.Rules
	groups []compiledGroup
	nprocs int
	// hints are the server's retry hints: the scenario's before the defaults
	hints *server.Hints
}

const defaultRTT = 20 * time.Millisecond

// compile validates s and precomputes what runs need.
func compile(s *Scenario) (*compiled, error) {
	if s.Duration <= 0 {
		return nil, fmt.Errorf("simulate: scenario %q: duration must be > 0", s.Name)
	}
	maxCall := maxCallDuration(s.MaxCallDuration)
	if s.MaxCallDuration < 0 || maxCall > MaxHorizon/2 || s.Duration > MaxHorizon-maxCall {
		return nil, fmt.Errorf("simulate: scenario %q: duration (%v) and max_call_duration (%v) must be >= 0 and span at most %v of virtual time together",
			s.Name, s.Duration, maxCall, MaxHorizon)
	}
	if len(s.Groups) == 0 {
		return nil, fmt.Errorf("simulate: scenario %q: no client groups", s.Name)
	}
	rules := s.Server.Rules
	if rules == nil {
		rules = limiter.DefaultRules()
	}
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("simulate: scenario %q: server rules: %w", s.Name, err)
	}
	if err := checkRules(rules, s.serverRulesFile, maxCall, "server rules"); err != nil {
		return nil, err
	}
	if err := checkRules(s.TollgateRules, s.tollgateRulesFile, maxCall, "tollgate rules"); err != nil {
		return nil, err
	}
	hints, err := server.DefaultHints().With(s.Server.Hints)
	if err != nil {
		return nil, fmt.Errorf("simulate: scenario %q: %w", s.Name, err)
	}
	c := &compiled{sc: s, rules: rules, oracle: oracleRules(rules, s.Server.Capacity), hints: hints}
	for gi := range s.Groups {
		g := s.Groups[gi]
		if g.Processes <= 0 {
			g.Processes = 1
		}
		if g.RTT <= 0 {
			g.RTT = defaultRTT
		}
		stop := g.Stop
		if stop <= 0 || stop > s.Duration {
			stop = s.Duration
		}
		cg := compiledGroup{Group: g, startNS: int64(g.Start), stopNS: int64(stop), timeoutNS: int64(g.Timeout),
			hopNS: float64(g.RTT) / 2, hopSDNS: float64(g.Jitter), firstProc: c.nprocs}
		where := fmt.Sprintf("simulate: scenario %q: group %q", s.Name, g.Name)
		for _, d := range []struct {
			name string
			v    time.Duration
			max  time.Duration
		}{{"start", g.Start, MaxHorizon}, {"stop", g.Stop, MaxHorizon}, {"timeout", g.Timeout, MaxHorizon},
			{"think", g.Think, MaxHorizon}, {"rtt", g.RTT, maxCall}, {"jitter", g.Jitter, maxCall}} {
			if d.v < 0 || d.v > d.max {
				return nil, fmt.Errorf("%s: %s must be in [0, %v], not %v", where, d.name, d.max, d.v)
			}
		}
		switch g.Loop {
		case OpenLoop:
			if len(g.Phases) == 0 {
				if !(g.Rate > 0) {
					return nil, fmt.Errorf("%s: rate must be > 0 for an open loop", where)
				}
				cg.Phases = []Phase{{At: g.Start, Rate: g.Rate}}
			}
			for i, ph := range cg.Phases {
				if ph.Rate < 0 || math.IsNaN(ph.Rate) || math.IsInf(ph.Rate, 0) {
					return nil, fmt.Errorf("%s: phase %d: rate must be a finite number >= 0", where, i+1)
				}
				if i > 0 && ph.At <= cg.Phases[i-1].At {
					return nil, fmt.Errorf("%s: phase %d: phases must be in increasing order of at", where, i+1)
				}
			}
		case ClosedLoop:
			if g.Workers <= 0 {
				return nil, fmt.Errorf("%s: workers must be > 0 for a closed loop", where)
			}
		default:
			return nil, fmt.Errorf("%s: loop must be open or closed", where)
		}
		if len(g.Operations) == 0 {
			return nil, fmt.Errorf("%s: no operations", where)
		}
		total := 0.0
		for _, op := range g.Operations {
			w := op.Weight
			if w == 0 {
				w = 1
			}
			if w < 0 {
				return nil, fmt.Errorf("%s: operation %s %s: weight must be > 0", where, op.Service, op.Operation)
			}
			prefixes := op.Prefixes
			if len(prefixes) == 0 {
				prefixes = []string{""}
			}
			v0 := newVariant(op, "", hints)
			info := opInfo{Service: op.Service, Operation: op.Operation, Region: v0.req.Region, Resource: op.Resource, Unfiltered: op.Unfiltered}
			opIdx := slices.Index(cg.ops, info)
			if opIdx < 0 {
				opIdx = len(cg.ops)
				cg.ops = append(cg.ops, info)
			}
			for _, p := range prefixes {
				v := newVariant(op, p, hints)
				v.op = int32(opIdx)
				total += w / float64(len(prefixes))
				v.cum = total
				cg.variants = append(cg.variants, v)
			}
		}
		for i := range cg.variants {
			cg.variants[i].cum /= total
		}
		cg.variants[len(cg.variants)-1].cum = 1
		c.nprocs += g.Processes
		c.groups = append(c.groups, cg)
	}
	if err := s.Server.Capacity.Validate(); err != nil {
		return nil, fmt.Errorf("simulate: scenario %q: %w", s.Name, err)
	}
	if err := s.Server.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("simulate: scenario %q: %w", s.Name, err)
	}
	return c, nil
}

// newVariant precomputes the client key, the server request and the server's error answers
// (with their retry hint, from hints) for op with prefix.
func newVariant(op Operation, prefix string, hints *server.Hints) variant {
	region := op.Region
	if region == "" {
		region = "us-east-1"
	}
	v := variant{
		req: server.Request{Region: region, Service: op.Service, Operation: op.Operation, Resource: op.Resource,
			Prefix: prefix, Units: op.Units, Unfiltered: op.Unfiltered},
		key: limiter.Key{Region: region, Service: op.Service, Operation: op.Operation, Resource: op.Resource, Prefix: prefix},
	}
	if op.Unfiltered {
		if u, ok := limiter.UnfilteredOperation(op.Operation); ok {
			v.key.Operation = u
		}
	}
	v.thr, v.fail = serviceErrors(op.Service)
	v.hint = hints.Lookup(op.Service, op.Operation)
	return v
}

// serviceErrors returns the error code and HTTP status a service answers a throttled request
// and a failed one with, as the services document them (EC2:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html; S3:
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; DynamoDB, Lambda, API
// Gateway, STS: each API reference's Errors section).
func serviceErrors(service string) (throttle, fail backoff.Signal) {
	is := func(name string) bool { return service == name || strings.EqualFold(service, name) }
	switch {
	case is("EC2"):
		return backoff.Signal{Code: "RequestLimitExceeded", Status: 503}, backoff.Signal{Code: "InternalError", Status: 500}
	case is("S3"):
		return backoff.Signal{Code: "SlowDown", Status: 503}, backoff.Signal{Code: "InternalError", Status: 500}
	case is("DynamoDB"):
		return backoff.Signal{Code: "ProvisionedThroughputExceededException", Status: 400}, backoff.Signal{Code: "InternalServerError", Status: 500}
	case is("Lambda"):
		return backoff.Signal{Code: "TooManyRequestsException", Status: 429}, backoff.Signal{Code: "ServiceException", Status: 500}
	case is("API Gateway"):
		// e.g. https://docs.aws.amazon.com/apigateway/latest/api/API_GetRestApis.html#API_GetRestApis_Errors
		return backoff.Signal{Code: "TooManyRequestsException", Status: 429}, backoff.Signal{Code: "ServiceUnavailableException", Status: 503}
	case is("STS"), is("IAM"):
		return backoff.Signal{Code: "Throttling", Status: 400}, backoff.Signal{Code: "InternalFailure", Status: 500}
	}
	return backoff.Signal{Code: "ThrottlingException", Status: 400}, backoff.Signal{Code: "InternalFailure", Status: 500}
}

// nextArrival returns the time of the open-loop arrival after from, drawing exponential gaps at
// the rate of the phase in force and starting afresh at each phase boundary (a Poisson process
// is memoryless, so this is exact). It returns -1 when no arrival comes before stopNS.
func (cg *compiledGroup) nextArrival(from int64, exp func() float64) int64 {
	t := from
	for t < cg.stopNS {
		i := len(cg.Phases) - 1
		for i >= 0 && int64(cg.Phases[i].At) > t {
			i--
		}
		boundary := cg.stopNS
		if i+1 < len(cg.Phases) {
			boundary = min(boundary, int64(cg.Phases[i+1].At))
		}
		if i < 0 || cg.Phases[i].Rate <= 0 {
			t = boundary
			continue
		}
		// The gap in float64 first: at a tiny rate it can exceed what an int64 holds.
		gap := exp() / cg.Phases[i].Rate * 1e9
		if !(gap < float64(boundary-t)) {
			t = boundary
			continue
		}
		return t + int64(gap)
	}
	return -1
}

// oracleRules returns what tollgate-oracle is handed: the server's rules and, before them, a
// rule for each API whose capacity schedule has a bucket from the start (a step at 0 that is
// not an outage). Later steps are changes no client is told of.
func oracleRules(rules limiter.Rules, sched *server.CapacitySchedule) limiter.Rules {
	if sched == nil {
		return rules
	}
	var steps limiter.Rules
	for _, st := range sched.Steps {
		if st.Start != 0 || st.Outage {
			continue
		}
		r := limiter.Rule{Name: "capacity/" + strings.ToLower(st.Service) + "/" + st.Operation, Service: st.Service,
			Operation: st.Operation, Region: st.Region, Rate: st.Rate, Burst: st.Burst, Source: "the scenario's server.capacity"}
		if st.Operation == "" {
			r.Name += "*"
			r.Scope = limiter.ScopeShared
		}
		if st.Region != "" {
			r.Name += "@" + st.Region
		}
		steps = append(steps, r)
	}
	if len(steps) == 0 {
		return rules
	}
	return append(steps, rules...)
}
