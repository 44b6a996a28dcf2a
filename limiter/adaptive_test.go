package limiter

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

var describe = Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}

// rateOf returns the key's rate in force at now.
func rateOf(t *testing.T, l *Limiter, now time.Time, k Key) float64 {
	t.Helper()
	r, _, _, ok := l.Rate(now, k)
	if !ok {
		t.Fatalf("no bucket decides %v", k)
	}
	return r
}

// A lone throttle (network jitter can make a client at exactly the server's rate arrive early)
// empties the bucket, as AWS's is, but cuts nothing.
func TestLoneThrottleEmptiesWithoutCutting(t *testing.T) {
	l := New(DefaultRules())
	for i := range 50 {
		l.Allow(at(time.Duration(i)*50*time.Millisecond), describe, 1)
		l.Succeeded(at(time.Duration(i)*50*time.Millisecond), describe)
	}
	now := at(2500 * time.Millisecond)
	if ch := l.Throttled(now, describe); ch.Kind() != RateUnchanged {
		t.Fatalf("lone throttle: %+v, want no change", ch)
	}
	if r := rateOf(t, l, now, describe); r != 20 {
		t.Errorf("rate %v after a lone throttle, want the rule's 20", r)
	}
	if avail, _, _ := l.Tokens(now, describe); avail > 0 {
		t.Errorf("%v tokens after a throttle, want the bucket empty", avail)
	}
	st, _ := l.RuleStats("ec2-non-mutating")
	if st.Cuts != 0 || st.Throttled != 1 {
		t.Errorf("stats %+v, want 1 throttle and no cut", st)
	}
}

// fleet drives n independent limiters (processes) whose calls share one server bucket of the
// given rate and burst, each offering demand calls per second (Poisson, seeded), waiting for its
// limiter (confirming after each wait) with a 10 s deadline, for d, with 10 ms from client to
// server and back. It returns the throttles and successes per second of its second half, and the
// processes' summed rate at the end.
func fleet(t *testing.T, n int, demand, rate float64, burst int, d time.Duration, key Key, seed uint64) (throttles, successes, sum float64) {
	t.Helper()
	srv := New(Rules{{Name: "server", Service: key.Service, Operation: key.Operation, Rate: rate, Burst: burst}}, WithAdaptive(false))
	clients := make([]*Limiter, n)
	for i := range clients {
		clients[i] = New(DefaultRules())
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	const (
		arrive = iota
		due
		answer
	)
	type event struct {
		at       time.Time
		kind, c  int
		res      Reservation
		deadline time.Time
		ok       bool
	}
	var q eventQueue[event]
	for c := range clients {
		q.push(t0, event{at: t0, kind: arrive, c: c})
	}
	half, end := t0.Add(d/2), t0.Add(d)
	var thr, ok int
	send := func(c int, now time.Time) {
		admitted, _ := srv.Allow(now.Add(10*time.Millisecond), key, 1)
		if now.After(half) && !now.After(end) {
			if admitted {
				ok++
			} else {
				thr++
			}
		}
		at := now.Add(20 * time.Millisecond)
		q.push(at, event{at: at, kind: answer, c: c, ok: admitted})
	}
	for q.len() > 0 {
		e := q.pop()
		l := clients[e.c]
		switch e.kind {
		case arrive:
			if e.at.After(end) {
				continue
			}
			next := e.at.Add(time.Duration(rng.ExpFloat64() / demand * 1e9))
			q.push(next, event{at: next, kind: arrive, c: e.c})
			dl := e.at.Add(10 * time.Second)
			r, err := l.Reserve(e.at, key, 1, dl)
			switch {
			case err != nil:
			case r.Delay() == 0:
				send(e.c, e.at)
			default:
				at := e.at.Add(r.Delay())
				q.push(at, event{at: at, kind: due, c: e.c, res: r, deadline: dl})
			}
		case due:
			w, err := e.res.Confirm(e.at, e.deadline)
			switch {
			case err != nil:
			case w > 0:
				e.at = e.at.Add(w)
				q.push(e.at, e)
			default:
				send(e.c, e.at)
			}
		case answer:
			if e.ok {
				l.Succeeded(e.at, key)
			} else {
				l.Throttled(e.at, key)
			}
		}
	}
	for _, c := range clients {
		sum += rateOf(t, c, end, key)
	}
	secs := (d / 2).Seconds()
	return float64(thr) / secs, float64(ok) / secs, sum
}

// eventQueue is a min-heap of events by time, ties in push order.
type eventQueue[E any] struct {
	items []queued[E]
	seq   int
}

type queued[E any] struct {
	at  time.Time
	seq int
	e   E
}

func (q *eventQueue[E]) len() int { return len(q.items) }

func (q *eventQueue[E]) less(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	return a.at.Before(b.at) || (a.at.Equal(b.at) && a.seq < b.seq)
}

func (q *eventQueue[E]) push(at time.Time, e E) {
	q.seq++
	q.items = append(q.items, queued[E]{at, q.seq, e})
	for i := len(q.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *eventQueue[E]) pop() E {
	top := q.items[0].e
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q.items) && q.less(l, m) {
			m = l
		}
		if r < len(q.items) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}

// Twenty processes share one account's DescribeInstances bucket (100 burst, 20/s), each offering
// 5/s: each learns its share, and together they use the bucket with few throttles.
func TestFleetLearnsItsShare(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		throttles, successes, sum := fleet(t, 20, 5, 20, 100, 4*time.Minute, describe, seed)
		if successes < 0.95*20 || throttles > 1 {
			t.Errorf("seed %d: %.2f successes/s, %.2f throttles/s in the second half; want ≥ 19 and ≤ 1", seed, successes, throttles)
		}
		if sum < 15 || sum > 30 {
			t.Errorf("seed %d: the processes' rates sum to %.1f/s, want about the bucket's 20", seed, sum)
		}
	}
}

