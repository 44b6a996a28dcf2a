package limiter

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestAdmitsBurstPlusRateTimesT checks the bucket's defining property: over T seconds, calling
// as fast as the step allows, one key admits burst + rate·T calls (±1).
func TestAdmitsBurstPlusRateTimesT(t *testing.T) {
	cases := []struct {
		rate  float64
		burst int
		T     time.Duration
		step  time.Duration
	}{
		{20, 100, 10 * time.Second, time.Millisecond},    // EC2 non-mutating
		{10, 50, 30 * time.Second, 3 * time.Millisecond}, // EC2 unfiltered Describe
		{2, 5, 60 * time.Second, 10 * time.Millisecond},  // RunInstances requests
		{0.1, 1, 100 * time.Second, 50 * time.Millisecond},
		{5500, 5500, 2 * time.Second, 10 * time.Microsecond},
		{1, 1, 5 * time.Second, time.Second}, // step equal to the refill period
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("rate=%v/burst=%d", c.rate, c.burst), func(t *testing.T) {
			l := New(oneRule(c.rate, c.burst))
			admitted := 0
			for d := time.Duration(0); d <= c.T; d += c.step {
				// Several calls per instant: the bucket must not admit more than it holds.
				for range 3 {
					if ok, _ := l.Allow(at(d), keyX("Op"), 1); ok {
						admitted++
					}
				}
			}
			want := float64(c.burst) + c.rate*c.T.Seconds()
			if math.Abs(float64(admitted)-want) > 1 {
				t.Errorf("admitted %d calls in %v, want %v ± 1", admitted, c.T, want)
			}
		})
	}
}

