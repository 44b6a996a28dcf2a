package server

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// CapacityStep sets an API's capacity from Start on, until the next step for the same API.
type CapacityStep struct {
	// Service is the AWS SDK ServiceID ("EC2", "S3", ...), matched case-insensitively.
	Service string
	// Operation is the API operation; empty means every operation of the service (one shared
	// bucket).
	Operation string
	// Region restricts the step to one Region; empty means all (one bucket per Region).
	Region string
	// Start is the offset from the schedule's origin at which the step takes effect.
	Start time.Duration
	// Rate and Burst shape the API's token bucket from Start on (Rate > 0, Burst > 0), unless
	// Outage is set.
	Rate  float64
	Burst int
	// Outage makes every request fail with HTTP 500 from Start on.
	Outage bool
}

// CapacitySchedule is a time-varying server capacity: for each API it covers, a sequence of
// steps, each a token bucket's rate and burst (or an outage), taken for example from a trace's
// accepted and throttled pattern over time. The simulator uses it in place of fixed rules for
// the APIs it covers.
type CapacitySchedule struct {
	// Origin is the instant Start offsets count from.
	Origin time.Time
	Steps  []CapacityStep
}

// Validate reports the first malformed step.
func (s *CapacitySchedule) Validate() error {
	if s == nil {
		return nil
	}
	for i, st := range s.Steps {
		var msg string
		switch {
		case st.Service == "":
			msg = `field "service": required`
		case st.Start < 0:
			msg = fmt.Sprintf(`field "start": must be >= 0, got %v`, st.Start)
		case st.Outage:
		case !(st.Rate > 0) || math.IsInf(st.Rate, 0):
			msg = fmt.Sprintf(`field "rate": must be a finite number > 0, got %v`, st.Rate)
		case st.Burst <= 0:
			msg = fmt.Sprintf(`field "burst": must be > 0, got %d`, st.Burst)
		}
		if msg != "" {
			return fmt.Errorf("server: capacity step %d: %s", i+1, msg)
		}
	}
	return nil
}

// Decider is anything that decides requests: Model, CapacityModel.
type Decider interface {
	Decide(now time.Time, r Request) Verdict
}

// CapacityModel decides the requests its schedule covers with the schedule's time-varying
// buckets, and passes every other request to a base Decider. It reads no clock; it expects
// decisions in time order (earlier times are treated as the latest seen) and is not safe for
// concurrent use.
type CapacityModel struct {
	base    Decider
	origin  time.Time
	apis    []*capacityAPI
	live    map[capacityKey]*capacityBucket // by request: nil when the schedule does not cover it
	buckets map[capacityBucketKey]*capacityBucket
}

type capacityAPI struct {
	service, operation string
	regions            map[string][]CapacityStep // "" for steps without a Region
}

type capacityKey struct{ service, operation, region string }

// capacityBucketKey identifies a schedule bucket: one per API entry of the schedule and Region
// (an entry without an operation is one bucket shared by every operation of its service).
type capacityBucketKey struct {
	api    int
	region string
}

type capacityBucket struct {
	steps  []CapacityStep
	next   int // index of the next step to apply
	cur    *CapacityStep
	lim    rate.Limiter
	filled bool // the bucket has been filled for its first rate step
	last   time.Time
}

// apis groups the schedule's steps by API entry (service, operation) and Region, each list in
// order of Start.
func (s *CapacitySchedule) apis() []*capacityAPI {
	if s == nil {
		return nil
	}
	var apis []*capacityAPI
	for _, st := range s.Steps {
		var api *capacityAPI
		for _, a := range apis {
			if strings.EqualFold(a.service, st.Service) && a.operation == st.Operation {
				api = a
			}
		}
		if api == nil {
			api = &capacityAPI{service: st.Service, operation: st.Operation, regions: map[string][]CapacityStep{}}
			apis = append(apis, api)
		}
		api.regions[st.Region] = append(api.regions[st.Region], st)
	}
	for _, a := range apis {
		for _, steps := range a.regions {
			slices.SortStableFunc(steps, func(x, y CapacityStep) int { return int(x.Start - y.Start) })
		}
	}
	return apis
}