// An API no rule covers gets a learned bucket at its first throttle, and the processes learn a
// limit the rules do not have.
func TestLearnedLimitOfAnUnknownAPI(t *testing.T) {
	sts := Key{Region: "us-east-1", Service: "STS", Operation: "AssumeRole"}
	for seed := uint64(1); seed <= 3; seed++ {
		throttles, successes, sum := fleet(t, 4, 10, 10, 10, 4*time.Minute, sts, seed)
		if successes < 0.95*10 || throttles > 0.5 {
			t.Errorf("seed %d: %.2f successes/s, %.2f throttles/s; want ≥ 9.5 and ≤ 0.5", seed, successes, throttles)
		}
		if sum < 7 || sum > 16 {
			t.Errorf("seed %d: learned rates sum to %.1f/s, want about the server's 10", seed, sum)
		}
	}
}

// An uncovered call costs no bucket and is not limited until AWS first throttles it.
func TestUncoveredCallIsUnlimitedUntilThrottled(t *testing.T) {
	l := New(DefaultRules())
	k := Key{Region: "us-east-1", Service: "STS", Operation: "AssumeRole"}
	for i := range 1000 {
		if ok, rule := l.Allow(t0, k, 1); !ok || rule != "" {
			t.Fatalf("call %d: Allow = %v %q, want admitted by no bucket", i, ok, rule)
		}
		l.Succeeded(t0, k)
	}
	if l.Keys() != 0 {
		t.Errorf("%d keys before any throttle, want 0", l.Keys())
	}
	if r, _, learned, _ := l.Rate(t0, k); !math.IsInf(r, 1) || learned {
		t.Errorf("rate %v learned %v before any throttle, want unlimited", r, learned)
	}
	if _, _, ok := l.Tokens(t0, k); ok {
		t.Error("Tokens reports a bucket before any throttle")
	}
	// Throttled: the bucket exists, armed; a throttle after the reaction window cuts it to
	// the share measured meanwhile.
	now := t0
	l.Throttled(now, k)
	if l.Keys() != 1 {
		t.Fatalf("%d keys after a throttle, want 1", l.Keys())
	}
	for range 10 {
		now = now.Add(50 * time.Millisecond)
		l.Succeeded(now, k)
	}
	now = now.Add(50 * time.Millisecond)
	ch := l.Throttled(now, k)
	if ch.Kind() != RateCut || ch.Rule != LearnedRule || !math.IsInf(ch.From, 1) {
		t.Fatalf("cut %+v, want a cut of the learned bucket from unlimited", ch)
	}
	// 12 answers in 0.55 s (21.8/s sent), 10 of them successes: a share of 21.8·11/13 =
	// 18.5/s (under 90% of what it sent: the cut goes to the share).
	if want := 12 / 0.55 * 11 / 13; math.Abs(ch.To-want) > 1e-3 {
		t.Errorf("cut to %v/s, want %v/s", ch.To, want)
	}
	if ok, rule := l.Allow(now.Add(time.Second), k, 1); !ok || rule != LearnedRule {
		t.Errorf("Allow = %v %q, want decided by the learned bucket", ok, rule)
	}
	if _, burst, ok := l.Tokens(now.Add(time.Second), k); !ok || burst != int(ch.To) {
		t.Errorf("Tokens: burst %d ok %v, want one second of the learned rate", burst, ok)
	}
	st, _ := l.RuleStats(LearnedRule)
	if st.Cuts != 1 || st.Learned != 1 || math.Abs(st.LearnedRate-ch.To) > 1e-6 {
		t.Errorf("learned stats %+v", st)
	}
}

