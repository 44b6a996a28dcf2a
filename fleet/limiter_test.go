package fleet

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

// The limiter's API over a fleet store in virtual time: every process has its own limiter
// (limiter.New with WithStore over its Process), decides with Reserve and Confirm as the
// middleware does, and tells its limiter what AWS answered (a static limiter with the server's
// rules, as the simulator's server model decides).

var describe = limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}

type lcfg struct {
	rules     limiter.Rules // the processes' rules (nil: DefaultRules)
	server    limiter.Rules // AWS's buckets (nil: the processes' rules)
	procs     int
	offered   float64 // calls per second per process
	duration  time.Duration
	deadline  time.Duration
	rtt       time.Duration // the store's round trip
	net       time.Duration // a call's round trip to AWS
	mode      limiter.Mode
	noStore   bool // each process learns alone (no fleet store)
	seed      uint64
	withStats bool
}

type lresult struct {
	sends, throttled, refused int
	sendsIn                   int // sent before the end of the arrivals
	reasons                   map[string]int
	lims                      []*limiter.Limiter
	procs                     []*Process
	store                     *ModelStore
	// admittedAfter counts the calls AWS admitted after the given offset (the steady state).
	admittedLate, sendsLate int
	stats                   limiter.RuleStats
}

type lev struct {
	at   time.Time
	seq  int
	proc int
	kind int // 0 arrival, 1 confirm, 2 answer
	res  limiter.Reservation
	dl   time.Time
	ok   bool
}
type levHeap []*lev

func (h levHeap) Len() int { return len(h) }
func (h levHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h levHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *levHeap) Push(x any)   { *h = append(*h, x.(*lev)) }
func (h *levHeap) Pop() any     { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

func runLimiters(t *testing.T, c lcfg) lresult {
	t.Helper()
	rules := c.rules
	if rules == nil {
		rules = limiter.DefaultRules()
	}
	srvRules := c.server
	if srvRules == nil {
		srvRules = rules
	}
	server := limiter.New(srvRules, limiter.WithAdaptive(false))
	store := &ModelStore{RTT: c.rtt}
	res := lresult{reasons: map[string]int{}, store: store}
	for i := range c.procs {
		opts := []limiter.Option{limiter.WithMode(c.mode)}
		if !c.noStore {
			p := NewProcess(store, fmt.Sprintf("p%d", i), Policy{}, 0)
			res.procs = append(res.procs, p)
			opts = append(opts, limiter.WithStore(p.Store(StoreOptions{})))
		}
		res.lims = append(res.lims, limiter.New(rules, opts...))
	}
	rng := rand.New(rand.NewPCG(c.seed, 11))
	var h levHeap
	seq := 0
	push := func(e *lev) { seq++; e.seq = seq; heap.Push(&h, e) }
	for i := range c.procs {
		push(&lev{at: t0.Add(time.Duration(rng.Float64() * float64(time.Second))), proc: i})
	}
	end := t0.Add(c.duration)
	late := t0.Add(c.duration / 2)
	send := func(now time.Time, e *lev) {
		res.sends++
		if now.Before(end) {
			res.sendsIn++
		}
		ok, _ := server.Allow(now.Add(c.net/2), describe, 0)
		if !ok {
			res.throttled++
		}
		if !now.Before(late) {
			res.sendsLate++
			if ok {
				res.admittedLate++
			}
		}
		push(&lev{at: now.Add(c.net), proc: e.proc, kind: 2, ok: ok})
	}
	for h.Len() > 0 {
		e := heap.Pop(&h).(*lev)
		now := e.at
		lim := res.lims[e.proc]
		switch e.kind {
		case 0:
			if !now.Before(end) {
				continue
			}
			push(&lev{at: now.Add(time.Duration(rng.ExpFloat64() / c.offered * 1e9)), proc: e.proc})
			dl := now.Add(c.deadline)
			r, err := lim.Reserve(now, describe, 0, dl)
			if err != nil {
				var re *limiter.RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("Reserve: %v", err)
				}
				res.refused++
				res.reasons[re.Reason.String()]++
				continue
			}
			if r.Delay() > 0 {
				push(&lev{at: now.Add(r.Delay()), proc: e.proc, kind: 1, res: r, dl: dl})
				continue
			}
			send(now, e)
		case 1:
			d, err := e.res.Confirm(now, e.dl)
			if err != nil {
				var re *limiter.RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("Confirm: %v", err)
				}
				res.refused++
				res.reasons[re.Reason.String()]++
				continue
			}
			if d > 0 {
				e.at = now.Add(d)
				push(e)
				continue
			}
			send(now, e)
		case 2:
			lim.Feedback(now, describe, limiter.Feedback{Throttled: !e.ok})
		}
	}
	for _, l := range res.lims {
		st, _ := l.RuleStats("ec2-non-mutating")
		res.stats.Admitted += st.Admitted
		res.stats.Delayed += st.Delayed
		res.stats.Refused += st.Refused
		res.stats.Cuts += st.Cuts
		res.stats.Growths += st.Growths
	}
	return res
}

