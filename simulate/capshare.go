package simulate

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// Capacity, for goodput as a share of what the server could serve. The capacity of a workload
// over a load window [0, W) is the most requests the server buckets it sends to could have
// accepted then: for each distinct bucket, its burst (full at the start, or when it comes into
// being) plus its refill over the part of the window it serves the workload. It follows the
// server as the run had it:
//
//   - a rules bucket refills at its rate; a fault window stops it serving, and the bucket
//     refills meanwhile (at most its burst), to be spent after;
//   - server.capacity steps replace an API's bucket from their first step on (a new bucket,
//     full), change its rate from each step on, and serve nothing during an outage step;
//   - an S3 prefix is served by its bucket's parent partition until the run's partition model
//     split it off, and by a new partition of its own (full) from then on; the parent keeps
//     serving the other prefixes.
//
// Calls to an API the server does not limit are left out of capacity and of the goodput it
// is compared with.

// capSpan is what one request shape (a variant) can get from one server bucket.
type capSpan struct {
	id     string  // the bucket
	tokens float64 // the most it could accept of the variant's requests in the window
}

// capCalc computes capacities for one run.
type capCalc struct {
	rules  limiter.Rules
	sched  *server.CapacitySchedule
	faults *server.FaultSchedule
	window time.Duration
	splits map[splitKey]time.Duration // when a prefix got its own partition (offset from the epoch)
}

type splitKey struct{ region, bucket, prefix string }

func newCapCalc(s *Scenario, rules limiter.Rules, window time.Duration, log []server.Split, epoch time.Time) *capCalc {
	cc := &capCalc{rules: rules, sched: s.Server.Capacity, faults: s.Server.Faults, window: window}
	for _, sp := range log {
		if cc.splits == nil {
			cc.splits = map[splitKey]time.Duration{}
		}
		k := splitKey{sp.Region, sp.Bucket, sp.Prefix}
		if _, ok := cc.splits[k]; !ok {
			cc.splits[k] = sp.At.Sub(epoch)
		}
	}
	return cc
}

// spans appends the buckets variant v's requests go to, and reports false if some of them go
// to no limit at all.
func (cc *capCalc) spans(v *variant, out []capSpan) ([]capSpan, bool) {
	r := &v.req
	W := cc.window
	stepsFrom := W
	stepID, steps := cc.sched.Bucket(r.Service, r.Operation, r.Region)
	if len(steps) > 0 {
		stepsFrom = min(W, steps[0].Start)
	}
	limited := true
	if stepsFrom > 0 {
		id, rate, burst, ok := serverBucket(cc.rules, r)
		switch {
		case !ok:
			limited = false
		case isS3Service(r.Service) && r.Prefix != "" && cc.partitioned(r):
			// The parent partition until the prefix is split off, then its own partition.
			split := stepsFrom
			if at, ok := cc.splits[splitKey{r.Region, r.Resource, r.Prefix}]; ok && at < split {
				split = max(at, 0)
			}
			out = append(out, capSpan{id: id + "|", tokens: cc.ruleTokens(r, 0, split, rate, burst)})
			if split < stepsFrom {
				out = append(out, capSpan{id: id + "|" + r.Prefix, tokens: cc.ruleTokens(r, split, stepsFrom, rate, burst)})
			}
		default:
			out = append(out, capSpan{id: id, tokens: cc.ruleTokens(r, 0, stepsFrom, rate, burst)})
		}
	}
	if stepsFrom < W {
		out = append(out, capSpan{id: stepID, tokens: stepTokens(steps, W)})
	}
	return out, limited
}

// partitioned reports whether r's rule partitions by prefix (S3's).
func (cc *capCalc) partitioned(r *server.Request) bool {
	rule, ok := cc.rules.Match(r.Service, r.Operation, r.Region)
	return ok && rule.Partition == limiter.PartitionPrefix
}

// ruleTokens is what a rules bucket of rate and burst, new and full at from, could accept of
// r's requests until to: fault windows covering r stop it serving, and it refills meanwhile.
func (cc *capCalc) ruleTokens(r *server.Request, from, to time.Duration, rate float64, burst int) float64 {
	if to <= from {
		return 0
	}
	b := float64(burst)
	tokens := b + rate*(to-from).Seconds()
	for _, iv := range cc.faults.Covered(r.Service, r.Operation, r.Region, from, to) {
		length := (iv.To - iv.From).Seconds()
		tokens -= rate * length
		if iv.To < to {
			tokens += math.Min(b, rate*length)
		}
	}
	return tokens
}