// A rule is a ceiling: a learned rate grows back while the key is demand-limited, never past
// the rule's Rate, and does not grow while nobody uses it.
func TestGrowthIsDemandLimitedAndCeiled(t *testing.T) {
	l := New(DefaultRules())
	now := t0
	l.Throttled(now, describe)
	for range 10 {
		now = now.Add(100 * time.Millisecond)
		l.Succeeded(now, describe)
	}
	l.Throttled(now, describe)
	low := rateOf(t, l, now, describe)
	if low >= 20 {
		t.Fatalf("no cut: %v", low)
	}
	// Ten minutes of successes without demand: the rate stays.
	for range 600 {
		now = now.Add(time.Second)
		l.Succeeded(now, describe)
	}
	if r := rateOf(t, l, now, describe); r != low {
		t.Errorf("rate grew from %v to %v while nobody waited for it", low, r)
	}
	// Demand-limited: every call waits; the rate climbs back to the rule's, not beyond.
	growths := 0
	for range 30_000 {
		now = now.Add(20 * time.Millisecond)
		l.Reserve(now, describe, 1, time.Time{})
		if ch := l.Succeeded(now, describe); ch.Kind() == RateGrowth {
			growths++
		}
	}
	if r := rateOf(t, l, now, describe); r != 20 {
		t.Errorf("rate %v after 600 s demand-limited, want back at the rule's 20", r)
	}
	st, _ := l.RuleStats("ec2-non-mutating")
	if growths == 0 || st.Growths != uint64(growths) || st.Learned != 0 {
		t.Errorf("%d growth steps reported, stats %+v", growths, st)
	}
}

// The burst scales with the learned rate: a process that gets a fraction of the account's rate
// gets that fraction of its burst.
func TestBurstScalesWithTheLearnedRate(t *testing.T) {
	l := New(DefaultRules())
	now := t0
	l.Throttled(now, describe)
	for range 8 {
		now = now.Add(100 * time.Millisecond)
		l.Succeeded(now, describe)
		l.Throttled(now, describe)
	}
	rate, burst, learned, _ := l.Rate(now, describe)
	if !learned || math.Abs(burst-100*rate/20) > 1e-6 {
		t.Fatalf("rate %v burst %v learned %v, want burst 100·rate/20", rate, burst, learned)
	}
	later := now.Add(time.Hour)
	if n := drain(t, l, later, describe, 1); n != int(burst) {
		t.Errorf("an idle key admitted a burst of %d, want %d", n, int(burst))
	}
}

// Retry-After pauses the key: nothing is admitted before it has passed.
func TestRetryAfterPausesTheKey(t *testing.T) {
	l := New(DefaultRules())
	l.Feedback(t0, describe, Feedback{Throttled: true, RetryAfter: 2 * time.Second})
	r, err := l.Reserve(t0, describe, 1, time.Time{})
	if err != nil || r.Delay() < 2*time.Second || r.Delay() > 2*time.Second+time.Millisecond {
		t.Fatalf("Reserve after Retry-After 2s: delay %v err %v, want 2s", r.Delay(), err)
	}
	// A hostile hint is capped.
	l.Feedback(t0, describe, Feedback{Throttled: true, RetryAfter: time.Hour})
	if r, _ := l.Reserve(t0, describe, 1, time.Time{}); r.Delay() > maxPause+2*time.Second {
		t.Errorf("an hour's Retry-After paused %v", r.Delay())
	}
}