// TestLimiterFleetSharesOneBucket: 8 processes, each with its own limiter over the fleet store,
// offer five times their equal share of DescribeInstances' bucket (100 burst, 20/s) for 60 s.
// Through the limiter's own API they send what one bucket admits (r·T + B within 2%), AWS's
// bucket throttles nothing, and the limiter's counters and refusals say what happened.
func TestLimiterFleetSharesOneBucket(t *testing.T) {
	c := lcfg{procs: 8, offered: 5 * 20 / 8.0, duration: 60 * time.Second, deadline: 10 * time.Second,
		rtt: time.Millisecond, net: 20 * time.Millisecond, seed: 1}
	r := runLimiters(t, c)
	ideal := 20*c.duration.Seconds() + 100
	t.Logf("sent %d in T (r·T+B %.0f), %d in all, throttled %d, refused %d %v, stats %+v, store round trips %d",
		r.sendsIn, ideal, r.sends, r.throttled, r.refused, r.reasons, r.stats, r.store.RoundTrips)
	if math.Abs(float64(r.sendsIn)-ideal) > 0.02*20*c.duration.Seconds() {
		t.Errorf("fleet sent %d in T, want %.0f ± 2%% of r·T", r.sendsIn, ideal)
	}
	if r.throttled > 0 {
		t.Errorf("AWS's bucket throttled %d calls the fleet admitted", r.throttled)
	}
	if r.reasons["deadline"] != r.refused {
		t.Errorf("refusals %v: want every one for the deadline", r.reasons)
	}
	// Every call was counted once, as admitted, delayed or refused.
	if n := r.stats.Admitted + r.stats.Delayed + r.stats.Refused; n != uint64(r.sends+r.refused) {
		t.Errorf("counters %+v sum to %d, want %d decisions", r.stats, n, r.sends+r.refused)
	}
	if r.stats.Cuts != 0 {
		t.Errorf("%d cuts without a throttle", r.stats.Cuts)
	}
	// Rate and Tokens report the fleet's bucket as this process sees it.
	now := t0.Add(c.duration)
	rate, burst, learned, ok := r.lims[0].Rate(now, describe)
	if !ok || rate != 20 || burst != 100 || learned {
		t.Errorf("Rate = %v, %v, %v, %v; want the rule's 20/s, 100", rate, burst, learned, ok)
	}
	if _, b, ok := r.lims[0].Tokens(now, describe); !ok || b < 1 || b > 100 {
		t.Errorf("Tokens burst %d, want the lease's local burst", b)
	}
}

