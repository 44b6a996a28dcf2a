package limiter

import (
	"fmt"
	"time"
)

// RefusalReason says why the limiter refused a call.
type RefusalReason uint8

const (
	// RefusedDeadline: the wait would pass the caller's deadline.
	RefusedDeadline RefusalReason = iota + 1
	// RefusedMaxWait: the wait would exceed the configured MaxWait.
	RefusedMaxWait
	// RefusedFailFast: the limiter is in FailFast mode and the call would have to wait.
	RefusedFailFast
	// RefusedExceedsBurst: the call needs more tokens than the bucket can ever hold (e.g.
	// RunInstances for more instances than the resource bucket's burst); it can never be
	// admitted as one call.
	RefusedExceedsBurst
	// RefusedShared: the bucket is shared with other processes through a Store (WithStore),
	// and the store gives this process no tokens for the call: the fleet's demand took its
	// share, or the store is unreachable and its policy is fail-closed.
	RefusedShared
)

var reasonNames = [...]string{"", "deadline", "max-wait", "fail-fast", "exceeds-burst", "shared"}

func (r RefusalReason) String() string {
	if int(r) < len(reasonNames) && r != 0 {
		return reasonNames[r]
	}
	return fmt.Sprintf("RefusalReason(%d)", r)
}

// RefusedError is a client-side refusal: tollgate's limiter decided not to send the request, so
// AWS never saw it. Use errors.As to recognise it.
type RefusedError struct {
	Rule      string // name of the rule whose bucket refused
	Service   string // the call's service
	Operation string // the call's operation, as the SDK names it ("DescribeInstances")
	// Variant is the operation variant the call was keyed with, which chose its bucket
	// ("unfiltered" for an EC2 Describe call with neither filter nor pagination, see
	// UnfilteredOperation); empty for none.
	Variant string
	Wait    time.Duration // how long the call would have had to wait (0 for exceeds-burst)
	Reason  RefusalReason
	// Rate is the refill rate (tokens per second) of the refusing bucket when it is the calls
	// bucket, and Learned whether that rate was learned from throttles (below the rule's Rate:
	// other processes spend the same AWS quota) rather than the rule's own.
	Rate    float64
	Learned bool
}

func (e *RefusedError) Error() string {
	var why string
	at := ""
	if e.Learned {
		at = fmt.Sprintf(" at the learned rate of %.3g/s", e.Rate)
	}
	switch e.Reason {
	case RefusedDeadline:
		why = fmt.Sprintf("would wait %v%s, past the deadline", e.Wait, at)
	case RefusedMaxWait:
		why = fmt.Sprintf("would wait %v%s, more than the limiter's max wait", e.Wait, at)
	case RefusedFailFast:
		why = fmt.Sprintf("would wait %v%s and the limiter is in fail-fast mode", e.Wait, at)
	case RefusedExceedsBurst:
		why = "needs more tokens than the bucket holds"
	case RefusedShared:
		why = fmt.Sprintf("the bucket is shared with other processes and holds no tokens for this call in time%s", at)
	default:
		why = e.Reason.String()
	}
	op := e.Operation
	if e.Variant != "" {
		op += " (" + e.Variant + ")"
	}
	return fmt.Sprintf("limiter: client-side refusal by tollgate, no request sent to AWS: %s %s: rule %q: %s",
		e.Service, op, e.Rule, why)
}

// ClientSide always reports true: tollgate refused the call, AWS never saw it.
func (e *RefusedError) ClientSide() bool { return true }

// Refusal is a client-side refusal as a value: what a *RefusedError says, returned by
// [Limiter.Decide] and [Reservation.Recheck] without allocating (a simulator refuses millions
// of calls; an error value would cost an allocation each). Its zero value is no refusal.
type Refusal RefusedError

// Refused reports whether r is a refusal (its Reason is set).
func (r Refusal) Refused() bool { return r.Reason != 0 }

// Err returns r as a *RefusedError, or nil when r is no refusal.
func (r Refusal) Err() error {
	if r.Reason == 0 {
		return nil
	}
	e := RefusedError(r)
	return &e
}
