package simulate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/limiter"
)

// Strategy is a client-side retry and rate-limiting behaviour under comparison. The engine makes
// one Client per simulated client process (one SDK client instance, or one tollgate instance
// installed in it) and drives it attempt by attempt: Admit before each attempt is sent, Finish
// when its answer arrives. Strategies never read the clock nor draw from a global random source:
// the engine passes virtual time and the process's seeded source.
type Strategy interface {
	// Name identifies the strategy in reports ("tollgate", "sdk-standard", ...).
	Name() string
	// NewClient returns the state of one client process.
	NewClient(env ClientEnv) Client
}

// ClientEnv is what a strategy knows about the client process it builds: what a real process
// knows when it starts. It holds nothing of the server's true limits: a strategy that needs
// them must say so by being an Oracle.
type ClientEnv struct {
	// Name is the client's name in events and reports ("ec2-controller/0").
	Name string
	// Rand is the process's seeded random source; every draw the client makes comes from it.
	Rand *rand.Rand
	// Created is when the process made its client (the SDK's adaptive mode starts its clocks
	// then).
	Created time.Time
	// Fleet is the run's fleet store, shared by every process of the run, for a strategy
	// that uses one (TollgateFleet); nil otherwise.
	Fleet *fleet.ModelStore
}

// Oracle is a Strategy that is handed the server's true rules — what no real install knows.
// The engine calls NewOracleClient instead of NewClient, so only a strategy that declares itself
// an Oracle ever sees them; its name must say so ("tollgate-oracle"), and reports mark it.
type Oracle interface {
	Strategy
	// NewOracleClient returns the state of one client process that knows the server's rules.
	NewOracleClient(env ClientEnv, server limiter.Rules) Client
}

// IsOracle reports whether s is handed the server's rules.
func IsOracle(s Strategy) bool {
	_, ok := s.(Oracle)
	return ok
}

// Client is one simulated client process under a Strategy. Its methods are called from one
// goroutine (a run is single-threaded), in virtual-time order.
type Client interface {
	// Start begins a call at now. c.Key, c.Units, c.Start and c.Deadline are set.
	Start(now time.Time, c *Call)
	// Admit is asked before every attempt, retries included. A zero Admission sends the
	// attempt now. Wait > 0 asks the engine to come back after Wait (a strategy that reserved
	// its tokens records that in c and admits the second time at once). Refused ends the call
	// on the client side: nothing is sent.
	Admit(now time.Time, c *Call) Admission
	// Finish reports the answer to the latest attempt: the zero Signal for a success, the AWS
	// error code and HTTP status for a failure. For a failure it decides whether to retry.
	Finish(now time.Time, c *Call, s backoff.Signal) Decision
	// Abandon reports that the call ended at now while it waited to be admitted (its
	// deadline passed): the client releases what it holds for it.
	Abandon(now time.Time, c *Call)
}

// Call is the per-call state the engine keeps for a strategy. The engine reuses Call values:
// Start must initialise every field the strategy uses.
type Call struct {
	Key      limiter.Key // what the call is: Region, Service, Operation, Resource, Prefix
	Units    int         // resources the call affects (EC2 RunInstances' instances), 0 for none
	Start    time.Time   // when the call began
	Deadline time.Time   // when the caller gives up (zero: never)
	Attempt  int         // attempts sent so far, the one in flight included

	// Hints are the server's retry hints (x-amz-retry-after, Retry-After) on the latest
	// attempt's answer, as the service sends them (server.Hints): set by the engine before
	// Finish, zero when the answer carried none. A strategy honours them as the code it models
	// does: the SDK only x-amz-retry-after, tollgate both.
	Hints backoff.Hints
	// Latency is how long the latest attempt took from being sent to its answer: set by the
	// engine before Finish, zero for an attempt cancelled in flight (no answer).
	Latency time.Duration

	// Policy is the call's state under a backoff.Policy, for strategies built on one.
	Policy backoff.Call
	// Held is strategy scratch: the pending attempt holds its admission (a limiter
	// reservation) or is queued for one (an adaptive token).
	Held bool
	// Reservation is strategy scratch: the limiter reservation the pending attempt holds.
	Reservation limiter.Reservation
	// Cost is strategy scratch: what the latest retry took from a retry quota.
	Cost int
}

