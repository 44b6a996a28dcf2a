// Package calibrate checks the simulator against reality: it runs a scenario in virtual time
// (package simulate) and in real time with real aws-sdk-go-v2 clients against the in-process
// emulator (package load), and compares the two per strategy, client group and API. It is
// `tollgate-live calibrate`; it links the SDK's service clients, so the simulator's own program,
// cmd/tollgate, does not import it.
//
// # The model
//
// A simulator is worth what its predictions are worth. For each strategy and seed, Run:
//
//  1. runs the scenario in real time (load.RunScenario): the simulator's own workload draws —
//     an open loop's arrivals, from which process, calling what; a closed loop's first start
//     of each worker — with real SDK clients, one retryer per process as the simulator's
//     process: the SDK's standard retryer for sdk-standard (retry.NewStandard), its adaptive
//     retryer for sdk-adaptive (retry.NewAdaptiveMode), tollgate's one-line install for
//     tollgate (middleware.WithTollgate with limiter.New(limiter.DefaultRules()), or the
//     scenario's tollgate.rules); against a fresh emulator configured from the scenario
//     (load.EmulatorOptions: server rules, capacity steps and fault windows counted from the
//     workload's start, S3 partition splits, retry hints); over a network that delays each hop
//     |N(rtt/2, jitter)| as the simulator does, where a call's deadline cancels an attempt in
//     flight;
//  2. runs the same scenario and seed in virtual time (simulate.Simulate) with each group's
//     round trip replaced by the one the real run measured (the median of its answered
//     attempts): the machine adds its own latency to the scenario's, and it grows with the
//     load on the machine (a closed loop of busy workers on 2 cores sees far longer round
//     trips than the scenario says); what the simulator is asked to predict is what the
//     clients and the server do with the round trip they get;
//  3. reads the same figures from both — calls, throttled share of attempts, attempts per call,
//     calls failed by reason (limiter refused, retry refused, deadline while waiting, deadline
//     in flight, attempts exhausted, not retryable), client-side refusals, goodput, p50 and p99
//     of successful calls, when a retry quota first refused a retry — for the whole run, each
//     group and each API.
//
// Each side's figure is the median over the seeds (each seed's values are kept beside it in
// the JSON report), and the report gives the relative error (virtual − real) / real. Four metrics are checked, as the simulator promises them:
// throttled share (±25%, or 0.5 points), attempts per call (±25%), calls failed (±25%, or 0.5%
// of the calls), p50 of successful calls (±50%, or 50 ms); the others are reported.
//
// # What the machine can drive
//
// A real run measures the machine as much as the clients when the machine cannot keep up: calls
// start late, round trips grow. Unless Options.Scale says otherwise, Run first probes the
// machine (one second of 16 workers calling an unthrottled API) and scales a scenario whose
// open loops ask for more than a quarter of that (at two attempts per call) down: open-loop
// rates, the server's rules and capacity steps (rates and bursts), and tollgate's rules, by the
// same factor, so the load relative to the capacity is the same; the report says so. After
// each real run it warns about open-loop calls that started more than 50 ms late (p99), calls
// that could not start, and round trips more than twice the scenario's.
//
// # Concurrency and memory
//
// Run is sequential: each real run has the machine to itself (the simulator runs in between).
// A real run holds one goroutine per call in flight (capped at load.DefaultMaxInFlight) and a
// few counters per group and API; the report holds the per-second series of both sides.
package calibrate
