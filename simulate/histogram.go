package simulate

import (
	"math/bits"
	"time"
)

// Histogram counts durations in fixed log-linear buckets: exact below 64 ns, then 64 buckets per
// power of two, so a quantile is within 1/64 (1.6%) of the true value. Buckets are fixed, so
// merging histograms (runs, groups) is exact and deterministic. Max is exact.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

const (
	histSub     = 64
	histBuckets = 58 * histSub
)

func histIndex(v int64) int {
	if v < histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 7 // v >> e is in [64, 128)
	return (e+1)*histSub + int(v>>uint(e)) - histSub
}

// histBounds returns the values bucket i covers: [lo, hi).
func histBounds(i int) (lo, hi int64) {
	if i < histSub {
		return int64(i), int64(i) + 1
	}
	e := uint(i/histSub - 1)
	m := int64(i%histSub + histSub)
	return m << e, (m + 1) << e
}

// Add counts one duration.
func (h *Histogram) Add(d time.Duration) {
	v := int64(d)
	h.counts[histIndex(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of durations counted.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest duration counted (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the q-quantile (0 ≤ q ≤ 1): the midpoint of the bucket holding the
// ⌈q·n⌉-th smallest duration, never more than Max. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999999)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(i)
			return time.Duration(min((lo+hi-1)/2, h.max))
		}
	}
	return time.Duration(h.max)
}

// CDF returns the points (duration, fraction of durations ≤ it) of the non-empty buckets, at
// each bucket's upper bound (capped at Max), for plotting.
func (h *Histogram) CDF() (xs []time.Duration, ps []float64) {
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		_, hi := histBounds(i)
		xs = append(xs, time.Duration(min(hi, h.max)))
		ps = append(ps, float64(seen)/float64(h.n))
	}
	return xs, ps
}
