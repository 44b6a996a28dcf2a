// Package limiter keeps calls to AWS APIs inside AWS's rate quotas with token buckets shaped
// like AWS's own: one bucket per account, Region and API — and, for S3, per partitioned prefix —
// so throttling on one API does not slow the others (the SDK's retryers keep one state per
// client, and AWS's documentation warns that throttling on one API then slows every other).
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
// no rule covers is not limited.
//
// Buckets are golang.org/x/time/rate Limiters driven only through their explicit-time methods
// (AllowN and ReserveN with now): every decision takes the time as an argument, so a simulator
// drives the same code in virtual time. Only [Limiter.Wait] reads the clock and sleeps.
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
// # Modes
//
// [Limiter.Reserve] decides under the limiter's [Mode]. Enforce reserves the tokens and returns
// the delay to wait before sending; if the wait would exceed the configured MaxWait or pass the
// caller's deadline, nothing is reserved and a *[RefusedError] (a client-side refusal: no request
// was sent) says which rule refused and how long the call would have waited. FailFast refuses
// any call that would wait. Shadow never delays nor refuses: the [Reservation] and the rule
// counters report what Enforce would have done, and tokens are only taken when available, so a
// shadow limiter's buckets never go into debt. [Limiter.Allow] is the server-side view used by
// emulators and simulators: take the tokens if they are there now, never reserve ahead.
//
// # Memory and eviction
//
// An unpartitioned bucket exists per (rule, Region, operation or shared group) and lives as long
// as the limiter; their number is bounded by the distinct (service, operation, Region) triples
// seen (at most 65,536; beyond that, calls are charged to their rule's overflow bucket).
// Partitioned buckets (one per resource or prefix) are evicted lazily: each call that touches a
// shard checks a couple of slots of it, and drops a bucket that has been unused for the idle TTL
// ([WithIdleTTL]) and is full again at now — dropping it is unobservable, since a new bucket
// would start full too. There is no goroutine per key and no janitor goroutine; [Limiter.Sweep]
// evicts everything evictable at once when a caller wants the memory back immediately.
//
// [WithMaxKeys] caps the number of partitioned buckets. When the cap is reached and nothing is
// evictable, a new key is charged to its rule's overflow bucket (one per rule, with the rule's
// rate and burst, shared by every key without a bucket of its own) and counted in
// RuleStats.Overflowed. A key that later gets its own bucket starts it no fuller than the
// overflow bucket, so moving out of the overflow cannot hand a key more than its quota.
//
// # Concurrency
//
// A Limiter is safe for concurrent use. Partitioned buckets live in 64 shards, each with its own
// lock; an unpartitioned bucket has its own lock. Times that reach a bucket out of order (two
// goroutines that read the clock in one order and lock in the other) are treated as the latest
// time the bucket has seen, so a refill interval is never counted twice: concurrent callers
// never over-admit. Looking up a key does not allocate; only a key's first call, which creates
// its bucket, does.
package limiter