func TestReserveEnforceDelays(t *testing.T) {
	l := New(oneRule(10, 5))
	k := keyX("Op")
	for i := range 5 {
		r, err := l.Reserve(t0, k, 1, time.Time{})
		if err != nil || r.Delay() != 0 {
			t.Fatalf("call %d: delay %v err %v, want admitted now", i, r.Delay(), err)
		}
	}
	// The bucket is empty: the next calls wait 100ms, 200ms, ... (rate 10/s).
	for i := 1; i <= 3; i++ {
		r, err := l.Reserve(t0, k, 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Duration(i) * 100 * time.Millisecond; r.Delay() != want {
			t.Errorf("reservation %d: delay %v, want %v", i, r.Delay(), want)
		}
		if r.Rule() != "r" {
			t.Errorf("Rule() = %q", r.Rule())
		}
	}
	st, _ := l.RuleStats("r")
	if st.Admitted != 5 || st.Delayed != 3 {
		t.Errorf("stats %+v, want 5 admitted, 3 delayed", st)
	}
}

func TestReserveRefusesPastMaxWaitAndDeadline(t *testing.T) {
	l := New(oneRule(10, 1), WithMaxWait(250*time.Millisecond))
	k := keyX("Op")
	mustReserve(t, l, t0, k, time.Time{}) // takes the only token
	mustReserve(t, l, t0, k, time.Time{}) // waits 100ms
	mustReserve(t, l, t0, k, time.Time{}) // waits 200ms
	_, err := l.Reserve(t0, k, 1, time.Time{})
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != RefusedMaxWait || re.Wait != 300*time.Millisecond || re.Rule != "r" {
		t.Fatalf("err = %v, want max-wait refusal after 300ms", err)
	}
	if !strings.Contains(err.Error(), "client-side") || !strings.Contains(err.Error(), "no request sent") {
		t.Errorf("message %q does not say the refusal is client-side", err)
	}
	// A deadline sooner than the max wait refuses with reason deadline.
	_, err = l.Reserve(t0, k, 1, at(150*time.Millisecond))
	if !errors.As(err, &re) || re.Reason != RefusedDeadline || re.Wait != 300*time.Millisecond {
		t.Fatalf("err = %v, want deadline refusal", err)
	}
	// Refusals reserve nothing: the bucket owes exactly the two delayed calls.
	if avail, _, _ := l.Tokens(t0, k); math.Abs(avail+2) > 1e-9 {
		t.Errorf("tokens = %v, want -2", avail)
	}
	// 100ms later the next call fits within the max wait again.
	r, err := l.Reserve(at(100*time.Millisecond), k, 1, time.Time{})
	if err != nil || r.Delay() != 200*time.Millisecond {
		t.Fatalf("delay %v err %v, want 200ms", r.Delay(), err)
	}
}

func mustReserve(t *testing.T, l *Limiter, now time.Time, k Key, deadline time.Time) Reservation {
	t.Helper()
	r, err := l.Reserve(now, k, 1, deadline)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return r
}

func TestFailFastNeverWaits(t *testing.T) {
	l := New(oneRule(2, 2), WithMode(FailFast))
	k := keyX("Op")
	mustReserve(t, l, t0, k, time.Time{})
	mustReserve(t, l, t0, k, time.Time{})
	_, err := l.Reserve(t0, k, 1, time.Time{})
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != RefusedFailFast || re.Wait != 500*time.Millisecond {
		t.Fatalf("err = %v, want fail-fast refusal reporting a 500ms wait", err)
	}
	// Refusals take nothing: at 500ms exactly one token is back.
	mustReserve(t, l, at(500*time.Millisecond), k, time.Time{})
	if _, err := l.Reserve(at(500*time.Millisecond), k, 1, time.Time{}); err == nil {
		t.Fatal("second call at 500ms admitted; only one token had refilled")
	}
}

func TestShadowReportsAndNeverBorrows(t *testing.T) {
	l := New(oneRule(10, 2), WithMode(Shadow), WithMaxWait(time.Second))
	k := keyX("Op")
	for range 2 {
		r := mustReserve(t, l, t0, k, time.Time{})
		if r.WouldWait() != 0 || r.Delay() != 0 {
			t.Fatalf("call with tokens: would wait %v", r.WouldWait())
		}
	}
	// A thousand calls beyond the burst: each would wait 100ms (the bucket is not driven into
	// debt, so the wait does not grow), none is delayed.
	for i := range 1000 {
		r := mustReserve(t, l, t0, k, time.Time{})
		if r.Delay() != 0 || r.WouldWait() != 100*time.Millisecond {
			t.Fatalf("call %d: delay %v, would wait %v; want 0 and 100ms", i, r.Delay(), r.WouldWait())
		}
		if _, _, refused := r.WouldRefuse(); refused {
			t.Fatalf("call %d: would refuse", i)
		}
	}
	// The bucket is empty, not in debt: 100ms later one token is there.
	if avail, _, _ := l.Tokens(at(100*time.Millisecond), k); math.Abs(avail-1) > 1e-9 {
		t.Errorf("tokens after 100ms = %v, want 1", avail)
	}
	// A deadline the wait would pass: reported as a would-refuse.
	r := mustReserve(t, l, t0, k, at(50*time.Millisecond))
	if reason, rule, ok := r.WouldRefuse(); !ok || reason != RefusedDeadline || rule != "r" {
		t.Errorf("WouldRefuse() = %v %q %v, want deadline by r", reason, rule, ok)
	}
	st, _ := l.RuleStats("r")
	if st.Admitted != 2 || st.WouldWait != 1000 || st.WouldRefuse != 1 || st.Refused != 0 || st.Delayed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCancelGivesTokensBack(t *testing.T) {
	l := New(oneRule(1, 3))
	k := keyX("Op")
	for range 3 {
		mustReserve(t, l, t0, k, time.Time{})
	}
	r := mustReserve(t, l, t0, k, time.Time{}) // waits 1s
	if r.Delay() != time.Second {
		t.Fatalf("delay %v", r.Delay())
	}
	r.Cancel(at(500 * time.Millisecond))
	r.Cancel(at(500 * time.Millisecond)) // a second cancel does nothing
	if avail, _, _ := l.Tokens(at(500*time.Millisecond), k); math.Abs(avail-0.5) > 1e-9 {
		t.Errorf("tokens after cancel = %v, want 0.5", avail)
	}
	// Cancelling after the reservation's time has come returns nothing.
	r2 := mustReserve(t, l, at(500*time.Millisecond), k, time.Time{}) // due at 1s
	r2.Cancel(at(2 * time.Second))
	if avail, _, _ := l.Tokens(at(2*time.Second), k); math.Abs(avail-1) > 1e-9 {
		t.Errorf("tokens = %v, want 1 (the late cancel must not add any)", avail)
	}
}

func TestTimeGoingBackwardsGivesNoExtraTokens(t *testing.T) {
	l := New(oneRule(10, 1))
	k := keyX("Op")
	admitted := 0
	// Alternate between a late and an early clock; x/time/rate alone would refill the gap
	// again on every swing.
	for i := range 100 {
		now := at(time.Duration(i) * 10 * time.Millisecond)
		for _, tt := range []time.Time{now.Add(time.Second), now} {
			if ok, _ := l.Allow(tt, k, 1); ok {
				admitted++
			}
		}
	}
	// Latest time seen: 1s + 990ms; at 10/s from a burst of 1: at most 1 + 19.9 calls.
	if admitted > 21 {
		t.Errorf("admitted %d, want at most 21", admitted)
	}
}

// A static limiter (a server's) does not limit calls no rule covers.
func TestNoRuleAdmitsEverythingWhenStatic(t *testing.T) {
	l := New(oneRule(1, 1), WithAdaptive(false))
	k := Key{Service: "Other", Operation: "Op"}
	for range 10 {
		if ok, rule := l.Allow(t0, k, 1); !ok || rule != "" {
			t.Fatalf("Allow = %v %q, want admitted by no rule", ok, rule)
		}
		r, err := l.Reserve(t0, k, 1, time.Time{})
		if err != nil || r.Rule() != "" || r.Delay() != 0 {
			t.Fatalf("Reserve = %+v, %v", r, err)
		}
	}
	if _, _, ok := l.Tokens(t0, k); ok {
		t.Error("Tokens reports a bucket for an uncovered call")
	}
}

func TestServiceAndOperationMatchIgnoreCase(t *testing.T) {
	l := New(DefaultRules())
	a := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeVolumes"}
	b := Key{Region: "US-EAST-1", Service: "ec2", Operation: "describevolumes"}
	for range 100 {
		l.Allow(t0, a, 1)
	}
	// Same bucket whatever the case: it is empty for b too.
	if ok, rule := l.Allow(t0, b, 1); ok || rule != "ec2-non-mutating" {
		t.Errorf("Allow(b) = %v %q, want refused by ec2-non-mutating (shared bucket)", ok, rule)
	}
}
