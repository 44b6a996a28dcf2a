// Package event is tollgate's event vocabulary: what happened to a call, an attempt, a limiter
// bucket or a retry budget. The middleware (real time) and the simulator (virtual time) emit the
// same events; the metrics package turns them into Prometheus series and simulator reports
// aggregate them. An Observer receives them.
//
// Events carry the AWS service and operation, never a bucket name, object key, ARN or account:
// observers may use every field as a label without creating unbounded cardinality, except
// Client, which is for simulator reports only.
package event

import (
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// Kind says what an Event reports.
type Kind uint8

const (
	// CallStarted: a call (an SDK operation invocation) began. Fields: Service, Operation, Region.
	CallStarted Kind = iota + 1
	// CallFinished: a call ended. Outcome is Success or the class of the last failure; Attempts
	// the number of attempts made; Duration the call's total time; Reason, for a call stopped by
	// tollgate, the backoff.StopReason or limiter refusal reason ("" otherwise).
	CallFinished
	// AttemptFinished: one attempt got an answer (or a transport failure). Outcome is its class,
	// ErrorCode the AWS error code ("" on success), Status the HTTP status, Duration its latency,
	// Attempt its 1-based number.
	AttemptFinished
	// BackoffScheduled: a retry was scheduled. Duration is the delay, Outcome the class that is
	// retried, Attempt the number of the attempt that failed, Reason "hinted" when a server hint
	// set the delay.
	BackoffScheduled
	// RetryRefused: the retry policy refused a retry on the client side. Reason is the
	// backoff.StopReason ("budget", "deadline", "max_total_delay"), Duration the delay refused.
	RetryRefused
	// LimiterWaited: an attempt waited for its limiter bucket. Duration is the wait (0 when
	// admitted at once), Rule the limiter rule, Value the tokens left after admission.
	LimiterWaited
	// LimiterRefused: the limiter refused an attempt on the client side. Reason is the limiter's
	// refusal reason ("deadline", "max_wait", "fail_fast", ...), Duration the wait it refused,
	// Rule the rule.
	LimiterRefused
	// LimiterTokens: a bucket's level. Value is the tokens available, Capacity the burst, Rule the
	// rule.
	LimiterTokens
	// RateChanged: an adaptive rate changed. Value is the new rate (tokens/s; +Inf: unlimited),
	// Capacity the burst at that rate, Rule the rule (limiter.LearnedRule for a call no rule
	// covers) or strategy, Reason "cut" (AWS throttled the key) or "growth" (the rate grew by a
	// step of about 6% while calls waited for it).
	RateChanged
	// BudgetLevel: a retry budget's level after a decision. Value is the tokens available,
	// Capacity the capacity, Budget the budget's name.
	BudgetLevel
	// LeaseRenewed: a process renewed its lease on a bucket shared through a fleet store (one
	// round trip). Value is the lease's share (tokens/s), Capacity its burst, Duration the
	// round trip, Rule the rule; Reason is "state_lost" when the store had lost the bucket and
	// rebuilt it empty, "" otherwise.
	LeaseRenewed
	// StoreFallback: a process could not reach its fleet store for a bucket and spends a local
	// share instead (fail-open) or refuses (fail-closed). Reason is "timeout", "error" or
	// "breaker_open"; Value the fallback rate (tokens/s, 0 when fail-closed), Capacity its
	// burst, Duration how long the failed call took, Rule the rule.
	StoreFallback
	// StoreRecovered: the fleet store answered again and the bucket is leased from it again.
	// Duration is the time spent in fallback, Value the tokens spent without a lease (now
	// charged to the fleet), Rule the rule.
	StoreRecovered
)

var kindNames = [...]string{"", "call_started", "call_finished", "attempt_finished", "backoff_scheduled",
	"retry_refused", "limiter_waited", "limiter_refused", "limiter_tokens", "rate_changed", "budget_level",
	"lease_renewed", "store_fallback", "store_recovered"}

// String returns a snake_case name such as "attempt_finished".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Event is one thing that happened. Which fields are set depends on Kind (see the Kind constants).
type Event struct {
	Kind      Kind
	Time      time.Time
	Service   string // AWS SDK service ID: "S3", "EC2", "DynamoDB", ...
	Operation string // "GetObject", "DescribeInstances", ...
	Region    string
	Attempt   int           // 1-based attempt number
	Attempts  int           // CallFinished: attempts made
	Outcome   backoff.Class // attempt or call outcome; the class retried for BackoffScheduled
	ErrorCode string        // AWS error code, "" if none
	Status    int           // HTTP status, 0 if none
	Duration  time.Duration // latency, delay or wait, by Kind
	Reason    string        // stop, refusal or retry reason, by Kind
	Rule      string        // limiter rule name
	Budget    string        // retry budget name
	Value     float64       // tokens, rate or budget level, by Kind
	Capacity  float64       // burst or budget capacity, by Kind
	Client    string        // simulator only: which simulated client; never a metrics label
}

// Observer receives events. Observe is called synchronously on the caller's goroutine, possibly
// from many goroutines at once, so it must be safe for concurrent use and quick; it must not keep
// a reference into e beyond the call (e is passed by value).
type Observer interface {
	Observe(e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Multi returns an Observer that passes every event to each non-nil observer in turn. It returns
// nil when there are none, so callers can skip building events at all.
func Multi(observers ...Observer) Observer {
	var live []Observer
	for _, o := range observers {
		if o != nil {
			live = append(live, o)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return multi(live)
}

type multi []Observer

func (m multi) Observe(e Event) {
	for _, o := range m {
		o.Observe(e)
	}
}
