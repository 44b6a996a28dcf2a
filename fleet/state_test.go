package fleet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestApplyInvariants drives State.Apply with random requests and checks, after every one, the
// invariants the fleet's safety rests on: the shares of live leases never exceed the rate, their
// bursts plus the pool never exceed the burst, a granted lease's level never exceeds its burst,
// and no lease is granted a share of rounding noise (what is left of a rate the others hold).
func TestApplyInvariants(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		var st *State
		now := int64(1e15)
		rate, burst := 1+rng.Float64()*200, 1+rng.Float64()*500
		procs := 1 + rng.IntN(30)
		seqs := make([]uint64, procs)
		epochs := make([]string, procs)
		for step := range 2000 {
			now += int64(rng.ExpFloat64() * 3e5)
			i := rng.IntN(procs)
			q := Request{Client: fmt.Sprint("p", i), ReqID: uint64(step + 1), Seq: seqs[i], Epoch: epochs[i],
				Demand: rng.Float64() * rate, Level: (rng.Float64() - 0.3) * burst / float64(procs),
				Rate: rate, Burst: burst, MinBurst: 1, TTL: int64(1e6 + rng.IntN(3e6)),
				Release: rng.IntN(30) == 0, Fleet: rng.IntN(procs + 2)}
			if rng.IntN(10) == 0 {
				q.Unbacked, q.Allowance = rng.Float64()*burst/4, rng.Float64()*burst/4
			}
			if rng.IntN(5) == 0 {
				q.Overflow = rng.Float64() * burst / 10
			}
			var r Reply
			st, r = Apply(st, now, q)
			seqs[i], epochs[i] = r.Seq, r.Epoch
			shares, bursts := 0.0, 0.0
			for _, rec := range st.Clients {
				if rec.Expires > now {
					shares += rec.Share
					bursts += rec.Burst
				}
			}
			const eps = 1e-9
			if shares > st.Rate*(1+eps) {
				t.Fatalf("seed %d step %d: live shares %v exceed the rate %v", seed, step, shares, st.Rate)
			}
			if bursts+st.Pool > st.Burst*(1+eps)+eps {
				t.Fatalf("seed %d step %d: live bursts %v + pool %v exceed the burst %v", seed, step, bursts, st.Pool, st.Burst)
			}
			if r.Share > 0 && r.Share < r.Rate*1e-9 {
				t.Fatalf("seed %d step %d: lease %+v: a share of rounding noise", seed, step, r)
			}
			if r.Share > 0 && (r.Level > r.Burst+eps || r.Burst < q.MinBurst) {
				t.Fatalf("seed %d step %d: lease %+v: level above burst, or burst below a call", seed, step, r)
			}
			if math.IsNaN(st.Pool) || math.IsNaN(r.Level) {
				t.Fatalf("seed %d step %d: NaN", seed, step)
			}
		}
	}
}

// TestApplyRecovery: 4 processes share a 100/s bucket (burst 100) with equal shares, then the
// store is partitioned from all of them for 5 s (it keeps the bucket; the leases end and its
// pool refills). They come back one by one, each having spent its fallback share (25/s). The
// first back gets no more than its equal share and the pool does not refill with the shares
// of the three still out (they still spend them); what each spent within its fallback share
// takes back the refill the pool counted, never a debt; what one spent beyond it is a debt;
// once every process is back, nobody is reserved for; and a process that never comes back is
// reserved for only a few lease lengths.
func TestApplyRecovery(t *testing.T) {
	const ttl, sec = int64(2e6), int64(1e6)
	var st *State
	now := int64(1e15)
	seqs, epochs, rids := map[string]uint64{}, map[string]string{}, map[string]uint64{}
	ask := func(id string, at int64, q Request) Reply {
		t.Helper()
		rids[id]++
		q.Client, q.ReqID, q.Seq, q.Epoch = id, rids[id], seqs[id], epochs[id]
		q.Rate, q.Burst, q.MinBurst, q.TTL = 100, 100, 1, ttl
		if q.Demand == 0 {
			q.Demand = 80
		}
		var r Reply
		st, r = Apply(st, at, q)
		seqs[id], epochs[id] = r.Seq, r.Epoch
		return r
	}
	procs := []string{"p0", "p1", "p2", "p3"}
	for round := range 4 { // settle equal shares
		for i, id := range procs {
			ask(id, now+int64(round)*sec+int64(i)*1000, Request{Fleet: 4})
		}
	}
	now += 4 * sec
	for _, id := range procs {
		if r := st.Clients[id]; math.Abs(r.Share-25) > 1e-9 {
			t.Fatalf("before the partition %s holds %v/s, want 25", id, r.Share)
		}
	}
	// 5 s later (every lease has ended, the pool has refilled to the burst) p0 comes back
	// having spent 100 tokens in fallback, all within its share.
	back := now + 5*sec
	r0 := ask("p0", back, Request{Fleet: 4, Unbacked: 100, Allowance: 100})
	if r0.Share > 25+1e-9 {
		t.Errorf("first back: share %v, want at most its equal share 25 while three are out", r0.Share)
	}
	if r0.Level < 0 {
		t.Errorf("first back: level %v: spending within the fallback share became a debt", r0.Level)
	}
	if r0.Pool > 1e-9 {
		t.Errorf("first back: pool %v, want the refill it counted during the partition given back", r0.Pool)
	}
	// Half a second later p1 comes back: the pool did not refill with the three shares still
	// out (p0's lease took its burst's top-up from nothing).
	r1 := ask("p1", back+sec/2, Request{Fleet: 4, Unbacked: 112, Allowance: 112})
	if r1.Share > 25+1e-9 || r1.Level < 0 || r1.Level > 1e-9 {
		t.Errorf("second back: %+v: want a share of at most 25, no debt and no top-up (the pool held nothing)", r1)
	}
	// p2 overspent its share by 50: that is a debt.
	r2 := ask("p2", back+sec, Request{Fleet: 4, Unbacked: 175, Allowance: 125})
	if r2.Level > -50+1e-9 {
		t.Errorf("third back: level %v, want a debt of the 50 spent beyond its share", r2.Level)
	}
	if n := st.unheard(back+sec, recordKeep(ttl), st.heard(back+sec, "")); n != 1 {
		t.Errorf("with three back, %v processes reserved for, want 1", n)
	}
	// p3 never comes back: four lease lengths after p0 came back, p0 can get more than 25.
	late := back + recordKeep(ttl) + sec
	for _, id := range procs[:3] {
		ask(id, late-sec, Request{Fleet: 4})
	}
	r := ask("p0", late, Request{Fleet: 4, Demand: 200})
	if r.Share <= 25+1e-9 {
		t.Errorf("p0's share %v %v after the first came back, with p3 gone: still reserving for p3", r.Share, late-back)
	}
	if n := st.unheard(late, recordKeep(ttl), st.heard(late, "")); n != 0 {
		t.Errorf("%v processes reserved for after the recovery, want 0", n)
	}
}

