package limiter

import (
	"context"
	"fmt"
	"time"
)

// Wait blocks until the call may be sent, in real time: it is the one method that reads the
// clock and sleeps. It reserves as Reserve does with ctx's deadline, so a wait that would pass
// the deadline (or MaxWait) is refused at once with a *RefusedError instead of sleeping first.
// If ctx ends while waiting, the tokens are given back and the error wraps ctx.Err().
func (l *Limiter) Wait(ctx context.Context, key Key, units int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limiter: %s %s not admitted: %w", key.Service, key.Operation, err)
	}
	deadline, _ := ctx.Deadline()
	r, err := l.Reserve(time.Now(), key, units, deadline)
	if err != nil {
		return err
	}
	d := r.Delay()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel(time.Now())
		return fmt.Errorf("limiter: wait for %s %s abandoned: %w", key.Service, key.Operation, ctx.Err())
	}
}
