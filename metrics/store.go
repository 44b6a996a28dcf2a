package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/metrics/internal/label"
)

// storeVectors are the series of a fleet store (package fleet): one process's leases on the
// buckets it shares with its fleet, and its fallbacks when the store is unreachable.
type storeVectors struct {
	roundTrip *prometheus.HistogramVec
	share     *prometheus.GaugeVec
	fallback  *prometheus.GaugeVec
	fallbacks *prometheus.CounterVec
	lost      *prometheus.CounterVec
	unbacked  *prometheus.CounterVec
}

func newStoreVectors(
	counter func(name, help string, extra ...string) *prometheus.CounterVec,
	gauge func(name, help string, labels ...string) *prometheus.GaugeVec,
	histogram func(name, help string, buckets []float64) *prometheus.HistogramVec,
) storeVectors {
	return storeVectors{
		roundTrip: histogram(NameStoreRoundTrip,
			"Round trip of a lease renewal with the fleet store (Redis) in seconds, for renewals that got an answer.", WaitBuckets),
		share: gauge(NameStoreShare,
			"This process's share of a fleet-shared bucket in tokens per second, as its latest lease gave it.", LabelService, LabelOperation),
		fallback: gauge(NameStoreFallback,
			"1 while this process cannot reach its fleet store for the API's bucket and spends a local share (or refuses, fail-closed), 0 otherwise.",
			LabelService, LabelOperation),
		fallbacks: counter(NameStoreFallbacks,
			"Times this process fell back from its fleet store to a local share, by reason (timeout, error, breaker_open).", LabelReason),
		lost: counter(NameStoreLost,
			"Leases granted by a fleet store that had lost the bucket (a restart without persistence) and rebuilt it with an empty pool."),
		unbacked: counter(NameStoreUnbacked,
			"Tokens this process spent without a lease while its fleet store was unreachable, charged to the fleet when it answered again."),
	}
}

var storeFallbackReasons = label.Enum(StoreFallbackReasons())

// observeStore records a LeaseRenewed, StoreFallback or StoreRecovered event. They come about
// once per bucket per second at most, so the series are looked up each time.
func (c *Collector) observeStore(e event.Event) {
	p := c.pairs.Get(e.Service, e.Operation).pair
	v := &c.store
	switch e.Kind {
	case event.LeaseRenewed:
		v.roundTrip.WithLabelValues(p.Service, p.Operation).Observe(e.Duration.Seconds())
		v.share.WithLabelValues(p.Service, p.Operation).Set(e.Value)
		if e.Reason == "state_lost" {
			v.lost.WithLabelValues(p.Service, p.Operation).Inc()
		}
	case event.StoreFallback:
		v.fallback.WithLabelValues(p.Service, p.Operation).Set(1)
		i := storeFallbackReasons.Index(e.Reason)
		v.fallbacks.WithLabelValues(p.Service, p.Operation, storeFallbackReasons.Value(i)).Inc()
	case event.StoreRecovered:
		v.fallback.WithLabelValues(p.Service, p.Operation).Set(0)
		v.unbacked.WithLabelValues(p.Service, p.Operation).Add(max(e.Value, 0))
	}
}
