package limiter

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestWaitSleepsForTheReservedDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(oneRule(10, 1))
		k := keyX("Op")
		ctx := context.Background()
		start := time.Now()
		for range 3 {
			if err := l.Wait(ctx, k, 1); err != nil {
				t.Fatal(err)
			}
		}
		// One call at once, then one per 100ms.
		if got := time.Since(start); got != 200*time.Millisecond {
			t.Errorf("three calls took %v, want 200ms", got)
		}
	})
}

func TestWaitRefusesAtOnceWhenTheDeadlineIsTooClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(oneRule(1, 1))
		k := keyX("Op")
		if err := l.Wait(context.Background(), k, 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx, k, 1)
		var re *RefusedError
		if !errors.As(err, &re) || re.Reason != RefusedDeadline || re.Wait != time.Second {
			t.Fatalf("err = %v, want a deadline refusal for a 1s wait", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("refusal took %v; it must not wait first", time.Since(start))
		}
	})
}

func TestWaitGivesTokensBackWhenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(oneRule(1, 1))
		k := keyX("Op")
		if err := l.Wait(context.Background(), k, 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(300 * time.Millisecond)
			cancel()
		}()
		err := l.Wait(ctx, k, 1)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		// The cancelled call's token is back: 0.3 tokens have refilled since the first call.
		if avail, _, _ := l.Tokens(time.Now(), k); math.Abs(avail-0.3) > 1e-9 {
			t.Errorf("tokens = %v, want 0.3", avail)
		}
		// An already-cancelled context is not admitted.
		if err := l.Wait(ctx, k, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWaitInShadowModeNeverSleeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(oneRule(1, 1), WithMode(Shadow))
		start := time.Now()
		for range 5 {
			if err := l.Wait(context.Background(), keyX("Op"), 1); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("shadow mode waited %v", time.Since(start))
		}
		st, _ := l.RuleStats("r")
		if st.Admitted != 1 || st.WouldWait != 4 {
			t.Errorf("stats %+v, want 1 admitted and 4 would-wait", st)
		}
	})
}

// A Wait whose delay ends exactly at its context's deadline (the timer and the deadline fire
// together; under CPU saturation a late timer is the same race) is never admitted: it returns
// the deadline error and gives its token back, every time, whichever fired first.
func TestWaitNeverAdmitsAtOrAfterTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(oneRule(10, 1))
		k := keyX("Op")
		for i := range 50 {
			if err := l.Wait(context.Background(), k, 1); err != nil { // takes the token
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond) // = the wait
			err := l.Wait(ctx, k, 1)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("round %d: err = %v at the deadline, want context.DeadlineExceeded", i, err)
			}
			// The token is back: the next call goes at once.
			start := time.Now()
			if err := l.Wait(context.Background(), k, 1); err != nil || time.Since(start) != 0 {
				t.Fatalf("round %d: the token was not given back (err %v, waited %v)", i, err, time.Since(start))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// Wait confirms its reservation when the delay is over: a cut meanwhile makes it wait for the
// new rate (or refuses it when that would pass the deadline).
func TestWaitConfirmsAfterACut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(oneRule(10, 1))
		k := keyX("Op")
		l.Throttled(time.Now(), k) // arm
		for range 5 {
			l.Wait(context.Background(), k, 1) // 0.5 s of calls at 10/s
		}
		start := time.Now()
		done := make(chan error)
		go func() { done <- l.Wait(context.Background(), k, 1) }() // due in 100 ms
		time.Sleep(50 * time.Millisecond)
		for range 5 {
			l.Succeeded(time.Now(), k)
		}
		if ch := l.Throttled(time.Now(), k); ch.Kind() != RateCut {
			t.Fatalf("no cut: %+v", ch)
		}
		rate, _, _, _ := l.Rate(time.Now(), k)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Voided by the cut, the call took a token again at 100 ms from a bucket emptied at
		// 50 ms, refilling at the new rate.
		want := 50*time.Millisecond + time.Duration(float64(time.Second)/rate)
		if got := time.Since(start); got < want-time.Millisecond || got > want+time.Millisecond {
			t.Errorf("waited %v after a cut to %v/s, want %v", got, rate, want)
		}
	})
}