// Opting out: a NonAdaptive rule, and a static limiter, only count feedback.
func TestNonAdaptiveRulesAndStaticLimiters(t *testing.T) {
	rs := Rules{{Name: "fixed", Service: "X", Rate: 10, Burst: 10, NonAdaptive: true}}
	for _, l := range []*Limiter{New(rs), New(Rules{{Name: "fixed", Service: "X", Rate: 10, Burst: 10}}, WithAdaptive(false))} {
		k := keyX("Op")
		for i := range 100 {
			if ch := l.Throttled(at(time.Duration(i)*time.Second), k); ch.Kind() != RateUnchanged {
				t.Fatalf("%v: throttle changed the rate: %+v", l, ch)
			}
		}
		if r, _, learned, _ := l.Rate(at(time.Minute), k); r != 10 || learned {
			t.Errorf("%v: rate %v learned %v, want the rule's 10", l, r, learned)
		}
		st, _ := l.RuleStats("fixed")
		if st.Throttled != 100 || st.Cuts != 0 {
			t.Errorf("%v: stats %+v", l, st)
		}
	}
	if _, ok := New(rs, WithAdaptive(false)).RuleStats(LearnedRule); ok {
		t.Error("a static limiter has a learned rule")
	}
}

// A cut voids the reservations made before it: confirmed, each takes its token again at the
// new rate, so the queue goes out at the new rate without a gap, and the calls that can no
// longer make their deadline are refused at their turn.
func TestConfirmAfterACut(t *testing.T) {
	l := New(Rules{{Name: "r", Service: "X", Rate: 10, Burst: 1}})
	k := keyX("Op")
	l.Throttled(t0, k) // arm: the bucket empties
	var queue []Reservation
	var deadlines []time.Time
	for i := range 40 { // 4 s of calls at 10/s, each with a 5 s deadline
		dl := t0.Add(5 * time.Second)
		r, err := l.Reserve(t0, k, 1, dl)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		queue, deadlines = append(queue, r), append(deadlines, dl)
	}
	// AWS keeps throttling: after the reaction window, the cut to the measured share.
	now := t0.Add(600 * time.Millisecond)
	for range 5 {
		l.Succeeded(now, k)
	}
	ch := l.Throttled(now, k)
	if ch.Kind() != RateCut {
		t.Fatalf("no cut: %+v", ch)
	}
	newRate := ch.To
	var sent []time.Time
	refused := 0
	for i := range queue {
		due := t0.Add(queue[i].Delay())
		for {
			w, err := queue[i].Confirm(due, deadlines[i])
			var re *RefusedError
			if errors.As(err, &re) {
				if re.Reason != RefusedDeadline || !re.Learned {
					t.Errorf("refusal %v", re)
				}
				refused++
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if w == 0 {
				sent = append(sent, due)
				break
			}
			due = due.Add(w)
		}
	}
	if len(sent) == 0 || refused == 0 {
		t.Fatalf("%d sent, %d refused", len(sent), refused)
	}
	// From the cut on, no more than the new rate allows (its burst is one call).
	for i := range sent {
		for j := i + 1; j < len(sent); j++ {
			if sent[j].After(now) && sent[i].After(now) {
				if n, allowed := float64(j-i+1), 1+newRate*sent[j].Sub(sent[i]).Seconds(); n > allowed+1e-6 {
					t.Fatalf("%v calls sent in %v after the cut, more than %v at %v/s", n, sent[j].Sub(sent[i]), allowed, newRate)
				}
			}
		}
	}
	// ... and no gap: the confirmed calls keep the new pace until the deadline stops them.
	last := sent[len(sent)-1]
	if want := int(newRate*last.Sub(now).Seconds()) - 1; countAfter(sent, now) < want {
		t.Errorf("%d calls sent between the cut and %v, want at least %d at %v/s", countAfter(sent, now), last.Sub(now), want, newRate)
	}
}

// A voided reservation gives nothing back when cancelled: the cut forgave its tokens, and
// returning them would admit more than the new rate.
func TestCancelAfterACutGivesNothingBack(t *testing.T) {
	l := New(Rules{{Name: "r", Service: "X", Rate: 10, Burst: 1}})
	k := keyX("Op")
	l.Throttled(t0, k) // arm: empty
	var last Reservation
	for range 10 {
		last, _ = l.Reserve(t0, k, 1, time.Time{}) // due up to 1 s ahead
	}
	now := t0.Add(600 * time.Millisecond)
	if ch := l.Throttled(now, k); ch.Kind() != RateCut {
		t.Fatalf("no cut: %+v", ch)
	}
	before, _, _ := l.Tokens(now, k)
	last.Cancel(now)
	if after, _, _ := l.Tokens(now, k); after != before {
		t.Errorf("cancelling a voided reservation moved the bucket from %v to %v tokens", before, after)
	}
	// A reservation made after the cut is not voided: cancelling it gives its token back.
	now = now.Add(time.Millisecond)
	r, _ := l.Reserve(now, k, 1, time.Time{})
	mid, _, _ := l.Tokens(now, k)
	r.Cancel(now)
	if after, _, _ := l.Tokens(now, k); math.Abs(after-(mid+1)) > 1e-9 {
		t.Errorf("cancel after the cut: %v tokens, want %v", after, mid+1)
	}
}

func countAfter(ts []time.Time, t0 time.Time) int {
	n := 0
	for _, t := range ts {
		if t.After(t0) {
			n++
		}
	}
	return n
}

// A partitioned bucket is 96 bytes (a malloc size class) and its bucket 48: the memory per
// live key the package documentation gives.
func TestBucketSize(t *testing.T) {
	if s := unsafe.Sizeof(bucket{}); s != 48 {
		t.Errorf("bucket is %d bytes, want 48", s)
	}
	if s := unsafe.Sizeof(pbucket{}); s != 96 {
		t.Errorf("pbucket is %d bytes, want 96", s)
	}
}

// RateChange reports cuts once per reaction window and names the rule.
func TestOneCutPerReactionWindow(t *testing.T) {
	l := New(DefaultRules())
	now := t0
	l.Throttled(now, describe)
	cuts := 0
	for range 100 { // a throttle every 10 ms for a second
		now = now.Add(10 * time.Millisecond)
		ch := l.Throttled(now, describe)
		if ch.Kind() == RateCut {
			cuts++
			if ch.Rule != "ec2-non-mutating" || !(ch.To < ch.From) {
				t.Errorf("cut %+v", ch)
			}
		}
	}
	// Everything throttled: each cut goes to at most a fifth of... at least halves the rate,
	// and the reaction window grows as the rate falls.
	if cuts < 1 || cuts > 3 {
		t.Errorf("%d cuts in a second of throttles, want one per reaction window (1 to 3)", cuts)
	}
}

// The first throttle of a bucket sending under its rule's Rate caps it at the rate it was
// sending; a second one inside the reaction window is an overshoot, not jitter: the bucket cuts
// at once by quickCutFactor from that rate, and the measured cut follows when the reaction
// window is over.
func TestSecondThrottleCutsAtOnce(t *testing.T) {
	l := New(DefaultRules())
	k := Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: "lake", Prefix: "new/"}
	now := t0
	for range 1000 { // 1,000 GET/s for a second: well under the rule's 5,500
		now = now.Add(time.Millisecond)
		l.Reserve(now, k, 1, time.Time{})
		l.Succeeded(now, k)
	}
	if ch := l.Throttled(now, k); ch.Kind() != RateCut || ch.From != 5500 || math.Abs(ch.To-1000) > 10 {
		t.Fatalf("first throttle: %+v, want the bucket capped at the 1000/s it sent", ch)
	}
	now = now.Add(time.Millisecond)
	ch := l.Throttled(now, k)
	if ch.Kind() != RateCut || math.Abs(ch.From-1000) > 10 || math.Abs(ch.To-800) > 10 {
		t.Fatalf("second throttle: %+v, want a cut to 80%% of the 1000/s sent", ch)
	}
	// More throttles inside the reaction window change nothing more.
	for range 100 {
		now = now.Add(time.Millisecond)
		if ch := l.Throttled(now, k); ch.Kind() != RateUnchanged {
			t.Fatalf("third cut inside the reaction window: %+v", ch)
		}
	}
}

