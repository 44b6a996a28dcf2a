// Package limiter keeps calls to AWS APIs inside AWS's rate quotas with token buckets shaped
// like AWS's own: one bucket per account, Region and API — and, for S3, per partitioned prefix —
// so throttling on one API does not slow the others (the SDK's retryers keep one state per
// client, and AWS's documentation warns that throttling on one API then slows every other).
// Each bucket's rate is learned from AWS's answers: a published quota is a ceiling, not a
// promise (see "Adaptive rates").
//
// # Model
//
// A call is named by a [Key]: Region, Service (the SDK ServiceID), Operation, and optionally the
// Resource it touches and a Prefix within it. [Rules] map calls to buckets. Each [Rule] matches
// by service, operation glob and optional Region, and gives the bucket's shape: Rate (tokens
// refilled per second), Burst (the bucket's capacity), Cost (tokens per call), a Partition scheme
// (none, resource, prefix: which Key fields split the bucket) and a Scope (a bucket per operation,
// or one shared by every operation the rule matches, as KMS's shared cryptographic quota).
//
// Rules are tried in order and the first match wins, separately for the two kinds of Charge:
// the first matching "calls" rule takes Cost tokens per call, and the first matching "units"
// rule, if any, takes Cost tokens per unit (EC2's resource buckets: RunInstances is charged the
// number of instances it launches). A call is admitted only when both buckets admit it. A call
// no calls rule covers gets a learned bucket ([LearnedRule]) in an adaptive limiter, and is not
// limited by a static one.
//
// Buckets are the package's own token buckets driven by explicit times: every decision takes the
// time as an argument, so a simulator drives the same code in virtual time. Only [Limiter.Wait]
// reads the clock and sleeps. Times are kept as int64 nanoseconds of the wall clock; a bucket
// that sees a time earlier than one it has seen treats it as the later one, so concurrent callers
// whose clocks arrive out of order never refill the same interval twice.
//
// # Why DescribeInstances is "100 burst, 20/s", not "100 calls per second"
//
// EC2 throttles each action with a token bucket per account and Region. A non-mutating action
// such as DescribeInstances has a bucket of 100 tokens that refills at 20 tokens per second. A
// client that has been quiet may send 100 calls at once — hence the folklore "100 calls per
// second" — but the bucket is then empty, and from then on it can sustain 20 calls per second,
// not 100: over ten seconds at full speed, 100 + 20·10 = 300 calls get through, not 1,000. An
// empty bucket is full again after 5 s of quiet. (An unfiltered, unpaginated DescribeInstances
// uses a smaller 50-token bucket refilling at 10/s; callers select it with
// [UnfilteredOperation].) The default rules encode these shapes; see [DefaultRules].
//
// # Adaptive rates
//
// AWS's bucket is per account and Region; the process's is per process. Twenty processes that
// each hold a perfect copy of DescribeInstances' bucket send twenty times what AWS refills, and
// an API whose quota AWS does not publish (STS, IAM) has no rule at all. So a published quota is
// a ceiling: each bucket of an adaptive limiter (the default; [WithAdaptive]) learns the share
// of it this process actually gets, from what the client sees — [Limiter.Feedback] after every
// answer (the middleware and the simulator call it) — and never goes above its rule's Rate and
// Burst. A call no rule covers gets a learned bucket of its own (per service, operation, Region,
// resource and prefix: [LearnedRule]) when AWS first throttles it; until then it is not limited
// and costs no memory, as in the SDK's adaptive mode.
//
// What a bucket learns from:
//
//   - The first throttle says AWS's bucket is empty: ours empties too, and a measurement starts.
//     From then on, what gets through is this process's share of the server's capacity while
//     the server refuses: the successes and throttles counted per bucket are the online form of
//     `tollgate fit`. A bucket that was sending under its rule's Rate (measured over 20 calls
//     or more) is capped at the rate it was sending: AWS refused a call at that rate, so demand
//     that grows past it waits for the growth curve instead of being sent on faith (the SDK's
//     adaptive mode goes further: its first throttle cuts its one rate to 70% of what it
//     measured, aws-sdk-go-v2 aws/retry/adaptive_ratelimit.go). A lone throttle at the rule's own rate cuts nothing, nor do throttles few and
//     far between — under 1% of the calls since the first, never three within about a reaction
//     window: network jitter makes a client that sends exactly at the server's rate arrive
//     early now and then, while an overshoot by other processes throttles tens of percent. An
//     overshoot inside the first reaction window cuts the rate at once to 80% of what it was
//     sending (its rate, when calls were waiting for it).
//   - A throttle after the reaction window cuts to the measured share — the rate sent times the
//     fraction admitted, (successes+1)/(calls+1), over the window since the first throttle or
//     the last cut (its last 10 s at most) — and by at least 10%. One cut per reaction window
//     (four calls at the new rate, between 0.5 s and 30 s): several throttles from one
//     overshoot, from calls sent before the cut or before the rest of the fleet cut, are one
//     signal. A cut empties the bucket (AWS's is empty) and voids the reservations queued at
//     the old rate (see below).
//   - Successes let the rate grow back, but only while the key is demand-limited — a call found
//     the bucket dry since the previous success, or calls are waiting — so a rate nobody uses
//     does not grow. Near the cut the growth is slow and even, 0.2% of the cut rate a second
//     (+12% a minute): a fleet's processes creep back over the server's rate one at a time,
//     each is cut by 10% about once a minute, and the server's bucket stays within a few calls
//     of empty. After a few minutes without a throttle the growth turns convex (doubling the
//     rate after four), to find capacity the server gained or other processes left. A quick
//     cut first recovers (concave, in 20 s) to the rate sent before it, and a bucket's first
//     measured cut to the share it measured. The rate never exceeds the rule's Rate.
//   - A Retry-After or x-amz-retry-after hint (Feedback.RetryAfter, capped at 20 s) pauses the
//     key: no new call of it is admitted before it has passed.
//   - AWS buckets have a burst: a bucket's Burst scales with its learned rate (a process that
//     gets a fifth of the account's rate gets a fifth of its burst, at least one call), so a key
//     idle long enough can burst, and a fleet of idle processes cannot together burst past the
//     account's bucket. A learned bucket holds one second of its rate.
//
// Why not the SDK's CUBIC, AIMD or Google SRE's client-side throttling: with N uncoordinated
// processes that each grow by a fraction g per second and cut by (1-β) at every throttle, the
// fleet is throttled about g·N/(1-β) times a second, and a blind multiplicative cut needs
// several throttles to step down from five times the share. Cutting to the measured share takes
// one measurement; one cut per reaction window makes an overshoot one signal; growing only while
// demand-limited, 0.2% a second against cuts of 10%, keeps each process about a minute between
// throttles (a fleet of twenty: about one throttle every two seconds) just over the server's
// capacity, whose burst absorbs the difference. Farkiani et al.'s adaptive token bucket (arXiv
// 2510.04516) adapts the bucket's rate from 429s per client too; tollgate's measures the share
// instead of stepping towards it, per key. On the simulator's embedded scenarios (tollgate
// simulate ec2-fleet, unknown-limit, s3-hot-prefix) this throttles 14 to 22 times less than
// the SDK's adaptive mode. What it costs: a paced fleet leaves the server's bucket a few tokens
// from empty (its processes' calls come in clumps the server's steady refill does not match),
// so its goodput is within a few calls of the adaptive mode's, not always above it; and a
// paced S3 prefix never shows S3 the sustained SlowDown it splits a partition on. The README
// gives the figures.
//
// Reservations and cuts. Reserve hands out a delay; a caller waits it out and sends. A cut voids
// every reservation made before it: the bucket restarts empty at the new rate instead of owing
// the queue it promised at the old one, and each voided reservation takes its tokens again when
// the caller confirms it before sending ([Reservation.Confirm]) — sent at once if the new rate
// has them, waiting longer, or refused with a *[RefusedError] when that would pass the call's
// deadline or MaxWait. The queue is served at the new rate from the cut on, without a gap, and
// the calls that can no longer make their deadline are refused at their turn rather than sent to
// be throttled. [Limiter.Wait] and tollgate's middleware always confirm; a caller that does not
// may exceed a cut made while it waited. Growth never moves a reservation.
//
// Opting out: a rule with NonAdaptive ("adaptive: false" in a rules file) keeps its Rate and
// Burst whatever AWS answers; units rules never adapt (a throttle cannot tell the request bucket
// from the resource bucket: the calls bucket learns). A static limiter, WithAdaptive(false), is
// what a server model needs: the simulator's and the emulator's decide as AWS would.
//
// Rate changes are reported as [RateChange] values (cuts, and growth in steps of about 6%) for
// events and metrics, and counted per rule: RuleStats.Cuts, Growths, Learned and LearnedRate.
//
// # Buckets shared by a fleet
//
// A process's limiter keeps its own buckets; a fleet of processes calling one account needs one
// bucket for all of them. [WithStore] hands the buckets of unpartitioned calls rules (EC2's,
// KMS's, Lambda's, STS's account-wide buckets) to a [Store] that shares them — package fleet
// keeps them in Redis and gives each process a lease on part of each bucket. The limiter's API
// is unchanged: Reserve, Wait and Allow decide on the store's answer (a delay the store
// reserved, a wait for a later lease that [Reservation.Confirm] asks about again, a refusal with
// the same *[RefusedError], [RefusedShared] when the store gives this process nothing in time),
// Feedback goes to the store, which learns one rate for the whole fleet and reports its cuts and
// growth as RateChanges, and Rate, Tokens and the counters report the shared bucket as this
// process sees it. Partitioned rules (one bucket per S3 prefix or DynamoDB table, thousands of
// them), units rules and learned buckets stay local: the store is asked only about
// unpartitioned calls rules, once per bucket.
//
// # Rules files
//
// [LoadRules] and [ParseRules] read YAML or JSON (JSON is YAML). Fields:
//
//	rules:
//	  - name: ec2-describe           # unique; default "service/operation[@region]"
//	    service: EC2                 # SDK ServiceID, case-insensitive (required)
//	    operation: Describe*|Get*    # glob: * any run, ? one character, | alternatives (default *)
//	    region: us-east-1|eu-west-1  # optional glob; omitted = every Region
//	    rate: 20                     # tokens per second (> 0)
//	    burst: 100                   # bucket capacity in tokens (> 0)
//	    cost: 1                      # tokens per call, or per unit for charge: units (default 1)
//	    partition: none              # none | resource | prefix (default none)
//	    scope: operation             # operation | shared (default operation)
//	    charge: calls                # calls | units (default calls)
//	    adaptive: true               # false: keep rate and burst whatever AWS answers (default true)
//	    source: EC2 devguide, request throttling  # where the numbers come from
//	  - name: s3-reads
//	    service: S3
//	    operation: Get*|Head*
//	    rate: 5500
//	    burst: 5500
//	    partition: prefix            # a bucket per (S3 bucket, key prefix)
//	    scope: shared                # GET and HEAD draw from the same bucket
//
// An operation may carry a variant after a colon ("DescribeInstances:unfiltered"). A glob
// alternative without a colon matches the base name, so "Describe*" covers the variant too; one
// with a colon matches the whole name. For services whose operations tollgate knows
// ([KnownOperations]: EC2, S3, KMS, Lambda, DynamoDB, STS, listed from the AWS SDK), every
// alternative must match at least one real operation, which catches typos. Every problem is
// reported with file, line, rule and field:
//
//	limiter: rules.yaml:12: rule "ec2-describe": field "burst": must be > 0
//
// # Deadlines
//
// A call that must wait is admitted only if its turn leaves time for its answer to arrive
// before the caller's deadline: its turn must come before the deadline less the API's latency
// margin. Where demand stays above a bucket, the queue reaches to the deadline, and a call whose
// turn came just before it would be sent only to be cancelled in flight — its token spent at
// AWS, no answer for the caller. The margin is RFC 6298's retransmission timeout, SRTT +
// 4·RTTVAR, over the latencies callers report in [Feedback].Latency, one estimate per (service,
// operation, Region); before the first report it is zero. A call that needs no wait is never
// refused for it.
//
// # Modes
//
// [Limiter.Reserve] decides under the limiter's [Mode]. Enforce reserves the tokens and returns
// the delay to wait before sending; if the wait would exceed the configured MaxWait or pass the
// caller's deadline, nothing is reserved and a *[RefusedError] (a client-side refusal: no request
// was sent) says at once which rule refused, how long the call would have waited, and at what
// rate (and whether that rate was learned). FailFast refuses any call that would wait. Shadow
// never delays nor refuses: the [Reservation] and the rule counters report what Enforce would
// have done, and tokens are only taken when available, so a shadow limiter's buckets never go
// into debt (its rates still learn). [Limiter.Allow] is the server-side view used by emulators
// and simulators: take the tokens if they are there now, never reserve ahead.
//
// # Memory and eviction
//
// A bucket is 48 bytes: level, latest time, rate and adaptive state. A partitioned bucket (one
// per resource or prefix, and every learned bucket) is 96 with its key (kept inside it up to 20
// bytes) plus its slot in a shard's hash table: 130 bytes per live key measured over a million S3
// prefixes (BenchmarkAllowManyKeys), against 158 for a plain map[string]*rate.Limiter holding
// copies of the same keys (BenchmarkMapOfRateLimiters). An
// unpartitioned bucket exists per (rule, Region, operation or shared group) and lives as long as
// the limiter; their number is bounded by the distinct (service, operation, Region) triples seen
// (at most 65,536; beyond that, calls are charged to their rules' overflow lanes).
//
// Partitioned buckets are evicted lazily: each call that touches a shard checks a couple of
// slots of it, and a call that creates a bucket checks up to 32 more until it evicts one, so
// that traffic alone replaces idle keys with new ones (one eviction per new key in
// BenchmarkChurn) and the table stops growing. A bucket is evictable when it has been unused for
// the idle TTL ([WithIdleTTL]) and is full again — dropping it then only forgets a learned rate
// (the key starts again from its rule's, as a new key does). There is no goroutine per key and
// no janitor goroutine; [Limiter.Sweep] evicts everything evictable at once.
//
// A limiter keeps at most [DefaultMaxKeys] partitioned buckets (100,000, about 13 MB;
// [WithMaxKeys] changes it). When the cap is reached, a full bucket that learned nothing is
// evicted at once, idle or not — a new bucket would be identical, so a stream of unique S3
// prefixes never runs out of room. When no bucket can go, a new key is charged to one of its
// rule's 64 overflow lanes, picked by the key's hash: each lane is a bucket of the rule's shape,
// so a key never gets more than its own quota and competes only with the few keys hashed to its
// lane (one shared overflow bucket starved new keys: every overflowed key together got one key's
// rate). Overflowed calls are counted in RuleStats.Overflowed. A key that later gets its own
// bucket starts it no fuller than its lane.
//
// # Concurrency
//
// A Limiter is safe for concurrent use. Partitioned buckets live in 64 shards, each with its own
// lock; an unpartitioned bucket has its own lock. Admissions and feedback change a bucket only
// under its lock, so a rate change is atomic with the refill it follows. Concurrent callers never
// over-admit: a learned rate and burst only lower the rule's. Looking up a key does not allocate;
// only a key's first call, which creates its bucket, does. On a hot key Allow costs less than
// golang.org/x/time/rate's AllowN (BenchmarkAllowHotKey reports the ratio, measured in the same
// run).
package limiter
