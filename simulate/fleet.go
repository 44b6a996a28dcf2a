package simulate

import (
	"fmt"
	"time"

	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/limiter"
)

// StoreSpec is the fleet store the tollgate-fleet strategy's processes share: a modelled Redis
// (fleet.ModelStore, the lease script's twin behind a network of round trip RTT) that every
// process of a run reaches — one account, one Redis. The zero value is a store 1 ms away that
// never fails, with the fleet package's default lease and timeout.
type StoreSpec struct {
	// RTT is a store call's round trip (default 1 ms: Redis in the same zone).
	RTT time.Duration
	// Timeout bounds every store call (default fleet.DefaultTimeout); a call the store does
	// not answer in time has failed.
	Timeout time.Duration
	// Lease is a lease's length (default fleet.DefaultLeaseTTL).
	Lease time.Duration
	// FallbackShare is the share of a bucket a process spends while the store is unreachable
	// (0: 1/n of the processes at its last lease); FailClosed refuses instead.
	FallbackShare float64
	FailClosed    bool
	// Outages are windows (offsets from the run's start) in which the store is unreachable;
	// Restarts are offsets at which it loses every bucket (a restart without persistence).
	Outages  []StoreOutage
	Restarts []time.Duration
	// Rules are the names (globs) of the rules whose buckets the fleet shares; empty: every
	// unpartitioned calls rule (fleet.StoreOptions).
	Rules []string
}

// StoreOutage is a window [From, To) of a run in which the fleet store is unreachable.
type StoreOutage struct{ From, To time.Duration }

// Validate reports a store no run can have.
func (s StoreSpec) Validate() error {
	if s.FallbackShare > 1 {
		return fmt.Errorf("simulate: store fallback_share %v: must be between 0 and 1", s.FallbackShare)
	}
	if s.RTT > 0 && s.Timeout > 0 && s.Timeout <= s.RTT {
		return fmt.Errorf("simulate: store timeout %v: must be longer than its rtt %v, or no call ever answers", s.Timeout, s.RTT)
	}
	for i, o := range s.Outages {
		if o.To <= o.From {
			return fmt.Errorf("simulate: store outages[%d]: to %v must be after from %v", i, o.To, o.From)
		}
	}
	return nil
}

// model returns a new modelled store for a run that starts at epoch.
func (s StoreSpec) model(epoch time.Time) *fleet.ModelStore {
	m := &fleet.ModelStore{RTT: s.RTT}
	if m.RTT <= 0 {
		m.RTT = time.Millisecond
	}
	for _, o := range s.Outages {
		m.Outages = append(m.Outages, fleet.Window{From: epoch.Add(o.From), To: epoch.Add(o.To)})
	}
	for _, r := range s.Restarts {
		m.Restarts = append(m.Restarts, epoch.Add(r))
	}
	return m
}

// TollgateFleet is the tollgate strategy of a fleet that shares its quotas through Redis: each
// process is the one-line install (Tollgate) with its limiter built WithStore over a fleet
// client — limiter.New(rules, limiter.WithStore(fl.Store(...))) in a real install — and every
// process of a run leases from one modelled store (Store: round trip, lease length, outages,
// restarts), through the fleet package's own lease code (fleet.Process, fleet.Account, the
// script's twin fleet.State) in virtual time. The buckets of unpartitioned rules (EC2's,
// KMS's, Lambda's, STS's account-wide buckets) are the fleet's; partitioned ones stay each
// process's, and adapt as Tollgate's do. Nothing more is known than a real fleet knows: the
// published quotas (or Rules) and the store.
type TollgateFleet struct {
	Rules       limiter.Rules // nil: limiter.DefaultRules()
	MaxAttempts int           // 0: 3
	Store       StoreSpec
}

// Name returns "tollgate-fleet".
func (s *TollgateFleet) Name() string { return "tollgate-fleet" }

// newStore is the run's store: the engine makes one per run and hands it to every process
// (ClientEnv.Fleet).
func (s *TollgateFleet) newStore(epoch time.Time) *fleet.ModelStore { return s.Store.model(epoch) }

// NewClient returns one process of the fleet: a fleet.Process on the run's store and a limiter
// that keeps its shared buckets there.
func (s *TollgateFleet) NewClient(env ClientEnv) Client {
	store := env.Fleet
	if store == nil {
		store = s.Store.model(env.Created)
	}
	pol := fleet.Policy{LeaseTTL: s.Store.Lease, FallbackShare: s.Store.FallbackShare, FailClosed: s.Store.FailClosed}
	p := fleet.NewProcess(store, env.Name, pol, s.Store.Timeout)
	rules := s.Rules
	if rules == nil {
		rules = limiter.DefaultRules()
	}
	lim := limiter.New(rules, limiter.WithStore(p.Store(fleet.StoreOptions{Rules: s.Store.Rules})))
	return newTollgateClient(lim, s.MaxAttempts, env)
}
