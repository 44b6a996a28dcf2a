// Package simulate is tollgate's discrete-event simulator: it runs client workloads against
// models of AWS's server side in virtual time and compares retry strategies — tollgate's own
// and the AWS SDK's — on the same arrivals.
//
// # Engine
//
// One run is single-threaded and deterministic: a virtual clock, an event queue of value-typed
// events (FIFO lanes for events a constant delay ahead — network hops without jitter, closed-loop
// think times — and for each open-loop group's arrivals; a 4-ary heap for the rest: retries,
// limiter waits, jittered hops; no allocation per event), and per-call state reused through a
// free list, its memory pooled across runs. Every
// random draw comes from math/rand/v2 sources derived from the scenario's seed: one per client
// group (arrivals, operation mix), one per client process (the strategy's jitter), one per run
// (network delays). Runs — strategies, seeds, sweeps — execute in parallel on
// runtime.GOMAXPROCS goroutines and are merged so that the result never depends on scheduling:
// the same seed gives the same JSON report, byte for byte.
//
// Each attempt is: admission by the client (Client.Admit: a limiter reservation, an adaptive
// token), a network hop, the server's decision (server.Model: token buckets per key with AWS's
// published quotas, S3 partitions that split after sustained overload and answer SlowDown
// meanwhile, fault windows; server.CapacityModel for time-varying capacity and outages), a hop
// back, and the client's decision (Client.Finish: retry after a delay, or stop). Calls end when
// they succeed, when the client stops retrying, when a client-side limiter refuses them, or
// at their deadline — while they wait (to be admitted, or to retry), or while an attempt is in
// flight: its caller cancels it then, as the SDK's HTTP request is cancelled by its context (an
// attempt whose request would reach the server after the deadline never does; one whose answer
// would come after it was decided by the server, its tokens spent), and the call gives up with
// its own reason, deadline_in_flight.
//
// A throttling answer carries the retry hint its service sends (server.Hints: Lambda's and API
// Gateway's Retry-After: 1 by default, as AWS sends them; a scenario's server.hints add or
// remove some, x-amz-retry-after or Retry-After in seconds or as an HTTP-date), the same one the
// emulator sends; the engine hands it to the client (Call.Hints), which honours it as the code it
// models does: tollgate's policy both headers (clamped to [backoff, backoff+5 s]) and its
// limiter the pause, the SDK's modes only x-amz-retry-after (its retry middleware's
// adjustForRetryAfterHeader).
//
// # Strategies
//
// Strategies are built from the real decision core — the same backoff and limiter code the
// middleware runs — or, for behaviour the core deliberately does not implement, written from
// the AWS SDK for Go v2's source (aws-sdk-go-v2 v1.48 aws/retry: standard.go,
// jitter_backoff.go, adaptive.go, adaptive_ratelimit.go, adaptive_token_bucket.go):
//
//	tollgate         the README's one-line install, per client process: the limiter made by the
//	                 same constructor, limiter.New(limiter.DefaultRules()) (or a rules file the
//	                 user gives: tollgate.rules), and the middleware's default policy
//	                 (backoff.Policy: full jitter, 1 s/50 ms bases, 20 s cap, 3 attempts, the
//	                 token quota as retry budget)
//	tollgate-fleet   tollgate with a fleet store: every process of the run shares the buckets of
//	                 unpartitioned rules through one modelled Redis (the scenario's store: round
//	                 trip, lease length, outages, restarts), with its limiter built
//	                 WithStore over a fleet.Process — the fleet package's lease code
//	                 (fleet.Account, the script's twin fleet.State) in virtual time
//	tollgate-oracle  the same client handed the server's true rules: an Oracle (see below)
//	sdk-standard     the SDK's 2.1 standard mode: backoff.Policy with full jitter, 1 s/50 ms,
//	                 20 s cap, TokenQuota 500/5/14, 3 attempts; quota per client
//	sdk-adaptive     sdk-standard + the SDK's CUBIC client rate limiter per client (CubicLimiter)
//	sdk-legacy       the SDK's pre-2.1 standard mode: b·2^n s, exactly 20 s once n > 4, 5 tokens
//	                 per retry, +1 per successful attempt
//	no-jitter        sdk-standard with backoff.NoJitter
//	no-retry         one attempt per call
//
// A client process is one SDK client (or one tollgate instance): the SDK's quota and adaptive
// limiter, and tollgate's limiter and budget, are per process, shared by its workers.
//
// No oracle: a strategy builds its clients from a ClientEnv, which holds what a real process
// knows when it starts (its name, its random source, when it was made) and nothing of the
// server. Only a strategy that implements Oracle is handed the server's rules (with the
// capacity steps in force at the start as rules of their own; never the later steps), its name
// says so, and reports mark it ("oracle": true). Scenarios give the server rules a real install
// does not know — raised quotas, unpublished limits (server.rules, server.capacity, for APIs in
// no default rule too), limits that change during the run — and tollgate meets them with the
// published quotas, as the one-line install would.
//
// The SDK's adaptive mode puts an attempt that finds its client's bucket empty to sleep for
// (1-available)/fillRate and then tries again; every sleeper of a client does so, so sleepers
// that wake at the same instant race for the tokens, and the losers sleep again. The engine
// models exactly that (Admission.Shared): attempts that sleep until the same instant form a
// group; the group's members are asked in a random order until one is told to wait, and the
// rest of the group follows it without being asked, so that a client with n sleepers costs
// O(1) per loser, not n admissions per token. A sleeping attempt is cancelled at its call's
// deadline, as the SDK's sleep is by its context.
//
// # The baselines are the SDK
//
// sdk_equal_test.go runs workloads with real aws-sdk-go-v2 v1.48 EC2 clients — retry.NewStandard
// and retry.NewAdaptiveMode, one client per process — against the in-process emulator inside a
// testing/synctest bubble (virtual clock; the SDK's own sleeps and timers), and the same workload
// in the simulator against the same server model, with the same random stream: the SDK draws
// its jitter from crypto/rand, which testing/cryptotest.SetGlobalRandom makes a seeded ChaCha8
// stream, and the simulator's clients draw from a source that reads that stream as
// crypto/rand.Int does. They must make the same decisions, attempt by attempt:
//
//	TestSDKStandardEqualsSDK        2 processes × 16 workers against DescribeInstances' bucket,
//	                                until both retry quotas run dry: every attempt's send time
//	                                (so every backoff delay, to the nanosecond), number and
//	                                outcome; the retry quota's level at every send; every call's
//	                                end (time, attempts, success / quota refusal / attempts
//	                                exhausted)
//	TestSDKAdaptiveEqualsSDK        the same for adaptive mode, 4 processes × 1 worker, 60 s:
//	                                also the limiter's fill rate, measured rate and tokens at
//	                                every send (hence after every response), and every sleep
//	TestSDKAdaptiveWakeUpsEqualSDK  64 workers of one adaptive client, one attempt per call,
//	                                all in flight at the start: the attempts released at each
//	                                instant by the wake-up race (the SDK slept 41,974 times; the
//	                                simulator asked 1,948 admissions), with the limiter's state
//	TestSDKDeadlinesAndHintsEqualSDK  both modes with a deadline on every call, which passes
//	                                during backoffs, adaptive sleeps and attempts in flight (the
//	                                SDK's request is cancelled), and x-amz-retry-after on every
//	                                throttle: the same attempts, times and call ends, with the
//	                                reason ("deadline" or "deadline_in_flight")
//
// Two things about the SDK are modelled, not copied. Which of several sleepers that wake at
// the same instant wins a token is a race between goroutines; the simulator draws it from the
// run's seed, so TestSDKAdaptiveWakeUpsEqualSDK uses calls that are all alike (any winner leads
// to the same run), and with retries the race changes which call is retried when, not how the
// bucket behaves. And where the SDK asks to sleep 0 ns (its bucket a hair short of a token after
// a truncated sleep) it loops at once; a real clock has moved on by then, a virtual one has not,
// so the simulator, and the tests' SDK (through its sleep hook), sleep 1 ns.
//
// # Scenario files
//
// Scenarios are YAML (ParseScenario, LoadScenario; the built-in ones: EmbeddedScenario).
// Errors name the file, the line and the field ("s.yaml:6: field "groups[0].rate": ..."). Fields:
//
//	name          scenario name (default: the file's base name)
//	description   one line shown above the report
//	duration      how long groups start calls (Go duration, required); calls in flight finish
//	seed          random seed (default 1); run i uses a seed derived from it
//	runs          seeds per strategy, results summed (default 1)
//	max_attempts  override every strategy's attempts per call (default: theirs, 3)
//	max_call_duration  the longest a call may last in virtual time (default 1h): a call still
//	              waiting then times out; every rule must refill a token within it
//	strategies    list of strategy names to compare (default: all, in the order above)
//	server:
//	  rules       "defaults" (AWS's published quotas, limiter.DefaultRules) or a limiter rules
//	              file, relative to the scenario, merged over the defaults (server.MergeRules)
//	  faults      a fault-schedule file (server.ParseFaults: windows that throttle or fail an API)
//	  s3:
//	    split_after  sustained SlowDown before S3 schedules a partition split (default 10s)
//	    split_delay  how long the split takes (default 1m)
//	  capacity    list of steps overriding an API's bucket from a time on:
//	              {service, operation, region, start, rate, burst, outage}; outage: true fails
//	              every request (HTTP 500) from start until the next step. Any API, in a rule
//	              or not; a step without operation is one bucket for the whole service
//	  hints       list of retry hints on throttling errors, consulted before the ones AWS sends
//	              (server.DefaultHints): {service, operation, header, after, form}; header
//	              Retry-After (form seconds, the default, or http-date) or x-amz-retry-after
//	              (milliseconds), or none to send no hint for the APIs the entry matches
//	tollgate:
//	  rules       "defaults" (default: limiter.DefaultRules(), the one-line install) or a rules
//	              file, as a user would give one; the server's rules are tollgate-oracle's
//	store:        the fleet store of tollgate-fleet (StoreSpec), reached by every process:
//	  rtt         a store call's round trip (default 1ms)
//	  timeout     a store call's timeout (default fleet.DefaultTimeout, 50ms)
//	  lease       a lease's length (default fleet.DefaultLeaseTTL, 2s)
//	  fallback_share  share of a bucket a process spends while the store is unreachable
//	              (default 0: 1/n of the processes at its last lease)
//	  fail_closed  refuse instead of falling back (default false)
//	  outages     list of {from, to}: windows in which the store is unreachable
//	  restarts    list of times at which the store loses every bucket
//	  rules       names (globs) of the rules whose buckets are shared (default: every
//	              unpartitioned calls rule)
//	groups:       client groups, each:
//	  name        group name (required)
//	  loop        open (Poisson arrivals) or closed (workers) (required)
//	  processes   client processes (SDK clients) in the group (default 1)
//	  rate        open loop: calls per second for the whole group
//	  phases      open loop, instead of rate: list of {at, rate}, the rate from at on
//	  workers     closed loop: concurrent workers per process
//	  think       closed loop: pause between a worker's calls
//	  start, stop when the group starts and stops starting calls (default 0 and duration)
//	  timeout     each call's deadline after it starts (default none)
//	  rtt         network round trip of one attempt (default 20ms)
//	  jitter      standard deviation of each one-way hop, |N(rtt/2, jitter)| (default 0)
//	  operations: the mix, each:
//	    service, operation  AWS SDK ServiceID and API name (required)
//	    region              default us-east-1
//	    resource            S3 bucket, DynamoDB table, ...
//	    prefixes            S3 key prefixes, one picked uniformly per call
//	    unfiltered          EC2 Describe call without filter or pagination (smaller bucket)
//	    units               resources the call affects (RunInstances' instances)
//	    weight              relative share of the group's calls (default 1)
//	    alone               also run this operation alone, per strategy (a companion run: its
//	                        group's processes, its share of the rate, nothing else) and report
//	                        its figures beside (the "runs alone" of a noisy neighbour)
//
// # Built-in scenarios
//
// EmbeddedScenarioList names them with their descriptions (scenarios/*.yaml say more):
//
//	default          an EC2 controller (64 workers) and an S3 export bursting past 5,500 GET/s:
//	                 one process owns each API's quota, and the server has the published quotas
//	ec2-fleet        20 processes share DescribeInstances' bucket (100, 20/s), offering 5× it
//	                 for 10 minutes
//	unknown-limit    4 processes call STS AssumeRole (in no default rule) at 40/s against an
//	                 unpublished 10/s that halves after 5 minutes
//	noisy-neighbour  one process: DescribeInstances at 3× its bucket, DescribeVolumes at 1/4 of
//	                 its own (also run alone)
//	s3-hot-prefix    a new prefix ramps to 4,500 GET/s beside an established 2,500 GET/s on one
//	                 partition, which splits after sustained SlowDown
//
// # Reports
//
// A Comparison has, per strategy, per group and per API (operation; over every group and within
// each): requests, attempts, successes, throttled attempts, server errors, give-ups (by reason:
// limiter refused, budget refused, timed out while waiting, timed out in flight, attempts
// exhausted, not retryable), goodput (calls
// that succeeded within the load window, per second), the capacity of the server buckets the
// calls go to (per second of the window) and goodput's share of it, amplification (attempts per
// call), latency of successful calls p50/p90/p99 (deterministic log-linear histogram, within
// 1.6%) and max (exact), and the completion time; per strategy and per API, attempts,
// successes and throttles over time; for an operation marked alone, its figures alone. Package
// simulate/report writes it as a table, JSON or Markdown; simulate/plot draws it.
//
// Capacity is what the server could have served the workload in the load window: for each
// distinct server bucket its calls go to, the burst (the bucket is full when it starts serving
// them) plus the refill over the time it serves them. It follows the server as each run had it
// (capshare.go): capacity steps replace an API's bucket and change its rate (nothing during an
// outage, a refill after it), fault windows stop a bucket serving (it refills meanwhile), and an
// S3 prefix split off during the run has the parent partition until the split and a new
// partition from then — so a strategy that causes a split gets the split's capacity, one that
// never does keeps the shared partition's. APIs without a server limit are left out of capacity
// and of the goodput compared with it. TestCapacityIsWhatTheServerServes checks it against the
// server: a client that takes every token gets a share of 1.
//
// # Traces, fitting, replay
//
// Traces (package simulate/trace) are streamed: a replay decodes the trace on a second
// goroutine, a few batches ahead of the engine, and prepares each record's call there, so that
// memory does not grow with the trace and decoding and simulating share two cores. Fit estimates each API's server bucket from a
// trace's accepted and throttled pattern (refill rate: accepted per second while throttled;
// burst: most accepted from an idle start until the first throttle, less the refill) and
// FitRules turns the estimates into limiter rules. Replay sends every record of a trace,
// at its timestamp, through each strategy against fitted (or given) buckets.
//
// # Limits: hostile and careless input
//
// A run never panics, never runs away and never holds unbounded memory, whatever its input:
//
//   - Virtual time is int64 nanoseconds from the run's epoch, kept within MaxHorizon (100
//     years): a scenario's duration and a trace's span are checked against it (a trace
//     record too far from the first is an error naming its file, line and "time" field), every
//     call ends within MaxCallDuration (DefaultMaxCallDuration, 1 h; Scenario.MaxCallDuration,
//     ReplayOptions.MaxCallDuration) of its start — a call still waiting for a limiter token
//     or a retry then times out — and every sum of a time and a delay saturates. A rule that
//     refills a token more slowly than a call may last (rate: 1e-6 is a token every 11.6 days)
//     could never serve the calls that wait for it: it is refused before the run with a
//     *RuleError naming the rules file, line and field.
//   - Trace records are put in time order as they are read (trace.InOrder: up to a minute or
//     4,096 records out of order); a record later than that stops Replay and FitContext
//     with a *trace.OrderError naming its file and line, rather than results silently wrong.
//   - Work and memory are estimated before a run (Estimate: calls, an upper bound of
//     attempts, calls in flight, processes, bytes) and bounded by Options.Limits (MaxWork,
//     default 1e9 calls plus attempts, about ten minutes of one core; MaxMemory, default
//     1 GiB): Simulate refuses a scenario whose estimate is above a limit, and every run
//     counts what it does and stops at a limit with a *LimitError (a client-side refusal)
//     when the estimate could not foresee it (calls that pile up behind a limiter). Brooker
//     checks its memory before it starts; Replay bounds its memory while it runs.
//   - Scenario, rules and faults files are at most 1 MiB, and their YAML aliases may expand
//     them to at most 100,000 nodes (MaxScenarioNodes, MaxRulesNodes), so an alias bomb costs
//     nothing; a file that is not of the expected kind (a password file named by mistake) is
//     reported without quoting any of its content. LoadRules reads a rules file with these
//     bounds; prefer it to limiter.LoadRules for files a user names.
//   - Every long loop — the engine's event loop (every 65,536 events), each Brooker run, the
//     replay's reader, the fit — returns soon after its context is done.
//
// # Brooker
//
// Brooker reproduces Marc Brooker's "Exponential Backoff And Jitter" (AWS Architecture Blog,
// 2015): clients contending on one row under optimistic concurrency (server.OCCRow), network
// hops |N(10 ms, 2 ms)|, backoff base 5 ms and cap 2 s, with each jitter kind of the backoff
// package.
package simulate