// Throttles that are a tiny share of a bucket's calls, at the server's own rate (network jitter
// compresses arrivals now and then), cut nothing: an overshoot by other processes throttles tens
// of percent.
func TestJitterAtTheServersRateCutsNothing(t *testing.T) {
	l := New(DefaultRules())
	k := Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: "lake", Prefix: "p/"}
	now := t0
	for i := range 5 {
		l.Throttled(now, k) // one throttle every 2 s among 5,000 calls a second
		for range 10_000 {
			now = now.Add(200 * time.Microsecond)
			l.Reserve(now, k, 1, time.Time{})
			l.Succeeded(now, k)
		}
		if r, _, learned, _ := l.Rate(now, k); learned || r != 5500 {
			t.Fatalf("after %d jitter throttles: rate %v, want the rule's 5500", i+1, r)
		}
	}
}

// Before its first cut, a bucket at its rule's own rate is cut by throttles that come close
// together (three within about a reaction window), not by jitter's throttles seconds apart.
func TestCloseThrottlesCutAnArmedBucket(t *testing.T) {
	l := New(DefaultRules())
	k := Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: "lake", Prefix: "p/"}
	now := t0
	send := func(d time.Duration) { // 5,405 GET/s: within 5% of the rule's 5,500
		for end := now.Add(d); now.Before(end); {
			now = now.Add(185 * time.Microsecond)
			l.Reserve(now, k, 1, time.Time{})
			l.Succeeded(now, k)
		}
	}
	send(time.Second)
	for range 3 { // jitter: a throttle every 2 s
		if ch := l.Throttled(now, k); ch.Kind() != RateUnchanged {
			t.Fatalf("jitter throttle: %+v", ch)
		}
		send(2 * time.Second)
	}
	l.Throttled(now, k)
	now = now.Add(50 * time.Millisecond)
	if ch := l.Throttled(now, k); ch.Kind() != RateUnchanged {
		t.Fatalf("second close throttle: %+v, want nothing yet", ch)
	}
	now = now.Add(50 * time.Millisecond)
	ch := l.Throttled(now, k)
	// A measured cut: the share is nearly all that was sent, so the cut is maxCutFactor's step
	// from the rate measured over the window (the last 10 s at most, to a few percent).
	if sent := 1 / 185e-6; ch.Kind() != RateCut || ch.From != 5500 || ch.To > maxCutFactor*sent || ch.To < 0.85*sent {
		t.Fatalf("third close throttle: %+v, want a cut to about %v", ch, maxCutFactor*sent)
	}
}

