// Package server holds tollgate's models of AWS's server side: how AWS decides whether to
// serve, throttle or fail a request. The emulator (package emulator, real time) and the
// simulator (virtual time) both decide every request with these models, so they never diverge.
//
// The models are:
//
//   - Model: the whole decision. Fault windows first, then AWS's token buckets as the limiter
//     package defines them (limiter.DefaultRules, overridable with MergeRules), used with server
//     semantics: a request takes its tokens now or is throttled; it never queues. EC2 Describe
//     calls without filter or pagination use the smaller ":unfiltered" bucket; RunInstances and
//     friends are charged their instances on top (Request.Units).
//   - Partitions: S3's per-prefix partitions. A new hot prefix shares its bucket's parent
//     partition and gets SlowDown until sustained overload makes S3 split it off, after a delay.
//   - FaultSchedule: windows in which an API throttles everything or answers HTTP 500, parsed
//     from YAML (ParseFaults, LoadFaults).
//   - CapacityModel: time-varying capacity schedules the simulator layers over a Model.
//
// Nothing here reads a clock, sleeps or starts a goroutine: every decision takes the time it
// is made at (now time.Time), which the emulator reads from its clock and the simulator from
// its virtual one. The models are not safe for concurrent use; callers serialise decisions.
package server
