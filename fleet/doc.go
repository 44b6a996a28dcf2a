// Package fleet shares AWS's token buckets among the processes of a fleet through Redis.
//
// AWS throttles per account and Region: twenty pods that each keep a perfect copy of EC2's
// DescribeInstances bucket (100 tokens, 20 per second) send 400 calls per second together, and
// AWS throttles most of them. A fleet needs one bucket, shared. This package keeps that bucket in
// Redis and hands each process a lease on part of it, so that a decision is local (no round trip)
// and the fleet together never sends more than the one bucket admits.
//
// # Use
//
// A process makes one Client and gives its Store to its limiter:
//
//	fl, err := fleetredis.Dial(os.Getenv(fleet.URLEnv), fleet.Options{}) // redis://[user:password@]host:port, rediss:// for TLS
//	lim := limiter.New(limiter.DefaultRules(), limiter.WithStore(fl.Store(fleet.StoreOptions{})))
//	tg, err := middleware.New(middleware.Config{Limiter: lim})
//	defer fl.Close(ctx) // gives its leases back at once
//
// The limiter then decides every call of an unpartitioned calls rule — EC2's, KMS's, Lambda's
// and STS's account-wide buckets, or the rules StoreOptions.Rules names — on this process's
// lease, with its own API: Reserve, Wait, Allow, Feedback, Rate, Tokens, its modes, its
// *limiter.RefusedError and its counters, so the middleware, the simulator and the metrics need
// no change. Partitioned rules (S3 prefixes, DynamoDB tables: thousands of keys, each busy for a
// while, whose buckets AWS keeps per partition), units rules (EC2's instance buckets) and the
// learned buckets of calls no rule covers stay each process's own. A call the lease backs is
// admitted at once or after a delay, as a local bucket would admit it; a call whose tokens come
// after the lease ends waits in the process's queue (Decision.Queued, the limiter's Confirm asks
// again when its turn comes) — so a fleet queues calls up to their deadline as one process does,
// in order, and refuses at once the calls that cannot make it; a call that would wait past its
// deadline or the limiter's MaxWait is refused as the limiter refuses it. `tollgate-live load
// --processes N --redis-url URL` runs N such processes against the emulator; the simulator's
// tollgate-fleet strategy runs the same code in virtual time (Process, ModelStore).
//
// # Model
//
// A shared bucket has a rate r and a burst B, as the limiter's rule gives them ([Spec]). The
// store ([State], kept in two Redis keys) splits it into leases and a pool:
//
//   - a lease gives one process a share s of the rate and a burst b for a short time (2 s by
//     default, [DefaultLeaseTTL]); the process's local bucket refills at s up to b, and its calls
//     spend from it, at once or after a delay (tokens reserved ahead, as the limiter does),
//     never past the lease's end;
//   - the pool holds the tokens no lease holds; it refills with the rate no lease holds, up to
//     the burst no lease holds.
//
// Shares are apportioned by demand with max-min fairness, as YouTube's Doorman does: each
// process reports its recent demand (every token its calls asked for, refused ones included);
// a process asking for less than an equal share gets what it asks; the others split the rest
// equally; when demand is below the rate, half of what is left is spread as headroom and half
// stays free for processes that start asking. A busy process gets more than an idle one, and no
// process gets less than min(its demand, r/n). A process renews its lease when half of it has
// passed (or sooner when its calls find it short), returns the tokens above its new burst and the
// share its local bucket could not hold (the refill it lost to a full bucket), and is topped up
// from the pool. A process that stops using a bucket stops renewing; its lease ends and its share
// goes back to the pool ([Client.Close] gives every lease back at once).
//
// The invariant that makes this safe: shares of live leases never exceed r, and their bursts
// plus the pool never exceed B. So the tokens the fleet can spend — the pool plus every local
// bucket — are at most what one (r, B) bucket holds, refilled at most at r: the fleet never sends
// more than AWS's bucket admits, if the two agree on r and B. Tests replay every admitted call of
// a run through an (r, B) bucket, as AWS would, and count what it would throttle.
//
// # One learned rate per bucket
//
// A published quota is a ceiling: other tools of the account spend the same bucket, or AWS grants
// less than it publishes. The fleet learns one rate per bucket, in the store: every process
// reports AWS's answers to its calls at its next renewal (a throttle brings it forward), and the
// store cuts the bucket's rate to just below the share the whole fleet measured, once per
// measurement window, and grows it along the limiter's curve while the fleet's demand reaches
// it. A cut lowers every process's share at its next renewal; growth is one curve on the store's
// clock, not a step per process, so many processes' reports make one cut and one growth. See
// learn.go for the rules and why they do not oscillate. A restart that loses the bucket loses
// what it learned: the fleet starts again from the rule's rate.
//
// # Why a token bucket in Redis, not GCRA
//
// go-redis/redis_rate keeps GCRA's one number (the theoretical arrival time) per key: one
// round trip per call, which is right for a server that decides each request. Leases need more
// state than one number — the pool, each process's share, burst, demand and expiry — so the
// saving that makes GCRA attractive is gone, and what is left is the model AWS documents and
// tollgate's limiter uses: a level that refills at a rate up to a burst. Returning tokens,
// handing a pool to a process, changing the rate mid-flight (a learned rate) and capping the
// pool at the burst no lease holds are each one line on a level, and awkward on an arrival time.
//
// # One clock, atomically
//
// Every change to a bucket is one Lua script (script.lua) run by Redis atomically, on Redis's
// clock (TIME): the processes' clocks never meet. [State.Apply] is the script's twin in Go — same
// decisions, same floating-point operations in the same order — and a test runs both on the same
// requests against a real redis-server and requires identical answers, so the simulator's
// modelled store ([ModelStore]) is the store, not an approximation of it. The client side
// ([Account]: lease sizing, the local bucket, demand, settlement) is pure: every method takes
// now and does no IO, so the Redis driver ([Client]) and the simulator ([Process]) run the very
// same code.
//
// # Keys and Redis Cluster
//
// A bucket is two keys, its state and its leases, named prefix + "{" + bucket + "}" + suffix
// ([DefaultPrefix] "tollgate:"): the braces are the bucket's one hash tag, so Redis Cluster puts
// both keys in one slot (a script may only touch keys of one slot) while buckets spread over the
// cluster. Braces, '|' and '%' inside the bucket's name are escaped, so no name can break the
// tag; a prefix with a brace is refused. Keys expire after the bucket has been idle long enough
// to be full again, so an abandoned bucket disappears without a trace.
//
// # Round trips
//
// A process makes one round trip per bucket when it first uses it (the call waits for it, at
// most the timeout) and then one per half-lease while it keeps using it, in the background: about
// one per second per bucket, whatever the call rate. It renews sooner (at most every eighth of a
// lease) when AWS throttled a call (so the fleet learns soon), or when a call found its lease
// short while the store had more to give (tokens in its pool, or a share below an equal split)
// or the fleet was changing (processes joining, leaving, coming back from a fallback or a
// restart); when every process is short and shares are equal and settled, renewing sooner would
// give nothing, and it does not. A first lease is short (a quarter), so that processes starting together settle their
// shares quickly. The script goes to Redis through a [Conn]: package fleetredis's, over any
// go-redis client, sends it with EVALSHA and falls back to EVAL when a restarted server has
// forgotten it. This package itself does not import go-redis, so the simulator, which runs the
// same lease code against a [ModelStore] in virtual time, builds without it.
//
// # Faults
//
// Every store call is bounded by [Options.Timeout] (50 ms by default) whatever go-redis's own
// timeouts are, and a circuit breaker per bucket stops calling a store that fails
// ([Options.FailureThreshold], [Options.Cooldown]). No decision waits on the store except a
// process's first call on a bucket (or the first after its lease has ended), and that for at most
// the timeout. When the store does not answer:
//
//   - a renewal that times out may or may not have been applied, so the process assumes the
//     worst of both: it spends none of the tokens it reported (they may be back in the pool);
//     calls it had reserved ahead stay reserved (the old lease backs them if the request was
//     lost, the new one carries them if it was applied);
//   - once its lease has ended and the store still does not answer, the process falls back to a
//     local bucket: by default 1/n of the fleet's rate in force and of its burst, n being the
//     processes that shared the bucket at its last lease (Doorman's "safe capacity");
//     [Policy.FallbackShare] sets a fixed fraction, and [Policy.FailClosed] refuses instead. Its
//     queued calls are served from that bucket, in order. It says so: a StoreFallback event (and
//     the tollgate_store_fallback gauge in package metrics) and a log line;
//   - when the store answers again, the process reports what it spent without a lease and what
//     its fallback share allowed. What the share allowed was AWS's refill meanwhile, which the
//     store also counted in its pool (as the rate no lease held): the pool gives that back, as
//     far as it holds it. What went beyond the share is charged to the pool, or to the
//     process's next lease as a debt it repays before spending again. A StoreRecovered event
//     says how long the fallback lasted and what it spent;
//   - the first process back from a fallback starts a recovery: for a few lease lengths, the
//     processes it last saw share the bucket and the store has not heard from since count as
//     claiming and holding an equal share each ([State].Expect): they are still spending their
//     fallback shares, so the processes back first get no more than theirs.
//
// A request carries an id, and the store answers a duplicate (a retry of a request whose first
// copy got through) with the first answer: no lease is granted twice, no return counted twice.
//
// # Restarts
//
// A redis-server that restarts without persistence loses every bucket. The first process that
// comes back with a lease from the lost incarnation (its epoch) proves the loss: the bucket is
// rebuilt with an empty pool (the fleet may well have spent AWS's burst) instead of a full one,
// and what the processes spent in fallback within their shares is not charged (the rebuilt
// pool never counted that refill); what they spent beyond is. As after any fallback, the
// processes the rebuilt bucket has not heard from yet count as holding their equal shares (each
// process tells the store how many processes it last saw share the bucket, Request.Fleet). A
// process that never held a lease cannot tell a restart from a new bucket: if it is the first to
// arrive, the bucket starts full (at most one burst too many, and only if the fleet had spent
// the burst before the restart). A server restored from an old snapshot is recognised by a
// process holding a lease newer than the store knows; its pool is emptied too.
//
// What it costs. Fail-closed, nothing: a process spends only its leases. Fail-open, the overlap
// of the two ways of spending that the recovery does not cover: a process that falls back while
// the others keep leasing (a renewal past the timeout on a starved machine) spends its fallback
// share while its lease's share goes to the others once it has been silent for a lease length,
// and a process still falling back more than a few lease lengths after the first came back
// spends its share on top of theirs. Measured: a redis-server killed and restarted under 4
// processes offering twice the rate (TestRedisKilledAndRestarted, go test -race -run
// KilledAndRestarted ./fleet/) sent no call AWS's bucket would throttle in 25 runs on a loaded
// machine, and the test bounds it by the fallback shares spent while the store was up; a 5 s
// partition and two restarts in 60 s of virtual time (TestVirtualOutagesAndRestarts) cost
// nothing, fail-open or fail-closed.
//
// # Concurrency and memory
//
// A [Client] is safe for concurrent use: each bucket has its own lock, held for a decision (a
// few hundred nanoseconds) and never across a store call; renewals run on their own goroutines,
// one at most per bucket. A Client keeps one small record per bucket it has used and does not
// evict them: share the buckets AWS keeps per account and Region (a bounded set), not one per
// object prefix. An [Account], a [ModelStore] and a [Process] are not safe for concurrent use
// (their owners serialise calls).
package fleet
