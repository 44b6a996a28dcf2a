package backoff

import (
	"fmt"
	"time"
)

// RetryRefusedError reports that tollgate — on the client side — decided not to retry a failed
// call: its retry budget was exhausted, the next attempt would have started after the call's
// deadline, or the call's total delay would have exceeded its maximum. No further request was
// sent. Err is the last error the service returned; errors.Is/As see through to it.
type RetryRefusedError struct {
	Reason    StopReason    // StopBudget, StopDeadline or StopMaxTotalDelay
	Attempts  int           // attempts made
	Delay     time.Duration // the delay the refused retry would have waited
	Left      time.Duration // StopDeadline: time left before the deadline
	Budget    string        // StopBudget: the budget's name
	Available float64       // StopBudget: tokens left
	Needed    float64       // StopBudget: tokens the retry needed
	Err       error         // the last attempt's error
}

func (e *RetryRefusedError) Error() string {
	var why string
	switch e.Reason {
	case StopBudget:
		why = fmt.Sprintf("client-side retry budget %q is exhausted (%g tokens left, %g needed)",
			e.Budget, e.Available, e.Needed)
	case StopDeadline:
		why = fmt.Sprintf("the retry would wait %v but the call's deadline is %v away", e.Delay, e.Left)
	case StopMaxTotalDelay:
		why = fmt.Sprintf("the retry would wait %v more, past the call's maximum total delay", e.Delay)
	default:
		why = e.Reason.String()
	}
	msg := fmt.Sprintf("tollgate: no retry after %d attempt(s): %s; this refusal is client-side, no further request was sent",
		e.Attempts, why)
	if e.Err != nil {
		msg += fmt.Sprintf("; last error from the service: %v", e.Err)
	}
	return msg
}

// Unwrap returns the last service error.
func (e *RetryRefusedError) Unwrap() error { return e.Err }

// ClientSide always reports true: the refusal came from tollgate, not from AWS.
func (e *RetryRefusedError) ClientSide() bool { return true }
