package fleet

import "slices"

// claim is one live process's demand in a share computation: its id (for a deterministic
// order) and the tokens per second it asks for.
type claim struct {
	id     string
	demand float64
}

// fairShares divides capacity (tokens per second) among claims by max-min fairness ("water
// filling"): every process gets its demand if the demands fit; otherwise the processes asking
// less than an equal share get what they ask, and the rest split what is left equally, round
// after round. When every demand is met, half of the capacity left over is split equally among
// the claims — headroom for a process whose demand grows before its next lease — and the other
// half stays with no one, so that a process that starts asking finds rate to lease at once
// instead of waiting for the others to renew. The result is in the order of claims; a process
// is never starved: it gets at least min(demand, capacity/n).
//
// The order of arithmetic is fixed (claims sorted by demand, then id) so that the Lua script,
// which runs the same computation inside Redis, gets bit-identical results.
func fairShares(capacity float64, claims []claim) []float64 {
	n := len(claims)
	out := make([]float64, n)
	if n == 0 || capacity <= 0 {
		return out
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ca, cb := claims[a], claims[b]
		switch {
		case ca.demand < cb.demand:
			return -1
		case ca.demand > cb.demand:
			return 1
		case ca.id < cb.id:
			return -1
		case ca.id > cb.id:
			return 1
		}
		return 0
	})
	left, k := capacity, float64(n)
	for idx, i := range order {
		d := max(claims[i].demand, 0)
		level := left / k
		if d > level {
			// Everyone from here on asks for more than an equal share of what is left.
			for _, j := range order[idx:] {
				out[j] = level
			}
			return out
		}
		out[i] = d
		left -= d
		k--
	}
	// Every demand is met: split half of what is left equally.
	extra := left / float64(2*n)
	for i := range out {
		out[i] += extra
	}
	return out
}