// TestFairShares checks max-min fairness on examples worked by hand (Doorman's documentation
// has the same kind of table).
func TestFairShares(t *testing.T) {
	for _, c := range []struct {
		capacity float64
		demands  []float64
		want     []float64
	}{
		{120, []float64{1000, 50, 10}, []float64{60, 50, 10}},           // overload: the small ones are met
		{120, []float64{1000, 1000, 1000}, []float64{40, 40, 40}},       // equal split
		{100, []float64{10, 30}, []float64{10 + 15, 30 + 15}},           // underload: half of the 60 left split
		{100, []float64{0, 0, 0, 0}, []float64{12.5, 12.5, 12.5, 12.5}}, // no demand: half of all
		{20, []float64{5, 5}, []float64{7.5, 7.5}},
		{0, []float64{5}, []float64{0}},
	} {
		var claims []claim
		for i, d := range c.demands {
			claims = append(claims, claim{fmt.Sprint(i), d})
		}
		got := fairShares(c.capacity, claims)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-9 {
				t.Errorf("fairShares(%v, %v) = %v, want %v", c.capacity, c.demands, got, c.want)
				break
			}
		}
	}
}

// FuzzBucketKeys: every bucket's two keys carry exactly one hash tag, the same for both, and
// distinct buckets get distinct tags (escaping keeps them apart and keeps braces out).
func FuzzBucketKeys(f *testing.F) {
	f.Add("ec2-describe", "us-east-1", "EC2", "DescribeInstances", "", "s3", "eu-west-1", "S3", "GetObject", "b/{x}|y%")
	f.Add("r", "", "S", "O", "a|b", "r", "", "S", "O|a", "b")
	f.Add("%7B", "", "", "", "", "{", "", "", "", "")
	f.Fuzz(func(t *testing.T, r1, g1, s1, o1, p1, r2, g2, s2, o2, p2 string) {
		a := BucketID{Rule: r1, Region: g1, Service: s1, Operation: o1, Partition: p1}
		b := BucketID{Rule: r2, Region: g2, Service: s2, Operation: o2, Partition: p2}
		ka, kb := keys(DefaultPrefix, a), keys(DefaultPrefix, b)
		tag := func(k string) string {
			open := strings.IndexByte(k, '{')
			end := strings.IndexByte(k[open+1:], '}')
			if open < 0 || end < 0 {
				t.Fatalf("key %q has no hash tag", k)
			}
			if strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
				t.Fatalf("key %q has more than one brace pair", k)
			}
			return k[open+1 : open+1+end]
		}
		if tag(ka[0]) != tag(ka[1]) {
			t.Fatalf("bucket %+v: keys %q and %q have different tags", a, ka[0], ka[1])
		}
		if (a == b) != (tag(ka[0]) == tag(kb[0])) {
			t.Fatalf("buckets %+v and %+v: equal %v but tags %q and %q", a, b, a == b, tag(ka[0]), tag(kb[0]))
		}
	})
}