// lookup returns the index of the first API entry covering a request to service/operation in
// region and its steps for that Region (in order of Start), or -1.
func lookup(apis []*capacityAPI, service, operation, region string) (int, []CapacityStep) {
	for i, a := range apis {
		if !strings.EqualFold(a.service, service) || (a.operation != "" && a.operation != operation) {
			continue
		}
		if s, ok := a.regions[region]; ok {
			return i, s
		}
		if s, ok := a.regions[""]; ok {
			return i, s
		}
	}
	return -1, nil
}

// Bucket returns the steps that decide a request to service/operation in region (in order of
// Start; nil when the schedule does not cover it) and a name for the bucket they shape: requests
// with the same name share one bucket.
func (s *CapacitySchedule) Bucket(service, operation, region string) (name string, steps []CapacityStep) {
	apis := s.apis()
	i, steps := lookup(apis, service, operation, region)
	if i < 0 {
		return "", nil
	}
	op := apis[i].operation
	if op == "" {
		op = "*"
	}
	return fmt.Sprintf("capacity:%s/%s@%s", strings.ToLower(apis[i].service), op, region), steps
}

// NewCapacityModel returns a model deciding by s where it applies and by base elsewhere.
func NewCapacityModel(base Decider, s *CapacitySchedule) (*CapacityModel, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	m := &CapacityModel{base: base, live: map[capacityKey]*capacityBucket{}, buckets: map[capacityBucketKey]*capacityBucket{}}
	if s == nil {
		return m, nil
	}
	m.origin = s.Origin
	m.apis = s.apis()
	return m, nil
}

// Base returns the Decider for the requests the schedule does not cover.
func (m *CapacityModel) Base() Decider { return m.base }

// SetOrigin sets the instant step offsets count from, and starts the schedule afresh from it:
// requests decided before (an emulator's setup calls) leave the schedule's buckets as they were
// at the start.
func (m *CapacityModel) SetOrigin(t time.Time) {
	m.origin = t
	for _, b := range m.buckets {
		*b = capacityBucket{steps: b.steps}
	}
}

// Decide decides r at now.
func (m *CapacityModel) Decide(now time.Time, r Request) Verdict {
	b := m.bucket(r)
	if b == nil {
		return m.base.Decide(now, r)
	}
	if now.Before(b.last) {
		now = b.last
	}
	b.last = now
	off := now.Sub(m.origin)
	for b.next < len(b.steps) && b.steps[b.next].Start <= off {
		st := &b.steps[b.next]
		b.next++
		b.cur = st
		if st.Outage {
			continue
		}
		at := m.origin.Add(st.Start)
		if at.Before(now) {
			at = now
		}
		b.lim.SetLimitAt(at, rate.Limit(st.Rate))
		b.lim.SetBurstAt(at, st.Burst)
		if !b.filled {
			// A zero rate.Limiter starts empty; a server bucket starts full.
			b.lim.ReserveN(at, -st.Burst)
			b.filled = true
		}
	}
	switch {
	case b.cur == nil:
		return m.base.Decide(now, r) // before the first step
	case b.cur.Outage:
		return Verdict{Outcome: Failed, Rule: "outage"}
	case b.lim.AllowN(now, 1):
		return Verdict{Outcome: Accepted}
	}
	return Verdict{Outcome: Throttled, Rule: "capacity"}
}

// bucket returns the schedule's bucket for r, or nil when the schedule does not cover it.
func (m *CapacityModel) bucket(r Request) *capacityBucket {
	if len(m.apis) == 0 {
		return nil
	}
	k := capacityKey{r.Service, r.Operation, r.Region}
	if b, ok := m.live[k]; ok {
		return b
	}
	var b *capacityBucket
	if i, steps := lookup(m.apis, r.Service, r.Operation, r.Region); i >= 0 {
		bk := capacityBucketKey{i, r.Region}
		if b = m.buckets[bk]; b == nil {
			b = &capacityBucket{steps: steps}
			m.buckets[capacityBucketKey{i, strings.Clone(r.Region)}] = b
		}
	}
	m.live[capacityKey{strings.Clone(r.Service), strings.Clone(r.Operation), strings.Clone(r.Region)}] = b
	return b
}
