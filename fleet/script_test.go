package fleet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/internal/redistest"
)

// TestScriptEqualsModel drives the Lua script in a real redis-server and State.Apply with the
// same requests at the same explicit times, and requires the same replies bit for bit: the
// simulator's modelled store (State) is the store, not an approximation of it.
func TestScriptEqualsModel(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	var seen struct{ replayed, granted, refusedShare, unbacked, topped, carried, cut, grown, forgot, unheard, recovering int }
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			id := BucketID{Rule: "r", Region: "us-east-1", Service: "EC2", Operation: fmt.Sprint("Op", seed)}
			k := keys("test:", id)
			var st *State
			now := int64(1_700_000_000_000_000) + int64(seed)*1e9
			procs := 2 + rng.IntN(6)
			type proc struct {
				seq   uint64
				epoch string
				rid   uint64
				last  *Request
			}
			ps := make([]proc, procs)
			rate, burst := []float64{20, 100, 5}[seed%3], []float64{100, 100, 10}[seed%3]
			lastRate, wasLearned := rate, false
			for step := range 400 {
				now += int64(rng.IntN(400_000))
				i := rng.IntN(procs)
				p := &ps[i]
				var q Request
				if p.last != nil && rng.IntN(10) == 0 {
					q = *p.last // a duplicate (a retry whose first copy got through)
				} else {
					p.rid++
					q = Request{Client: fmt.Sprintf("proc-%d", i), ReqID: p.rid, Seq: p.seq, Epoch: p.epoch,
						Demand: rng.Float64() * rate, Level: (rng.Float64() - 0.3) * burst / float64(procs),
						Rate: rate, Burst: burst, MinBurst: 1, TTL: 2_000_000, Release: rng.IntN(20) == 0}
					if rng.IntN(8) == 0 {
						q.Unbacked = rng.Float64() * 10
						q.Allowance = rng.Float64() * 10
					}
					if rng.IntN(40) == 0 {
						q.Epoch = "1" // an incarnation the store never had: it lost the bucket
					}
					q.Fleet = rng.IntN(procs + 3)
					if rng.IntN(4) == 0 {
						q.Overflow = rng.Float64() * 5
					}
					if rng.IntN(30) == 0 {
						q.Rate = rate * (0.5 + rng.Float64()) // the rules changed
					}
					// AWS's answers since the last renewal: throttles come in spells.
					q.Adaptive = seed != 5 || step < 300
					q.Succ = float64(rng.IntN(30))
					if (step/60)%2 == 0 && rng.IntN(2) == 0 {
						q.Thr = float64(1 + rng.IntN(8))
					}
				}
				var want Reply
				if st != nil && st.unheard(now, recordKeep(q.TTL), st.heard(now, q.Client)+1) > 0 {
					seen.unheard++
					if st.Since > st.Created {
						seen.recovering++ // a bucket the store kept, after a fallback
					}
				}
				st, want = Apply(st, now, q)
				got, err := runScript(ctx, redisConn{rdb}, k, &q, now)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if got != want {
					t.Fatalf("step %d: request %+v\nscript %+v\nmodel  %+v", step, q, got, want)
				}
				switch {
				case got.Replayed:
					seen.replayed++
				case got.Share == 0 && !q.Release:
					seen.refusedShare++
				case got.Share > 0:
					seen.granted++
				}
				if q.Unbacked > 0 {
					seen.unbacked++
				}
				if got.Level > min(q.Level, got.Burst) {
					seen.topped++
				}
				if got.Carry > 0 {
					seen.carried++
				}
				switch {
				case got.Replayed:
				case got.Learned && got.Rate < lastRate && q.Rate == rate:
					seen.cut++
				case got.Learned && got.Rate > lastRate && q.Rate == rate:
					seen.grown++
				case wasLearned && !got.Learned:
					seen.forgot++
				}
				if !got.Replayed {
					lastRate, wasLearned = got.Rate, got.Learned
				}
				if rng.IntN(3) > 0 { // sometimes the reply is lost: the process keeps its old lease number
					p.seq, p.epoch = got.Seq, got.Epoch
				}
				p.last = &q
			}
			// The state in Redis is the model's state.
			h, err := rdb.HGetAll(ctx, k[0]).Result()
			if err != nil {
				t.Fatal(err)
			}
			if h["p"] != fmtFloat(st.Pool) || h["e"] != st.Epoch || h["l"] != fmtFloat(st.Learned) ||
				h["s"] != fmtFloat(st.Succ) || h["h"] != fmtFloat(st.Thr) || h["pl"] != fmtFloat(st.Plateau) {
				t.Fatalf("redis bucket %v, model %+v", h, st)
			}
		})
	}
	// The sequences went through every branch worth comparing.
	t.Logf("branches: %+v", seen)
	if seen.replayed == 0 || seen.granted == 0 || seen.refusedShare == 0 || seen.unbacked == 0 || seen.topped == 0 || seen.carried == 0 ||
		seen.cut == 0 || seen.grown == 0 || seen.forgot == 0 || seen.unheard == 0 || seen.recovering == 0 {
		t.Fatalf("the random requests missed a branch: %+v", seen)
	}
}

// TestScriptLostState: a bucket that vanishes from the store (a restart without persistence)
// is rebuilt with an empty pool when a process that held a lease comes back, and full when
// only new processes come.
func TestScriptLostState(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	k := keys("test:", BucketID{Rule: "lost", Service: "EC2", Operation: "DescribeInstances"})
	q := Request{Client: "a", ReqID: 1, Demand: 10, Rate: 20, Burst: 100, MinBurst: 1, TTL: 2_000_000}
	r1, err := runScript(ctx, redisConn{rdb}, k, &q, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Lost || r1.Pool+r1.Level != 100 {
		t.Fatalf("first lease %+v: want a full bucket of 100 between pool and lease", r1)
	}
	srv.Restart()
	rdb = redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	q2 := Request{Client: "a", ReqID: 2, Seq: r1.Seq, Epoch: r1.Epoch, Demand: 10, Level: r1.Level,
		Rate: 20, Burst: 100, MinBurst: 1, TTL: 2_000_000}
	r2, err := runScript(ctx, redisConn{rdb}, k, &q2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Lost || r2.Pool != 0 {
		t.Fatalf("after restart %+v: want Lost and an empty pool", r2)
	}
	if r2.Level > r1.Level {
		t.Fatalf("after restart the process holds %v tokens, had %v: the restart handed out tokens", r2.Level, r1.Level)
	}
}
