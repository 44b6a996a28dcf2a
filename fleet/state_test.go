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
// bursts plus the pool never exceed the burst, and a granted lease's level never exceeds its
// burst.
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
			if r.Share > 0 && (r.Level > r.Burst+eps || r.Burst < q.MinBurst) {
				t.Fatalf("seed %d step %d: lease %+v: level above burst, or burst below a call", seed, step, r)
			}
			if math.IsNaN(st.Pool) || math.IsNaN(r.Level) {
				t.Fatalf("seed %d step %d: NaN", seed, step)
			}
		}
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