// stepTokens is what a bucket shaped by capacity steps (in order of Start) could accept until
// W: the first rate step's burst, each step's rate over its time, nothing in an outage (after
// which the bucket is as full as its refill during the outage made it).
func stepTokens(steps []server.CapacityStep, W time.Duration) float64 {
	tokens := 0.0
	filled := false
	var prev *server.CapacityStep // the last rate step
	var outageFrom time.Duration = -1
	for i := range steps {
		st := &steps[i]
		if st.Start >= W {
			break
		}
		end := W
		if i+1 < len(steps) {
			end = min(W, steps[i+1].Start)
		}
		if st.Outage {
			if outageFrom < 0 {
				outageFrom = st.Start
			}
			continue
		}
		switch {
		case !filled:
			tokens += float64(st.Burst)
			filled = true
		case outageFrom >= 0 && prev != nil:
			tokens += math.Min(float64(min(prev.Burst, st.Burst)), prev.Rate*(st.Start-outageFrom).Seconds())
		}
		outageFrom = -1
		tokens += st.Rate * (end - st.Start).Seconds()
		prev = st
	}
	return tokens
}

// capSet gathers the buckets of a set of variants, each once (a bucket shared by several
// variants counts once; for an S3 parent partition, with the longest span any of them got).
type capSet struct {
	buckets   map[string]float64
	unlimited bool
}

func (s *capSet) add(spans []capSpan, limited bool) {
	if s.buckets == nil {
		s.buckets = map[string]float64{}
	}
	for _, sp := range spans {
		s.buckets[sp.id] = max(s.buckets[sp.id], sp.tokens)
	}
	s.unlimited = s.unlimited || !limited
}

// tokens sums the buckets' tokens in the order of their names, so that the sum is the same
// bits in every run, rounded to exactTokens.
func (s *capSet) tokens() float64 {
	t := 0.0
	for _, id := range slices.Sorted(maps.Keys(s.buckets)) {
		t += s.buckets[id]
	}
	return exactTokens(t)
}

// exactTokens rounds t to a multiple of 1/1024: sums of such numbers (below 2^43) are exact in
// float64, so that runs summed in whatever order they finish give the same total.
func exactTokens(t float64) float64 { return math.Round(t*1024) / 1024 }

// isS3Service reports whether service is S3.
func isS3Service(service string) bool { return strings.EqualFold(service, "S3") }

// scenarioCapacity computes, for a run of c whose server split the partitions in log, the
// capacity of each group's operations (caps[g][op]), of each group, of each API over all groups
// (by opInfo) and of the whole workload. Each tally's onTime is left for the caller.
type runCapacity struct {
	ops    [][]capTally
	groups []capTally
	apis   map[opInfo]capTally
	total  capTally
}

func scenarioCapacity(c *compiled, window time.Duration, log []server.Split, epoch time.Time) runCapacity {
	cc := newCapCalc(c.sc, c.rules, window, log, epoch)
	rc := runCapacity{apis: map[opInfo]capTally{}}
	var total capSet
	apiSets := map[opInfo]*capSet{}
	var spans []capSpan
	for gi := range c.groups {
		cg := &c.groups[gi]
		opSets := make([]capSet, len(cg.ops))
		var group capSet
		for vi := range cg.variants {
			v := &cg.variants[vi]
			var limited bool
			spans, limited = cc.spans(v, spans[:0])
			opSets[v.op].add(spans, limited)
			group.add(spans, limited)
			total.add(spans, limited)
			info := cg.ops[v.op]
			if apiSets[info] == nil {
				apiSets[info] = &capSet{}
			}
			apiSets[info].add(spans, limited)
		}
		tallies := make([]capTally, len(cg.ops))
		for i := range opSets {
			tallies[i] = capTally{tokens: opSets[i].tokens(), unlimited: opSets[i].unlimited}
		}
		rc.ops = append(rc.ops, tallies)
		rc.groups = append(rc.groups, capTally{tokens: group.tokens(), unlimited: group.unlimited})
	}
	for info, s := range apiSets {
		rc.apis[info] = capTally{tokens: s.tokens(), unlimited: s.unlimited}
	}
	rc.total = capTally{tokens: total.tokens(), unlimited: total.unlimited}
	return rc
}