// TestLimiterFleetModes: FailFast and Shadow keep their meaning over a fleet store: fail-fast
// never makes a call wait (a call the lease cannot back at once is refused), shadow never
// refuses nor delays and says what Enforce would have done.
func TestLimiterFleetModes(t *testing.T) {
	for _, mode := range []limiter.Mode{limiter.FailFast, limiter.Shadow} {
		c := lcfg{procs: 4, offered: 10, duration: 20 * time.Second, deadline: 10 * time.Second,
			rtt: time.Millisecond, net: 20 * time.Millisecond, seed: 2, mode: mode}
		r := runLimiters(t, c)
		t.Logf("%v: sent %d, throttled %d, refused %d %v, stats %+v", mode, r.sends, r.throttled, r.refused, r.reasons, r.stats)
		switch mode {
		case limiter.FailFast:
			if r.stats.Delayed != 0 || r.refused == 0 || r.reasons["fail-fast"] != r.refused {
				t.Errorf("fail-fast: delayed %d, refusals %v", r.stats.Delayed, r.reasons)
			}
			if r.throttled > r.sends/100 {
				t.Errorf("fail-fast: %d of %d throttled", r.throttled, r.sends)
			}
		case limiter.Shadow:
			if r.refused != 0 || r.stats.Delayed != 0 {
				t.Errorf("shadow refused %d, delayed %d", r.refused, r.stats.Delayed)
			}
			var ww, wr uint64
			for _, l := range r.lims {
				st, _ := l.RuleStats("ec2-non-mutating")
				ww, wr = ww+st.WouldWait, wr+st.WouldRefuse
			}
			if ww+wr == 0 {
				t.Errorf("shadow at twice the rate reported nothing Enforce would have done")
			}
		}
	}
}

// TestLimiterFleetLearnsOneRate: AWS grants the fleet half the published rate (other tools of
// the account spend the rest). 8 processes offering twice that learn one rate for the fleet,
// in the store: at the end every process sees the same rate, close to what AWS grants; the
// fleet gets at least 90% of it with at most 4% of its calls throttled (2.0–3.1% over seeds
// 3–9: the first overshoot, then the probes the growth curve makes). Eight processes learning
// alone, without the store, do about as well here (2.0–2.6%: the logs show it) on eight rates;
// a fleet store that did not learn would be throttled half the time.
func TestLimiterFleetLearnsOneRate(t *testing.T) {
	server, err := limiter.ParseRules("server.yaml", []byte(`rules:
  - name: ec2-non-mutating
    service: EC2
    operation: Describe*
    rate: 10
    burst: 50
`))
	if err != nil {
		t.Fatal(err)
	}
	base := lcfg{server: server, procs: 8, offered: 2 * 10 / 8.0, duration: 5 * time.Minute,
		deadline: 10 * time.Second, rtt: time.Millisecond, net: 20 * time.Millisecond, seed: 3}
	fleet := runLimiters(t, base)
	alone := base
	alone.noStore = true
	solo := runLimiters(t, alone)
	now := t0.Add(base.duration)
	var rates []float64
	for _, l := range fleet.lims {
		r, _, learned, _ := l.Rate(now, describe)
		if !learned {
			t.Errorf("a process's rate %v is not learned", r)
		}
		rates = append(rates, r)
	}
	share := func(r lresult) float64 { return float64(r.throttled) / float64(r.sends) }
	t.Logf("fleet: sent %d, throttled %d (%.2f%%), admitted in the second half %.2f/s, cuts %d, rates %.2f",
		fleet.sends, fleet.throttled, 100*share(fleet), float64(fleet.admittedLate)/(base.duration.Seconds()/2), fleet.stats.Cuts, rates)
	t.Logf("alone: sent %d, throttled %d (%.2f%%), admitted in the second half %.2f/s, cuts %d",
		solo.sends, solo.throttled, 100*share(solo), float64(solo.admittedLate)/(base.duration.Seconds()/2), solo.stats.Cuts)
	for _, r := range rates[1:] {
		if r != rates[0] {
			// Processes see the rate at their latest renewal; growth moves it a little between.
			if math.Abs(r-rates[0]) > 0.05*rates[0] {
				t.Errorf("processes see different rates %v: the fleet must learn one", rates)
				break
			}
		}
	}
	if rates[0] < 0.7*10 || rates[0] > 1.3*10 {
		t.Errorf("the fleet learned %.2f/s, AWS grants 10/s", rates[0])
	}
	if got := float64(fleet.admittedLate) / (base.duration.Seconds() / 2); got < 0.9*10 {
		t.Errorf("the fleet got %.2f/s admitted in the second half, want ≥ 90%% of the 10/s AWS grants", got)
	}
	if share(fleet) > 0.04 {
		t.Errorf("fleet throttled share %.3f, want ≤ 4%%", share(fleet))
	}
}
