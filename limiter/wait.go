package limiter

import (
	"context"
	"fmt"
	"time"
)

// Wait blocks until the call may be sent, in real time: it is the one method that reads the
// clock and sleeps. It reserves as Reserve does with ctx's deadline, so a wait that would pass
// the deadline (or MaxWait) is refused at once with a *RefusedError instead of sleeping first;
// when the delay has passed it confirms the reservation (a rate cut meanwhile may make it wait
// longer, or refuse). It never admits a call after ctx is done or its deadline has passed, even
// when the timer and the cancellation race (a late timer under CPU saturation): the tokens are
// then given back and the error wraps ctx.Err() (context.DeadlineExceeded for a deadline
// passed before ctx noticed).
func (l *Limiter) Wait(ctx context.Context, key Key, units int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limiter: %s %s not admitted: %w", key.Service, key.Operation, err)
	}
	deadline, _ := ctx.Deadline()
	r, err := l.Reserve(time.Now(), key, units, deadline)
	if err != nil {
		return err
	}
	for d := r.Delay(); d > 0; {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			r.release(time.Now())
			return fmt.Errorf("limiter: wait for %s %s abandoned: %w", key.Service, key.Operation, ctx.Err())
		}
		now := time.Now()
		if err := ctxDone(ctx, now, deadline); err != nil {
			r.release(now)
			return fmt.Errorf("limiter: wait for %s %s abandoned: %w", key.Service, key.Operation, err)
		}
		if d, err = r.Confirm(now, deadline); err != nil {
			return err
		}
	}
	return nil
}

// ctxDone returns ctx's error, or context.DeadlineExceeded when its deadline has passed at now
// but ctx has not noticed yet.
func ctxDone(ctx context.Context, now, deadline time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !deadline.IsZero() && !now.Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}
