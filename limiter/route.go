package limiter

import (
	"strings"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// crule is a rule compiled for the limiter.
type crule struct {
	Rule
	index int
	name  string // DisplayName
	cost  int
	limit rate.Limit
	// overflow is the rule's overflow bucket: keys that find no room (MaxKeys, or more than
	// maxRoutes routes) are charged to it.
	overflow *pinnedBucket
	// pins are the rule's unpartitioned buckets, for stats; guarded by Limiter.routesMu.
	pins []*pinnedBucket

	throttled atomic.Uint64 // feedback: AWS throttled a call this rule covers
	succeeded atomic.Uint64 // feedback: a call this rule covers succeeded
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
}

type scopeKey struct {
	rule          int
	region, group string
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
	fastCost int
	fastName string
}

type routeKey struct{ service, operation, region string }

const (
	identBits = 12
	identMask = 1<<identBits - 1
	// maxRoutes caps the distinct (service, operation, region) triples a limiter remembers.
	// Beyond it (only reachable with made-up names), calls are charged to their rules'
	// overflow buckets.
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
		calls:     l.scopeFor(ci, operation, region),
		units:     l.scopeFor(ui, operation, region),
	}
	if c := r.calls; c != nil && r.units == nil && c.pin != nil {
		r.fast, r.fastCost, r.fastName = c.pin, c.rule.cost, c.rule.name
	}
	l.routes[k] = r
	return r
}

// scopeFor returns the scope of rule i for a call; nil when i < 0. Caller holds routesMu.
func (l *Limiter) scopeFor(i int, operation, region string) *scope {
	if i < 0 {
		return nil
	}
	cr := l.crules[i]
	group := ""
	if cr.Scope == ScopeOperation {
		name, _ := cr.matches(cr.Service, operation, region)
		group = strings.ToLower(name)
	}
	k := scopeKey{rule: i, region: strings.ToLower(region), group: group}
	if sc := l.scopes[k]; sc != nil {
		return sc
	}
	sc := &scope{rule: cr, region: k.region, group: k.group}
	sc.seed = hashString(hashString(mix(uint64(i)+1, hashK0), k.region), k.group)
	if cr.Partition == PartitionNone {
		sc.pin = newPinnedBucket(cr)
		l.pinned.Add(1)
		cr.pins = append(cr.pins, sc.pin)
	}
	l.scopes[k] = sc
	return sc
}

// overflowRoute returns a route that charges the rules' overflow buckets. Caller holds routesMu.
func (l *Limiter) overflowRoute(ci, ui int) *route {
	k := [2]int{ci, ui}
	if r := l.overflowRoutes[k]; r != nil {
		return r
	}
	r := &route{uncached: true}
	if ci >= 0 {
		r.calls = &scope{rule: l.crules[ci], pin: l.crules[ci].overflow}
	}
	if ui >= 0 {
		r.units = &scope{rule: l.crules[ui], pin: l.crules[ui].overflow}
	}
	l.overflowRoutes[k] = r
	return r
}
