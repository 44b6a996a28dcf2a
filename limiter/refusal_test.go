package limiter

import (
	"errors"
	"testing"
	"time"
)

// Decide and Recheck refuse without allocating, and their refusals say exactly what Reserve's
// and Confirm's *RefusedError say: in every mode and for every reason.
func TestRefusalsAsValues(t *testing.T) {
	ec2 := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	s3 := Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: "b", Prefix: "p/"}
	run := Key{Region: "us-east-1", Service: "EC2", Operation: "RunInstances"}
	// Twin limiters see the same calls: one answers with values, the other with errors.
	type twin struct {
		name   string
		opts   []Option
		key    Key
		units  int
		reason RefusalReason
	}
	for _, c := range []twin{
		{"deadline, unpartitioned", nil, ec2, 1, RefusedDeadline},
		{"deadline, partitioned", nil, s3, 1, RefusedDeadline},
		{"max wait", []Option{WithMaxWait(time.Second)}, ec2, 1, RefusedMaxWait},
		{"fail fast", []Option{WithMode(FailFast)}, ec2, 1, RefusedFailFast},
		{"exceeds burst", nil, run, 10_000, RefusedExceedsBurst},
	} {
		values, errs := New(DefaultRules(), c.opts...), New(DefaultRules(), c.opts...)
		deadline := t0.Add(2 * time.Second)
		var ref Refusal
		for i := 0; i < 100_000 && !ref.Refused(); i++ { // drain until the first refusal
			var r Reservation
			r, ref = values.Decide(t0, c.key, c.units, deadline)
			_, err := errs.Reserve(t0, c.key, c.units, deadline)
			if (err != nil) != ref.Refused() {
				t.Fatalf("%s: call %d: Decide refused %v, Reserve error %v", c.name, i, ref.Refused(), err)
			}
			if !ref.Refused() && r.Rule() == "" {
				t.Fatalf("%s: no rule decided", c.name)
			}
			if err != nil {
				var re *RefusedError
				if !errors.As(err, &re) || *re != RefusedError(ref) || ref.Err().Error() != err.Error() {
					t.Fatalf("%s: Decide %+v, Reserve %v", c.name, ref, err)
				}
			}
		}
		if ref.Reason != c.reason {
			t.Fatalf("%s: refusal %+v, want reason %v", c.name, ref, c.reason)
		}
		if n := testing.AllocsPerRun(1000, func() { values.Decide(t0, c.key, c.units, deadline) }); n != 0 {
			t.Errorf("%s: a refusal by Decide costs %v allocations", c.name, n)
		}
	}
	if (Refusal{}).Err() != nil || (Refusal{}).Refused() {
		t.Error("the zero Refusal is a refusal")
	}
}

// Recheck refuses a reservation a cut voided, when its new turn would pass the deadline, as
// Confirm does, without allocating.
func TestRecheckRefusesAsConfirm(t *testing.T) {
	k := keyX("Op")
	var refs [2]Refusal
	var errs [2]error
	for i := range 2 {
		l := New(Rules{{Name: "r", Service: "X", Rate: 10, Burst: 1}})
		l.Throttled(t0, k) // arm: the bucket empties
		var rs []Reservation
		for range 20 { // two seconds of calls at 10/s
			r, _ := l.Reserve(t0, k, 1, time.Time{})
			rs = append(rs, r)
		}
		now := t0.Add(600 * time.Millisecond)
		if ch := l.Throttled(now, k); ch.Kind() != RateCut {
			t.Fatalf("no cut: %+v", ch)
		}
		// Each voided reservation takes its token again at its turn, with a deadline just
		// after it: at the new rate, later ones cannot make it.
		for j := range rs {
			due := t0.Add(rs[j].Delay())
			deadline := due.Add(time.Millisecond)
			if i == 0 {
				if _, refs[i] = rs[j].Recheck(due, deadline); refs[i].Refused() {
					break
				}
			} else if _, errs[i] = rs[j].Confirm(due, deadline); errs[i] != nil {
				break
			}
		}
	}
	if !refs[0].Refused() {
		t.Fatal("Recheck refused nothing after the cut")
	}
	// A refusal by Recheck allocates nothing: a queue voided by a cut, each rechecked with a
	// deadline it cannot make.
	l := New(Rules{{Name: "r", Service: "X", Rate: 10, Burst: 1}})
	l.Throttled(t0, k)
	rs := make([]Reservation, 1001)
	for j := range rs {
		rs[j], _ = l.Reserve(t0, k, 1, time.Time{})
	}
	now := t0.Add(600 * time.Millisecond)
	l.Throttled(now, k)
	j := 0
	if n := testing.AllocsPerRun(1000, func() {
		if _, ref := rs[j].Recheck(now, now); !ref.Refused() {
			t.Fatalf("reservation %d not refused", j)
		}
		j++
	}); n != 0 {
		t.Errorf("a refusal by Recheck costs %v allocations", n)
	}
	var re *RefusedError
	if !errors.As(errs[1], &re) || *re != RefusedError(refs[0]) || re.Reason != RefusedDeadline || !re.Learned {
		t.Errorf("Confirm %v, Recheck %+v: want the same deadline refusal at the learned rate", errs[1], refs[0])
	}
}
