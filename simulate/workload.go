package simulate

import (
	"fmt"
	"time"
)

// The draws a run makes for its workload, for a real-time run of the same scenario
// (load.RunScenario, calibrate) to start the same calls at the same offsets: an open-loop group's
// arrivals (when, from which process, what) and a closed-loop group's first start of each
// worker depend on the run's seed alone, never on what the server answers.

// Validate reports what is wrong with s, if anything: what Simulate would refuse before running.
func (s *Scenario) Validate() error {
	_, err := compile(s)
	return err
}

// Arrival is one call an open-loop group starts.
type Arrival struct {
	// At is when the call starts, from the start of the run.
	At time.Duration
	// Process is the index of the group's process that makes it (0 to Processes-1).
	Process int
	// Operation is the index in the group's Operations of what it calls; Prefix is the S3 key
	// prefix it uses, one of the operation's Prefixes ("" when it has none).
	Operation int
	Prefix    string
}

// RunSeed returns the seed of run i (0-based) of s, as Simulate derives it from s.Seed.
func (s *Scenario) RunSeed(i int) uint64 { return derive(s.Seed, 0, uint64(i)) }

// Arrivals returns the calls open-loop group gi of s starts in the run with seed runSeed (see
// RunSeed), in order: the draws the engine makes.
func Arrivals(s *Scenario, gi int, runSeed uint64) ([]Arrival, error) {
	_, cg, err := compiledGroupOf(s, gi)
	if err != nil {
		return nil, err
	}
	if cg.Loop != OpenLoop {
		return nil, fmt.Errorf("simulate: scenario %q: group %q is not an open loop", s.Name, cg.Name)
	}
	origin := variantOrigins(cg)
	rng := newRand(runSeed, streamGroup, uint64(gi))
	var out []Arrival
	for at := cg.nextArrival(cg.startNS, rng.ExpFloat64); at >= 0; at = cg.nextArrival(at, rng.ExpFloat64) {
		// The engine's order of draws (arrival): the process, the variant, then the next gap.
		proc := 0
		if cg.Processes > 1 {
			proc = rng.IntN(cg.Processes)
		}
		vi := pickVariant(cg.variants, rng.Float64)
		out = append(out, Arrival{At: time.Duration(at), Process: proc, Operation: origin[vi].op, Prefix: origin[vi].prefix})
	}
	return out, nil
}

// WorkerStarts returns when each worker of closed-loop group gi of s starts its first call in
// the run with seed runSeed, process by process (Workers per process): the engine's draws.
// A worker whose start falls at or after the group's stop never calls; its start is returned all
// the same.
func WorkerStarts(s *Scenario, gi int, runSeed uint64) ([]time.Duration, error) {
	_, cg, err := compiledGroupOf(s, gi)
	if err != nil {
		return nil, err
	}
	if cg.Loop != ClosedLoop {
		return nil, fmt.Errorf("simulate: scenario %q: group %q is not a closed loop", s.Name, cg.Name)
	}
	rng := newRand(runSeed, streamGroup, uint64(gi))
	spread := max(int64(cg.Think+cg.RTT), 1)
	out := make([]time.Duration, 0, cg.Processes*cg.Workers)
	for range cg.Processes * cg.Workers {
		out = append(out, time.Duration(cg.startNS+rng.Int64N(spread)))
	}
	return out, nil
}

func compiledGroupOf(s *Scenario, gi int) (*compiled, *compiledGroup, error) {
	c, err := compile(s)
	if err != nil {
		return nil, nil, err
	}
	if gi < 0 || gi >= len(c.groups) {
		return nil, nil, fmt.Errorf("simulate: scenario %q has no group %d", s.Name, gi)
	}
	return c, &c.groups[gi], nil
}

// pickVariant is startVariant's choice among vs with a draw from float.
func pickVariant(vs []variant, float func() float64) int {
	if len(vs) == 1 {
		return 0
	}
	x := float()
	for i := range vs {
		if x < vs[i].cum {
			return i
		}
	}
	return 0
}

// variantOrigin is where a compiled variant comes from: its operation's index in the group's
// Operations, and its prefix.
type variantOrigin struct {
	op     int
	prefix string
}

// variantOrigins maps cg's variants back to the group's Operations, in compile's order.
func variantOrigins(cg *compiledGroup) []variantOrigin {
	var out []variantOrigin
	for i, op := range cg.Operations {
		prefixes := op.Prefixes
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, p := range prefixes {
			out = append(out, variantOrigin{op: i, prefix: p})
		}
	}
	return out
}