// Admission is a Client's answer to Admit.
type Admission struct {
	Wait time.Duration // > 0: ask again after Wait
	// Shared says that Wait is the client's answer to every attempt it holds back now, not to
	// this one alone (the SDK's adaptive bucket: every sleeper computes the same wait from the
	// same tokens). The engine then wakes such attempts together: the ones that wake at the same
	// instant are asked again in a random order, as goroutines racing for a mutex would be, and
	// when one of them is told to wait again the others are told the same without being asked.
	Shared  bool
	Refused bool   // the client refuses the attempt (client-side; the call ends)
	Reason  string // why it refused ("deadline", "max-wait", ...)
	Rule    string // the limiter rule that decided, if any
}

// Decision is a Client's answer to Finish.
type Decision struct {
	Class backoff.Class // the attempt's class (Success for a success)
	Retry bool          // retry after Delay
	Delay time.Duration
	// Stop says why the call ends when Retry is false: "success", "non_retryable",
	// "max_attempts", "budget", "deadline", "max_total_delay".
	Stop string
	// ClientSide reports that the client, not AWS, ended the call (a retry budget or a
	// deadline refused the retry).
	ClientSide bool
	// Budget and Level report the retry budget's name and level after the decision, if any.
	Budget   string
	Level    float64
	Capacity float64
}

// StrategyNames lists the built-in strategies in report order.
func StrategyNames() []string {
	return []string{"tollgate", "tollgate-fleet", "sdk-standard", "sdk-adaptive", "sdk-legacy", "no-jitter", "no-retry", "tollgate-oracle"}
}

// StrategyOptions tune the built-in strategies.
type StrategyOptions struct {
	// Rules, if not nil, are the tollgate strategy's limiter rules, as a user's rules file would
	// give them (e.g. fitted from a trace with `tollgate fit`); nil means limiter.DefaultRules(),
	// the one-line install. tollgate-oracle ignores them: it is handed the server's rules.
	Rules limiter.Rules
	// MaxAttempts overrides the maximum attempts per call (0: each strategy's default, 3).
	MaxAttempts int
	// Store is tollgate-fleet's fleet store.
	Store StoreSpec
}

// NewStrategy returns the built-in strategy called name.
func NewStrategy(name string, opts StrategyOptions) (Strategy, error) {
	switch name {
	case "tollgate":
		return &Tollgate{Rules: opts.Rules, MaxAttempts: opts.MaxAttempts}, nil
	case "tollgate-fleet":
		return &TollgateFleet{Rules: opts.Rules, MaxAttempts: opts.MaxAttempts, Store: opts.Store}, nil
	case "tollgate-oracle":
		return &TollgateOracle{MaxAttempts: opts.MaxAttempts}, nil
	case "sdk-standard":
		return &SDKStandard{MaxAttempts: opts.MaxAttempts}, nil
	case "sdk-adaptive":
		return &SDKAdaptive{MaxAttempts: opts.MaxAttempts, WakeQuantum: RealClockWake}, nil
	case "sdk-legacy":
		return &SDKLegacy{MaxAttempts: opts.MaxAttempts}, nil
	case "no-jitter":
		return &PolicyStrategy{Label: "no-jitter", Jitter: backoff.NoJitter, Quota: true, MaxAttempts: opts.MaxAttempts}, nil
	case "no-retry":
		return &PolicyStrategy{Label: "no-retry", MaxAttempts: 1}, nil
	}
	return nil, fmt.Errorf("simulate: unknown strategy %q (known: %s)", name, strings.Join(StrategyNames(), ", "))
}

// ParseStrategies parses a comma-separated list of strategy names ("all" for every built-in).
func ParseStrategies(list string, opts StrategyOptions) ([]Strategy, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case n == "all":
			names = append(names, StrategyNames()...)
		default:
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("simulate: no strategies given (known: %s)", strings.Join(StrategyNames(), ", "))
	}
	var out []Strategy
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("simulate: strategy %q given twice", n)
		}
		s, err := NewStrategy(n, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
