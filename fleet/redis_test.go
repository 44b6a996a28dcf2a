package fleet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/internal/redistest"
)

var ec2Bucket = BucketID{Rule: "ec2-describe", Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}

// loadResult is what one process's load loop saw.
type loadResult struct {
	sends      []time.Time // when admitted calls are due to be sent
	refused    int
	maxLatency time.Duration // the slowest decision
	// trace is, every 500 ms, the process's mode and level and how its decisions went since
	// the last entry: a failure's timeline.
	trace []string
}

// offerLoad makes decisions on bucket id at perSecond calls per second (a ticker: load
// generation in real time) until stop is closed, and records when admitted calls are due: when
// the answer came, plus its Delay.
func offerLoad(c *Client, id BucketID, spec Spec, perSecond float64, maxWait time.Duration, stop <-chan struct{}) loadResult {
	var r loadResult
	start := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer tick.Stop()
	var traced time.Time
	var longest time.Duration // the longest delay of an admitted call since the last trace entry
	outcomes := map[string]int{}
	for {
		select {
		case <-stop:
			return r
		case <-tick.C:
		}
		now := time.Now()
		d := c.Reserve(now, id, spec, 1, maxWait)
		answered := time.Now()
		r.maxLatency = max(r.maxLatency, answered.Sub(now))
		if d.Queued {
			c.Unqueue(id, 1) // this caller does not wait for a later lease
		}
		switch {
		case d.OK:
			// A caller sleeps Delay once it has the answer (as limiter.Wait does): a decision
			// that waited for the store sends that much later.
			r.sends = append(r.sends, answered.Add(d.Delay))
			outcomes["ok"]++
			longest = max(longest, d.Delay)
		case d.Queued:
			r.refused++
			outcomes["queued"]++
		default:
			r.refused++
			outcomes[d.Reason.String()]++
		}
		if answered.Sub(traced) >= 500*time.Millisecond {
			st, _ := c.Bucket(answered, id)
			r.trace = append(r.trace, fmt.Sprintf("%v %v %.1f/%.1f %v ≤%v", answered.Sub(start).Round(time.Millisecond),
				st.Mode, st.Level, st.Local, outcomes, longest.Round(time.Millisecond)))
			traced, outcomes, longest = answered, map[string]int{}, 0
		}
	}
}