// A measured cut steps a bucket just over the server's rate back by maxCutFactor, and the rate
// grows back slowly and evenly while calls wait: growthPerSecond of the cut rate a second.
func TestCutStepAndEvenGrowth(t *testing.T) {
	l := New(DefaultRules())
	now := t0
	l.Throttled(now, describe)
	for range 10 {
		now = now.Add(100 * time.Millisecond)
		l.Succeeded(now, describe)
	}
	l.Throttled(now, describe) // the first measured cut
	// Demand-limited at the learned rate for a minute, then one throttle.
	wait := func(d time.Duration) {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(50 * time.Millisecond)
			l.Reserve(now, describe, 1, time.Time{}) // 20/s, more than the rate: calls wait
			l.Succeeded(now, describe)
		}
	}
	wait(time.Minute)
	before := rateOf(t, l, now, describe)
	ch := l.Throttled(now, describe)
	if ch.Kind() != RateCut || math.Abs(ch.To-maxCutFactor*before) > 1e-3*before {
		t.Fatalf("cut %+v from %v, want a step to %v", ch, before, maxCutFactor*before)
	}
	cut := ch.To
	wait(50 * time.Second)
	want := cut * (1 + growthPerSecond*50 + math.Pow(50/growthPeriod.Seconds(), 3))
	if got := rateOf(t, l, now, describe); math.Abs(got-want) > 0.01*want {
		t.Errorf("rate %v after 50 s demand-limited, want %v (+%.1f%%)", got, want, 100*(want/cut-1))
	}
}

// A bucket with too few calls to measure what it sent is not capped by its first throttle.
func TestFirstThrottleCapsOnlyMeasuredRates(t *testing.T) {
	l := New(DefaultRules())
	now := t0
	for range 5 { // 5 calls in 10 s
		now = now.Add(2 * time.Second)
		l.Allow(now, describe, 1)
		l.Succeeded(now, describe)
	}
	if ch := l.Throttled(now, describe); ch.Kind() != RateUnchanged {
		t.Fatalf("first throttle after 5 calls: %+v, want no cap", ch)
	}
	if r := rateOf(t, l, now, describe); r != 20 {
		t.Errorf("rate %v, want the rule's 20", r)
	}
}
