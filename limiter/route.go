package limiter

import (
	"math"
	"strings"
	"sync/atomic"
)

// crule is a rule compiled for the limiter.
type crule struct {
	Rule
	index  int
	pindex int    // index among the partitioned rules (shard counters), for partitioned rules
	name   string // DisplayName
	cost   int
	costF  float64
	// rate and burst are the bucket's shape as floats (+Inf for the learned rule); rate32 is
	// rate as a bucket stores it, to tell a bucket at the rule's rate from a learned one.
	rate, burst float64
	rate32      float32
	// adaptive: the rule's buckets learn their rate from feedback (Limiter with adaptive rates,
	// the rule not NonAdaptive, a calls rule).
	adaptive bool
	// learned marks the limiter's learned rule: the buckets of calls no rule covers.
	learned bool
	// overflow holds the rule's overflow lanes: keys that find no room (MaxKeys, or more than
	// maxRoutes routes) are charged to one of them.
	overflow overflowLanes
	// pins are the rule's unpartitioned buckets, for stats; guarded by Limiter.routesMu.
	pins []*pinnedBucket

	throttled atomic.Uint64 // feedback: AWS throttled a call this rule covers
	succeeded atomic.Uint64 // feedback: a call this rule covers succeeded
}

// LearnedRule is the rule name of the buckets a limiter with adaptive rates gives calls that no
// rule covers: one bucket per service, operation, Region, resource and prefix, unlimited until
// AWS first throttles it, then learned (see the package documentation).
const LearnedRule = "learned"

// compileRule compiles rule i of a limiter.
func compileRule(r Rule, i int, adaptive bool) *crule {
	cr := &crule{Rule: r, index: i, name: r.DisplayName(), cost: r.cost()}
	cr.costF = float64(cr.cost)
	cr.rate, cr.burst = r.Rate, float64(r.Burst)
	cr.rate32 = float32(r.Rate)
	cr.adaptive = adaptive && !r.NonAdaptive && r.Charge == ChargeCalls
	return cr
}

// learnedRule returns the compiled learned rule, at index i.
func learnedRule(i int) *crule {
	cr := &crule{
		Rule:  Rule{Name: LearnedRule, Operation: "*", Partition: PartitionPrefix, Scope: ScopeOperation, Source: "learned from throttles"},
		index: i, name: LearnedRule, cost: 1, costF: 1, rate: math.Inf(1), burst: math.Inf(1),
		rate32: float32(math.Inf(1)), adaptive: true, learned: true,
	}
	return cr
}

// scope identifies a family of buckets: one rule, one region and, under ScopeOperation, one
// operation. An unpartitioned scope has exactly one bucket (pin); a partitioned scope has one per
// resource or prefix, kept in the shards.
type scope struct {
	rule   *crule
	region string // lower-cased
	group  string // lower-cased operation (ScopeOperation) or "" (ScopeShared)
	seed   uint64 // starts the hash of this scope's partition keys
	pin    *pinnedBucket
	// shared: the bucket a Store keeps (WithStore); pin then only counts its decisions.
	shared *SharedBucket
	// overflow: the scope of calls beyond maxRoutes, charged to the rule's overflow lanes.
	overflow bool
}

type scopeKey struct {
	rule          int
	region, group string
}

// scopeOf returns the scope's key for a call of rule cr.
func scopeOf(cr *crule, service, operation, region string) scopeKey {
	group := ""
	switch {
	case cr.learned:
		// One rule for every service: the service is part of the group.
		group = strings.ToLower(service) + " " + strings.ToLower(operation)
	case cr.Scope == ScopeOperation:
		name, _ := cr.matches(cr.Service, operation, region)
		group = strings.ToLower(name)
	}
	return scopeKey{rule: cr.index, region: strings.ToLower(region), group: group}
}

// route is what a (service, operation, region) triple resolves to: the calls rule's scope and
// the units rule's scope, either possibly nil. Routes are immutable once published.
type route struct {
	service, operation, region string // as first given
	calls, units               *scope
	// uncached marks a route shared by calls beyond maxRoutes; it is not put in the cache.
	uncached bool
	// fast is set when the route has a single unpartitioned calls bucket: Allow's fast path
	// then needs nothing else from the route.
	fast     *pinnedBucket
	fastRule *crule
	// latency is the estimate of the route's attempt latency (latency.go).
	latency latency
}