// inWindow counts the times in [from, to).
func inWindow(ts []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

func newClient(t testing.TB, rdb redis.Scripter, id string, opt Options) *Client {
	t.Helper()
	opt.ClientID = id
	if opt.Logger == nil {
		opt.Logger = discardLogger
	}
	c, err := New(redisConn{rdb}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRedisEightClientsShareOneBucket: 8 independent clients — each with its own go-redis
// connection pool and its own fleet Client, as 8 processes would have — offer 5× their equal
// share of a 100/s bucket (burst 100) through a real redis-server. After a warm-up of W = 2 s
// (the clients start cold at once: the burst goes out, shares settle), the calls due in the
// next T = 5 s are r·T ± 2%; over the whole run AWS's bucket (replayed) would throttle at most
// 2% of r·T; each client gets its equal share (±20%). The cold start is reported.
func TestRedisEightClientsShareOneBucket(t *testing.T) {
	srv := redistest.Start(t)
	spec := Spec{Rate: 100, Burst: 100}
	const procs, T = 8, 5 * time.Second
	clients := make([]*Client, procs)
	logs := make([]*eventLog, procs)
	for i := range clients {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		defer rdb.Close()
		// These tests measure sharing, not faults: a timeout that a CPU-starved test machine
		// (-race, other packages' tests) could hit would measure the machine.
		logs[i] = &eventLog{}
		clients[i] = newClient(t, rdb, fmt.Sprintf("proc-%d", i), Options{Observer: logs[i], Timeout: time.Second})
		if err := rdb.Ping(context.Background()).Err(); err != nil { // a running process is connected
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	results := make([]loadResult, procs)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		wg.Go(func() { results[i] = offerLoad(c, ec2Bucket, spec, 5*spec.Rate/procs, time.Second, stop) })
	}
	const W = 2 * time.Second
	<-time.After(time.Until(start.Add(W + T + time.Second))) // past the window: it fills up
	close(stop)
	wg.Wait()
	var sends []time.Time
	rts, decisions := uint64(0), uint64(0)
	for i, r := range results {
		sends = append(sends, r.sends...)
		rts += clients[i].RoundTrips()
		decisions += clients[i].Decisions()
	}
	due := inWindow(sends, start.Add(W), start.Add(W+T))
	ideal := spec.Rate * T.Seconds()
	cold := inWindow(sends, start, start.Add(W))
	over := overAdmitted(spec.Rate, spec.Burst, sends)
	left := leftAt(spec.Rate, spec.Burst, sends, start.Add(W))
	fallbacks := 0
	for _, l := range logs {
		fallbacks += l.count(event.StoreFallback, "")
	}
	t.Logf("steady: due in [W,W+T): %d (r·T = %.0f, %+.2f%%; AWS's bucket held %.1f at W); cold start: %d in the first %v (r·W+B = %.0f); AWS would throttle %d; %d round trips for %d decisions (%.4f per decision); %d fallbacks",
		due, ideal, 100*(float64(due)-ideal)/ideal, left, cold, W, spec.Rate*W.Seconds()+spec.Burst, over, rts, decisions, float64(rts)/float64(decisions),
		fallbacks)
	checkWindow(t, due, ideal, left)
	if float64(over) > 0.02*ideal {
		t.Errorf("over-admission %d > 2%% of r·T", over)
	}
	for i, r := range results {
		if n := float64(inWindow(r.sends, start.Add(W), start.Add(W+T))); n < 0.8*ideal/procs || n > 1.2*ideal/procs {
			t.Errorf("client %d got %.0f in the window, equal share %.0f", i, n, ideal/procs)
		}
	}
	if t.Failed() || fallbacks > 0 {
		logTimeline(t, start, results, logs)
	}
}

// logTimeline logs, per client, the calls due per 500 ms and its events (lease renewals as
// time, share and round-trip time), to tell a failure's cause.
func logTimeline(t *testing.T, start time.Time, results []loadResult, logs []*eventLog) {
	for i, r := range results {
		var w []int
		for k := range 20 {
			from := start.Add(time.Duration(k) * 500 * time.Millisecond)
			w = append(w, inWindow(r.sends, from, from.Add(500*time.Millisecond)))
		}
		t.Logf("client %d: calls due per 500 ms %v, refused %d, slowest decision %v", i, w, r.refused, r.maxLatency.Round(time.Microsecond))
		t.Logf("  every 500 ms: time, mode, level/capacity, the decisions since and their longest delay: %s", strings.Join(r.trace, "; "))
		var b strings.Builder
		logs[i].mu.Lock()
		for _, e := range logs[i].evs {
			at := e.Time.Sub(start).Round(time.Millisecond)
			if e.Kind == event.LeaseRenewed && e.Reason == "" {
				fmt.Fprintf(&b, " %v:%.1f/%v", at, e.Value, e.Duration.Round(100*time.Microsecond))
			} else {
				fmt.Fprintf(&b, " %v:%v:%q:%.1f", at, e.Kind, e.Reason, e.Value)
			}
		}
		logs[i].mu.Unlock()
		t.Logf("  events:%s", b.String())
	}
}

// checkWindow checks that the calls due in a window of a saturated fleet are its refill r·T
// within 2%. A fleet that starts cold has not always spent the whole initial burst by the
// window's start (each process's first lease is short and small): what AWS's bucket still held
// then (left, from the replay) may go out in the window on top of r·T without a throttle, so it
// is allowed above, never below.
func checkWindow(t *testing.T, due int, ideal, left float64) {
	t.Helper()
	if d := float64(due); d < 0.98*ideal || d > 1.02*ideal+left {
		t.Errorf("due in window %d, want %.0f ± 2%% (+ %.1f left of the burst at W)", due, ideal, left)
	}
}

// TestRedisOSProcessesShareOneBucket is the same with real OS processes: the test binary runs
// itself 8 times (TestFleetChildProcess), each child a process of its own with its own Redis
// connections, and the parent gathers the times their admitted calls are due; the window
// starts W = 3 s after the common start (children start more slowly than goroutines).
func TestRedisOSProcessesShareOneBucket(t *testing.T) {
	srv := redistest.Start(t)
	const procs, T = 8, 4 * time.Second
	spec := Spec{Rate: 100, Burst: 100}
	start := time.Now().Add(2 * time.Second) // every child starts its load at the same instant
	var (
		mu    sync.Mutex
		sends []time.Time
		wg    sync.WaitGroup
		errs  = make([]error, procs)
	)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFleetChildProcess$", "-test.v=false")
		cmd.Env = append(os.Environ(), "FLEET_CHILD_ADDR="+srv.Addr(), fmt.Sprintf("FLEET_CHILD_ID=os-%d", i),
			fmt.Sprintf("FLEET_CHILD_START=%d", start.UnixNano()), fmt.Sprintf("FLEET_CHILD_DURATION=%d", int64(T+4*time.Second)),
			fmt.Sprintf("FLEET_CHILD_RATE=%g", 5*spec.Rate/procs))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			var mine []time.Time
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "fallbacks "); ok && n != "0" {
					t.Logf("child %d fell back %s times", i, n)
				}
				if ns, ok := strings.CutPrefix(sc.Text(), "due "); ok {
					n, err := strconv.ParseInt(ns, 10, 64)
					if err != nil {
						errs[i] = err
						continue
					}
					mine = append(mine, time.Unix(0, n))
				}
			}
			if err := cmd.Wait(); err != nil {
				errs[i] = fmt.Errorf("child %d: %w", i, err)
			}
			mu.Lock()
			sends = append(sends, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	const W = 3 * time.Second
	due := inWindow(sends, start.Add(W), start.Add(W+T))
	ideal := spec.Rate * T.Seconds()
	over := overAdmitted(spec.Rate, spec.Burst, sends)
	left := leftAt(spec.Rate, spec.Burst, sends, start.Add(W))
	t.Logf("%d OS processes: due in [W,W+T): %d (r·T = %.0f, %+.2f%%; AWS's bucket held %.1f at W); AWS would throttle %d",
		procs, due, ideal, 100*(float64(due)-ideal)/ideal, left, over)
	checkWindow(t, due, ideal, left)
	if float64(over) > 0.02*ideal {
		t.Errorf("over-admission %d > 2%% of r·T", over)
	}
}

// TestFleetChildProcess is one OS process of TestRedisOSProcessesShareOneBucket; it does
// nothing unless that test started it.
func TestFleetChildProcess(t *testing.T) {
	addr := os.Getenv("FLEET_CHILD_ADDR")
	if addr == "" {
		t.Skip("runs only as a child process of TestRedisOSProcessesShareOneBucket")
	}
	atoi := func(k string) int64 { n, _ := strconv.ParseInt(os.Getenv(k), 10, 64); return n }
	rate, _ := strconv.ParseFloat(os.Getenv("FLEET_CHILD_RATE"), 64)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	evs := &eventLog{}
	c := newClient(t, rdb, os.Getenv("FLEET_CHILD_ID"), Options{Observer: evs, Timeout: time.Second})
	// Lease once before the common start, as a running process would have.
	c.Reserve(time.Now(), ec2Bucket, Spec{Rate: 100, Burst: 100}, 0, 0)
	startAt := time.Unix(0, atoi("FLEET_CHILD_START"))
	<-time.After(time.Until(startAt))
	stop := make(chan struct{})
	timer := time.AfterFunc(time.Duration(atoi("FLEET_CHILD_DURATION")), func() { close(stop) })
	defer timer.Stop()
	r := offerLoad(c, ec2Bucket, Spec{Rate: 100, Burst: 100}, rate, time.Second, stop)
	w := bufio.NewWriter(os.Stdout)
	for _, s := range r.sends {
		fmt.Fprintf(w, "due %d\n", s.UnixNano())
	}
	fmt.Fprintf(w, "fallbacks %d\n", evs.count(event.StoreFallback, ""))
	w.Flush()
}

// eventLog records a Client's events; changed (if set) gets a value, without blocking, after
// each one, so that a test can wait for an event instead of polling.
type eventLog struct {
	mu      sync.Mutex
	evs     []event.Event
	changed chan struct{}
}

func (l *eventLog) Observe(e event.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
	if l.changed != nil {
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

func (l *eventLog) count(k event.Kind, reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.evs {
		if e.Kind == k && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}

// span is a time interval [from, to).
type span struct{ from, to time.Time }

// fallbacks returns the intervals during which the client spent its fallback share (from its
// StoreFallback event to the next StoreRecovered, or end), each with the fallback rate.
func (l *eventLog) fallbacks(end time.Time) (spans []span, rates []float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.evs {
		switch {
		case e.Kind == event.StoreFallback:
			spans, rates = append(spans, span{e.Time, end}), append(rates, e.Value)
		case e.Kind == event.StoreRecovered && len(spans) > 0 && spans[len(spans)-1].to.Equal(end):
			spans[len(spans)-1].to = e.Time
		}
	}
	return spans, rates
}

// recoveredAfter is the time of the client's first StoreRecovered event at or after t (zero: none).
func (l *eventLog) recoveredAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.evs {
		if e.Kind == event.StoreRecovered && !e.Time.Before(t) {
			return e.Time
		}
	}
	return time.Time{}
}

// overlap is how long s and [from, to) share.
func overlap(s span, from, to time.Time) time.Duration {
	a, b := s.from, s.to
	if from.After(a) {
		a = from
	}
	if to.Before(b) {
		b = to
	}
	return max(b.Sub(a), 0)
}

// TestRedisKilledAndRestarted: 4 clients share a 100/s bucket, offering twice its rate.
// redis-server is killed (SIGKILL) at 2 s and started again, empty, on the same port at 4 s.
// Calls keep flowing while it is down — through each client's fallback share, no decision
// waiting on the dead server — and the clients go back to leases from the restarted server,
// which knows it lost the bucket and rebuilds it with an empty pool. The test checks the
// over-admission against the bound the design gives and logs what the outage and restart cost.
//
// The bound. Every token a client spends under a lease is one the store's bucket holds, and the
// store's bucket never holds more than AWS's (r, B) bucket would. A fallback starts empty and
// refills at the client's fallback share, r/n: while the store is down (from the kill until the
// first client leases from the restarted server), the fallback shares and the leases still
// running add up to at most r — every lease's share is at most r/n here, the clients asking
// alike. What is not covered is a fallback that overlaps leases from a live store: a client
// still falling back (its breaker has not probed yet) while the others lease again — the
// rebuilt bucket counts the clients it has not heard from yet as holding r/n each (State.Expect),
// which covers it, but a fallback on a starved machine (a renewal past the timeout while Redis
// is up) is not. So AWS's bucket would throttle at most
//
//	Σ over fallbacks of (fallback rate × time the fallback spent while the store was up)
//
// plus one call per client (a share refills a fraction of a call at a time). The measured cost is
// logged; it is 0 on an idle machine.
func TestRedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	spec := Spec{Rate: 100, Burst: 100}
	const procs = 4
	timeout := 50 * time.Millisecond
	clients := make([]*Client, procs)
	logs := make([]*eventLog, procs)
	changed := make(chan struct{}, 1)
	for i := range clients {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
		defer rdb.Close()
		logs[i] = &eventLog{changed: changed}
		clients[i] = newClient(t, rdb, fmt.Sprintf("proc-%d", i), Options{Timeout: timeout, Observer: logs[i]})
	}
	stop := make(chan struct{})
	results := make([]loadResult, procs)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		wg.Go(func() { results[i] = offerLoad(c, ec2Bucket, spec, 2*spec.Rate/procs, time.Second, stop) })
	}
	killAt, restartAt, end := 2*time.Second, 4*time.Second, 7*time.Second
	<-time.After(time.Until(start.Add(killAt)))
	killed := time.Now()
	srv.Kill()
	<-time.After(time.Until(start.Add(restartAt)))
	srv.Restart()
	restarted := time.Now()
	// Wait (bounded) until every client has leased from the restarted server: each says so
	// with a StoreRecovered event.
	deadline := time.After(5 * time.Second)
	for back := 0; back < procs; {
		back = 0
		for i, c := range clients {
			if c.Mode(ec2Bucket) == Leased && !logs[i].recoveredAfter(restarted).IsZero() {
				back++
			}
		}
		if back == procs {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("only %d of %d clients leased again within 5 s of the restart", back, procs)
		case <-changed:
		}
	}
	allBack := time.Since(restarted)
	<-time.After(time.Until(start.Add(end)))
	close(stop)
	wg.Wait()
	finish := time.Now()

	// The store was down from the kill until the first client leased from the restarted server.
	firstBack := finish
	for _, l := range logs {
		if r := l.recoveredAfter(restarted); !r.IsZero() && r.Before(firstBack) {
			firstBack = r
		}
	}
	var sends []time.Time
	worst := time.Duration(0)
	bound := float64(procs) // one call per client
	for i, r := range results {
		sends = append(sends, r.sends...)
		worst = max(worst, r.maxLatency)
		spans, rates := logs[i].fallbacks(finish)
		if len(spans) == 0 {
			t.Errorf("client %d never reported falling back", i)
		}
		for k, s := range spans {
			up := overlap(s, start, killed) + overlap(s, firstBack, finish)
			bound += rates[k] * up.Seconds()
		}
		during := inWindow(r.sends, start.Add(killAt+timeout+100*time.Millisecond), start.Add(restartAt))
		if during == 0 {
			t.Errorf("client %d admitted nothing while redis-server was down", i)
		}
	}
	lost := 0
	for _, l := range logs {
		lost += l.count(event.LeaseRenewed, "state_lost")
	}
	if lost == 0 {
		t.Error("no client was told the restarted server had lost the bucket")
	}
	T := end.Seconds()
	dueAll := inWindow(sends, start, start.Add(end))
	outage := inWindow(sends, killed, firstBack)
	over := overAdmitted(spec.Rate, spec.Burst, sends)
	t.Logf("killed at %v, restarted at %v, first client back %v and all back %v after the restart; slowest decision %v (timeout %v)",
		killAt, restartAt, firstBack.Sub(restarted).Round(time.Millisecond), allBack.Round(time.Millisecond),
		worst.Round(time.Microsecond), timeout)
	t.Logf("due in [0,%.0fs): %d (r·T+B = %.0f); while the store was down (%v): %d; AWS would throttle %d (%.2f%% of r·T; bound %.1f)",
		T, dueAll, spec.Rate*T+spec.Burst, firstBack.Sub(killed).Round(time.Millisecond), outage, over,
		100*float64(over)/(spec.Rate*T), bound)
	// A decision waits on the store for at most the timeout; a loaded machine adds scheduling
	// delays, hence the margin, which still catches a decision blocked on go-redis's own
	// timeouts (5 s to dial, 3 s to read).
	if worst > timeout+time.Second {
		t.Errorf("slowest decision took %v; the store timeout is %v", worst, timeout)
	}
	if float64(over) > bound {
		t.Errorf("the outage and restart cost %d over-admitted calls, more than the bound %.1f", over, bound)
	}
	if t.Failed() {
		logTimeline(t, start, results, logs)
	}
}

// TestRedisClusterKeysShareASlot starts a 3-node Redis Cluster, leases 30 buckets through a
// ClusterClient, and checks that both keys of every bucket hash to one slot (the script needs
// both) while the buckets spread over the nodes.
func TestRedisClusterKeysShareASlot(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	cc := cl.Client(t)
	ctx := context.Background()
	a := newClient(t, cc, "a", Options{Timeout: time.Second})
	b := newClient(t, cc, "b", Options{Timeout: time.Second})
	nodes := map[string]bool{}
	for i := range 30 {
		id := BucketID{Rule: "s3-reads", Region: "eu-west-1", Service: "S3", Operation: "GetObject",
			Partition: fmt.Sprintf("bucket-%d/{weird}|prefix%%", i)}
		k := keys(DefaultPrefix, id)
		s0, err := cc.ClusterKeySlot(ctx, k[0]).Result()
		if err != nil {
			t.Fatal(err)
		}
		s1, _ := cc.ClusterKeySlot(ctx, k[1]).Result()
		if s0 != s1 {
			t.Fatalf("bucket %v: keys %q (slot %d) and %q (slot %d) in different slots", id, k[0], s0, k[1], s1)
		}
		spec := Spec{Rate: 10, Burst: 20}
		now := time.Now()
		if d := a.Reserve(now, id, spec, 1, 0); !d.OK {
			t.Fatalf("bucket %d: client a refused: %+v", i, d)
		}
		// b asks while a holds the whole rate of its first lease: the store answers (b is now
		// a claimant) with a share or, until a renews, none.
		if d := b.Reserve(now, id, spec, 1, 0); !d.OK && d.Reason != RefusedShare {
			t.Fatalf("bucket %d: client b: %+v", i, d)
		}
		if m := b.Mode(id); m == Fallback {
			t.Fatalf("bucket %d: client b fell back: the script failed on the cluster", i)
		}
		m, err := cc.MasterForKey(ctx, k[0])
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.Options().Addr] = true
		if n, _ := m.Exists(ctx, k[0], k[1]).Result(); n != 2 {
			t.Fatalf("bucket %d: %d of its 2 keys on the node that owns its slot", i, n)
		}
	}
	if len(nodes) < 2 {
		t.Fatalf("30 buckets all on %d node(s): hash tags do not spread buckets", len(nodes))
	}
	if a.Mode(BucketID{Rule: "s3-reads", Region: "eu-west-1", Service: "S3", Operation: "GetObject",
		Partition: "bucket-0/{weird}|prefix%"}) != Leased {
		t.Fatal("client a holds no lease on bucket 0")
	}
}

// TestRedisLeaseAccounting runs a lease's life on a real redis-server with explicit times and
// checks every number: the pool after grants, a return, an expiry and a release.
func TestRedisLeaseAccounting(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := keys("acct:", ec2Bucket)
	const s = int64(1e6)
	base := int64(1_800_000_000) * s
	req := func(client string, rid, seq uint64, epoch string, demand, level float64) Request {
		return Request{Client: client, ReqID: rid, Seq: seq, Epoch: epoch, Demand: demand, Level: level,
			Rate: 20, Burst: 100, MinBurst: 1, TTL: 2 * s}
	}
	do := func(at int64, q Request) Reply {
		t.Helper()
		r, err := runScript(ctx, redisConn{rdb}, k, &q, base+at)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A alone, demand 10/s: max-min fairness gives it its demand plus half of the 10/s left
	// (the other half stays free for newcomers): 15/s, and a burst in proportion (75). The full
	// bucket's tokens top its local bucket up to 75; 25 stay in the pool. A first lease is
	// short (TTL/4).
	a0 := do(0, req("a", 1, 0, "", 10, 0))
	if a0.Share != 15 || a0.Burst != 75 || a0.Level != 75 || a0.Pool != 25 || a0.Live != 1 || a0.TTL != s/2 {
		t.Fatalf("a's first lease %+v: want share 15, burst 75, level 75, pool 25, TTL 0.5 s", a0)
	}
	// A renews at 0.25 s holding 70: the pool (refilled 1.25 at the free 5/s, capped at the 25
	// no lease holds) tops it up by 5; a full-length lease now.
	a1 := do(s/4, req("a", 2, a0.Seq, a0.Epoch, 10, 70))
	if a1.Share != 15 || a1.Level != 75 || a1.Pool != 20 || a1.TTL != 2*s {
		t.Fatalf("a's second lease %+v: want share 15, level 75, pool 20, TTL 2 s", a1)
	}
	// B asks at 0.5 s, demand 10: its fair share is 10, but only the 5/s A does not hold is
	// free: B gets 5/s at once, burst 25, and the pool's 21.25 tokens.
	b1 := do(s/2, req("b", 1, 0, "", 10, 0))
	if b1.Share != 5 || b1.Burst != 25 || b1.Level != 21.25 || b1.Pool != 0 || b1.Live != 2 {
		t.Fatalf("b's first lease %+v: want share 5, burst 25, level 21.25, pool 0", b1)
	}
	// A renews at 1 s holding 60: fairness now gives it 10/s (burst 50); it keeps 50 tokens
	// and returns 10 to the pool. (B's short first lease ended at 1 s.)
	a2 := do(s, req("a", 3, a1.Seq, a1.Epoch, 10, 60))
	if a2.Share != 10 || a2.Burst != 50 || a2.Level != 50 || a2.Pool != 10 {
		t.Fatalf("a's renewal %+v: want share 10, burst 50, level 50, pool 10", a2)
	}
	// B asks again at 1.5 s (its lease ended: it holds nothing): the other 10/s, topped up
	// with the 10 tokens A returned plus 0.5 s of refill at the 10/s no lease held.
	b2 := do(3*s/2, req("b", 2, b1.Seq, b1.Epoch, 10, 0))
	if b2.Share != 10 || b2.Burst != 50 || b2.Level != 15 || b2.Pool != 0 {
		t.Fatalf("b's lease %+v: want share 10, burst 50, level 15, pool 0", b2)
	}
	// A duplicate of that request (a retry whose first copy got through) gets the same lease.
	if dup := do(3*s/2+1000, req("b", 2, b1.Seq, b1.Epoch, 10, 0)); !dup.Replayed || dup.Seq != b2.Seq || dup.Level != b2.Level {
		t.Fatalf("duplicate %+v: want the first answer replayed", dup)
	}
	// A releases at 2 s with 30 tokens: they go back to the pool.
	a3 := do(2*s, Request{Client: "a", ReqID: 4, Seq: a2.Seq, Epoch: a2.Epoch, Level: 30,
		Rate: 20, Burst: 100, MinBurst: 1, TTL: 2 * s, Release: true})
	if a3.Share != 0 || a3.Pool != 30 || a3.Live != 2 {
		t.Fatalf("a's release %+v: want pool 30, and 2 processes sharing (a asked, b holds)", a3)
	}
	// B's lease ends at 3.5 s; C asks at 4 s. From 2 s to 3.5 s the pool refilled at the 10/s
	// b did not hold (+15), then at 20/s for 0.5 s (+10): 55, all of it C's since C is alone.
	c1 := do(4*s, req("c", 1, 0, "", 10, 0))
	if c1.Share != 15 || c1.Burst != 75 || c1.Level != 55 || c1.Pool != 0 || c1.Live != 1 {
		t.Fatalf("c's lease after b's expired %+v: want share 15, burst 75, level 55 (pool refilled 15+10 after a's 30)", c1)
	}
	// The pool never held more than the burst no lease holds: B's expired lease freed it.
	h, _ := rdb.HGetAll(ctx, k[0]).Result()
	if h["p"] != "0" {
		t.Fatalf("pool in redis %q, want 0", h["p"])
	}
}
