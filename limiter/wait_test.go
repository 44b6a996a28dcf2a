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