type routeKey struct{ service, operation, region string }

const (
	identBits = 12
	identMask = 1<<identBits - 1
	// maxRoutes caps the distinct (service, operation, region) triples a limiter remembers.
	// Beyond it (only reachable with made-up names), calls are charged to their rules'
	// overflow lanes.
	maxRoutes = 1 << 16
)

// route returns the route for a call. The fast path probes two slots of a cache indexed by the
// strings' addresses and confirms the hit by comparing contents; it does not allocate.
func (l *Limiter) route(service, operation, region string) *route {
	h := identityHash(service, operation, region)
	i, j := h>>(64-identBits), (h>>(64-2*identBits))&identMask
	if r := l.ident[i].Load(); r != nil && sameString(r.operation, operation) && sameString(r.service, service) && sameString(r.region, region) {
		return r
	}
	if r := l.ident[j].Load(); r != nil && sameString(r.operation, operation) && sameString(r.service, service) && sameString(r.region, region) {
		return r
	}
	r := l.lookupRoute(service, operation, region)
	if r.uncached {
		return r
	}
	// Install in an empty slot if there is one, else replace one (chosen by a hash bit).
	switch {
	case l.ident[i].Load() == nil:
		l.ident[i].Store(r)
	case l.ident[j].Load() == nil:
		l.ident[j].Store(r)
	case h&1 == 0:
		l.ident[i].Store(r)
	default:
		l.ident[j].Store(r)
	}
	return r
}

// lookupRoute finds or creates the route by content.
func (l *Limiter) lookupRoute(service, operation, region string) *route {
	k := routeKey{service, operation, region}
	l.routesMu.RLock()
	r := l.routes[k]
	l.routesMu.RUnlock()
	if r != nil {
		return r
	}
	l.routesMu.Lock()
	defer l.routesMu.Unlock()
	if r := l.routes[k]; r != nil {
		return r
	}
	ci := l.rules.index(ChargeCalls, service, operation, region)
	ui := l.rules.index(ChargeUnits, service, operation, region)
	if ci < 0 && l.learned != nil {
		ci = l.learned.index
	}
	if len(l.routes) >= maxRoutes {
		return l.overflowRoute(ci, ui)
	}
	// The route keeps the strings as given, so that callers passing the same strings (as
	// generated SDK code passes constants) hit the cache by address. Their number is bounded
	// by maxRoutes.
	r = &route{
		service:   service,
		operation: operation,
		region:    region,
		calls:     l.scopeFor(ci, service, operation, region),
		units:     l.scopeFor(ui, service, operation, region),
	}
	if c := r.calls; c != nil && r.units == nil && c.pin != nil && c.shared == nil {
		r.fast, r.fastRule = c.pin, c.rule
	}
	l.routes[k] = r
	return r
}

// scopeFor returns the scope of rule i for a call; nil when i < 0. Caller holds routesMu.
func (l *Limiter) scopeFor(i int, service, operation, region string) *scope {
	if i < 0 {
		return nil
	}
	cr := l.crules[i]
	k := scopeOf(cr, service, operation, region)
	if sc := l.scopes[k]; sc != nil {
		return sc
	}
	sc := &scope{rule: cr, region: k.region, group: k.group}
	sc.seed = hashString(hashString(mix(uint64(i)+1, hashK0), k.region), k.group)
	if cr.Partition == PartitionNone {
		// A full bucket at any time: created at the earliest tick, it has nothing to refill.
		sc.pin = newPinnedBucket(cr, -maxTicks)
		l.pinned.Add(1)
		cr.pins = append(cr.pins, sc.pin)
		sc.shared = l.sharedScope(cr, service, operation, k.region)
	}
	l.scopes[k] = sc
	return sc
}

// overflowRoute returns a route that charges the rules' overflow lanes. Caller holds routesMu.
func (l *Limiter) overflowRoute(ci, ui int) *route {
	k := [2]int{ci, ui}
	if r := l.overflowRoutes[k]; r != nil {
		return r
	}
	r := &route{uncached: true}
	if ci >= 0 {
		r.calls = &scope{rule: l.crules[ci], overflow: true}
	}
	if ui >= 0 {
		r.units = &scope{rule: l.crules[ui], overflow: true}
	}
	l.overflowRoutes[k] = r
	return r
}
